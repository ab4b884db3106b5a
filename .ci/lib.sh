# Shared by .ci/demo, .ci/test and .ci/run: package installation and the build.
set -euo pipefail

ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$ci_dir")

# The Debian packages are listed in sets, one file each in .ci/packages/:
# build (building and running plock), test (what the functional tests add),
# bench (the benchmarks), ci (CI's heavier checks). A line "requires: SET"
# names a set that must be installed too.

# packages_of SET...: the packages of these sets and of the sets they require,
# each once.
packages_of() {
    local set
    for set in "$@"; do
        [ -f "$ci_dir/packages/$set" ] || { echo "no package set $set in $ci_dir/packages" >&2; return 1; }
        local required
        for required in $(sed -n 's/^requires: *//p' "$ci_dir/packages/$set"); do
            packages_of "$required"
        done
        grep -v -e '^#' -e '^requires:' -e '^ *$' "$ci_dir/packages/$set"
    done | awk '!seen[$0]++'
}

# install_missing_packages SET...: installs the packages of these sets that are
# missing (one apt-get update, then one apt-get install); does nothing when
# all are there.
install_missing_packages() {
    local packages missing=() package
    packages=$(packages_of "$@") || return 1
    for package in $packages; do
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
