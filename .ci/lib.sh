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
    # Ninja for a new build directory; one configured before (by hand, with
    # make, say) keeps its generator, which CMake refuses to change.
    local generator=(-G Ninja)
    [ -f "$build_dir/CMakeCache.txt" ] && generator=()
    cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure[@]}" >/dev/null
    cmake --build "$build_dir" "$@"
}

# The sanitizer builds use clang: its ASan runtime is linked into each
# program, so a plock under ASan + LeakSanitizer starts and exits in about
# 10 ms instead of GCC's 0.3 s (hundreds of plock runs in the integration
# tests), and it compiles about twice as fast; libFuzzer needs it anyway.
# build-sanitize: ASan + UBSan (+ LSan) and libFuzzer's coverage, one build
# for the sanitized test suite (.ci/test --sanitize), the fuzz targets
# (.ci/fuzz) and the sanitized chaos suite (.ci/chaos --sanitize).
sanitize_build_dir="$source_dir/build-sanitize"
sanitize_build_options=(-DPLOCK_FUZZ=ON -DPLOCK_BUILD_TESTS=ON -DPLOCK_BUILD_BENCH=OFF)
# build-tsan: ThreadSanitizer.
tsan_build_dir="$source_dir/build-tsan"
tsan_build_options=(-DPLOCK_TSAN=ON -DPLOCK_BUILD_TESTS=ON -DPLOCK_BUILD_BENCH=OFF)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# A report fails the run: exit status 86 is no status of plock's.
export TSAN_OPTIONS=halt_on_error=1:exitcode=86:second_deadlock_stack=1

# build_with_clang DIRECTORY [cmake options...] [-- cmake --build options]:
# build, with clang++; a directory configured with another compiler before
# is started afresh (CMake cannot change the compiler of a build tree).
build_with_clang() {
    local build_dir=$1
    if [ -f "$build_dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang' "$build_dir/CMakeCache.txt"; then
        rm -rf "$build_dir"
    fi
    shift
    build "$build_dir" -DCMAKE_CXX_COMPILER="$(command -v clang++)" "$@"
}
