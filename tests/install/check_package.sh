#!/usr/bin/env bash
# Checks what plock installs, two ways, from a configured and built tree:
#   check_package.sh install BUILD_DIR VERSION   cmake --install into a temporary prefix
#   check_package.sh deb BUILD_DIR VERSION       cpack -G DEB, then its metadata and contents
# Prints what it checked; exits non-zero at the first thing that is wrong.
set -euo pipefail
mode=$1 build_dir=$2 version=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# The files every installation must have, relative to the prefix.
expected=(bin/plock share/man/man1/plock.1.gz share/bash-completion/completions/plock
          share/doc/plock/README.md)

check_tree() {  # PREFIX
    local prefix=$1 file
    for file in "${expected[@]}"; do
        [ -f "$prefix/$file" ] || fail "$prefix/$file is missing"
    done
    [ -x "$prefix/bin/plock" ] || fail "$prefix/bin/plock is not executable"
    [ "$("$prefix/bin/plock" --version)" = "plock $version" ] || fail "plock --version does not say plock $version"
    local page
    page=$(gzip -dc "$prefix/share/man/man1/plock.1.gz") || fail "the man page is not gzipped"
    grep -q "^\.TH PLOCK 1 .*\"plock $version\"" <<<"$page" || fail "the man page is not plock(1) of version $version"
    bash -n "$prefix/share/bash-completion/completions/plock" || fail "the completion script has a syntax error"
    echo "ok: ${expected[*]} in $prefix; --version, man page and completion checked"
}

case $mode in
install)
    cmake --install "$build_dir" --prefix "$work/usr/local" >"$work/log" || { cat "$work/log"; fail "cmake --install"; }
    check_tree "$work/usr/local"
    ;;
deb)
    (cd "$work" && cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$work/out") >"$work/log" 2>&1 ||
        { cat "$work/log"; fail "cpack -G DEB"; }
    deb=$(find "$work/out" -maxdepth 1 -name 'plock_*.deb')
    [ -n "$deb" ] || fail "cpack made no plock_*.deb"
    [ "$(dpkg-deb -f "$deb" Package)" = plock ] || fail "the package is not named plock"
    [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "the package version is not $version"
    [ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || fail "wrong architecture"
    contents=$(dpkg-deb -c "$deb")
    for file in "${expected[@]}"; do
        grep -q " \./usr/$file\$" <<<"$contents" || fail "the package does not contain /usr/$file"
    done
    echo "ok: the package contains ${expected[*]/#//usr/}"
    dpkg-deb -x "$deb" "$work/root"
    check_tree "$work/root/usr"
    # Depends must name what the binary really loads: nothing for a static
    # binary, and every NEEDED library's package otherwise.
    needed=$(readelf -d "$work/root/usr/bin/plock" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    depends=$(dpkg-deb -f "$deb" Depends)
    if [ -z "$needed" ]; then
        [ -z "$depends" ] || fail "a static plock needs no package, yet Depends is '$depends'"
        echo "ok: static binary (no NEEDED libraries), no Depends"
    else
        for library in $needed; do
            package=$(dpkg -S "*/$library" 2>/dev/null | sed -n '1s/:.*//p') || true
            [ -n "$package" ] || continue
            grep -qw "$package" <<<"$depends" || fail "plock needs $library ($package) but Depends is '$depends'"
        done
        echo "ok: Depends '$depends' covers $needed"
    fi
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
