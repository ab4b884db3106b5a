# Shared by .ci/demo, .ci/test and .ci/run: package installation and the build.
set -euo pipefail

ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$ci_dir")

required_packages() {
    grep -v '^#' "$ci_dir/packages" | grep -v '^$'
}

# Installs the packages that are missing; does nothing when all are there.
install_missing_packages() {
    local missing=()
    local package
    for package in $(required_packages); do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# build DIRECTORY [cmake options...] [-- cmake --build options, such as --target T...]
build() {
    local build_dir=$1
    shift
    local configure=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        configure+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure[@]}" >/dev/null
    cmake --build "$build_dir" "$@"
}
