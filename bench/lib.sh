# Shared by the bench/ scripts: the build under test, tool checks, statistics
# and the results table. Nothing here installs anything: a missing tool is
# named, and its rows are skipped.
set -euo pipefail
# A step that fails says where, instead of ending the run without a word
# (set -e alone is silent); -E: also inside functions and substitutions.
set -E
trap 'bench_status=$?; echo "  ${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit $bench_status)" >&2' ERR

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$bench_dir")
build_dir=${PLOCK_BENCH_BUILD:-$source_dir/build-bench}
quick=${PLOCK_BENCH_QUICK:-0}   # 1: a few iterations, to check that the scripts work
# Quick runs write beside the build, never over the committed results.
if [ "$quick" = 1 ]; then
    results_dir=${PLOCK_BENCH_RESULTS:-$build_dir/bench-results}
else
    results_dir=${PLOCK_BENCH_RESULTS:-$bench_dir/results}
fi
python=/usr/bin/python3

# trials NORMAL QUICK: how many repetitions to run
trials() { if [ "$quick" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# The benchmarked plock is a Release build without debug information, as
# installed, in build-bench; PLOCK_BENCH_BUILD names another build directory
# (CI passes its test build), which is brought up to date under its own
# configuration. The helpers come from the same tree.
ensure_built() {
    local output
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
        cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLOCK_BUILD_TESTS=OFF >/dev/null
    fi
    if ! output=$(cmake --build "$build_dir" --target plock plock-bench-stamp plock-bench-timer 2>&1); then
        echo "$output" >&2
        return 1
    fi
    plock="$build_dir/plock"
    stamp="$build_dir/bench/plock-bench-stamp"
    timer="$build_dir/bench/plock-bench-timer"
}

# have COMMAND PACKAGE: true if COMMAND exists; otherwise says what to install.
have() {
    if command -v "$1" >/dev/null 2>&1; then
        return 0
    fi
    echo "  skipped: $1 is not installed (Debian package: $2)" >&2
    return 1
}

have_python_module() {
    if [ -x "$python" ] && "$python" -c "import $1" 2>/dev/null; then
        return 0
    fi
    echo "  skipped: $python cannot import $1 (Debian package: $2)" >&2
    return 1
}

# percentiles FILE: "p50 p95" (milliseconds) of the numbers in FILE, one a line
percentiles() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan"; exit }
        i50 = int(0.50 * (NR - 1) + 0.5) + 1; i95 = int(0.95 * (NR - 1) + 0.5) + 1
        printf "%.3f %.3f\n", v[i50], v[i95] }'
}

# record SCENARIO TOOL P50 P95 REFERENCE_P50 [NOTE]: one row of the results table
record() {
    local ratio="-"
    if [ "$5" != "-" ] && [ "$5" != "nan" ]; then
        ratio=$(awk -v a="$3" -v b="$5" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    fi
    mkdir -p "$results_dir"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$ratio" "${6:-}" >> "$results_dir/rows.tsv"
    printf '  %-34s %-44s p50 %9s  p95 %9s  ratio %s %s\n' "$1" "$2" "$3" "$4" "$ratio" "${6:-}"
}

# wait_for_file PATH: until PATH exists (a benchmark's own synchronisation)
wait_for_file() {
    local tries=0
    while [ ! -e "$1" ]; do
        sleep 0.001
        tries=$((tries + 1))
        if [ "$tries" -gt 20000 ]; then
            echo "timed out waiting for $1" >&2
            return 1
        fi
    done
}

# have_plock_redis: true if this build of plock has the redis subcommand.
have_plock_redis() {
    if "$plock" redis --help >/dev/null 2>&1; then
        return 0
    fi
    echo "  skipped: this plock has no redis subcommand" >&2
    return 1
}

# start_redis: starts a private redis-server on a free loopback port (no
# persistence, its files in the scratch directory) and sets redis_port,
# redis_url and redis_pid; stop_redis (or the end of the script) stops it.
# False, with the reason on stderr, when there is no redis-server or it
# did not start.
redis_pid=
start_redis() {
    have redis-server redis-server || return 1
    have redis-cli redis-tools || return 1
    local attempt
    for attempt in 1 2 3 4 5; do
        # A server that cannot bind its port exits, and we try another.
        redis_port=$(( 20000 + RANDOM % 40000 ))
        redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$scratch" --logfile "$scratch/redis-$redis_port.log" --daemonize no &
        redis_pid=$!
        local tries
        for tries in $(seq 500); do
            # Our server's answer, not that of another that had the port.
            if redis-cli -p "$redis_port" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$redis_pid"; then
                redis_url="redis://127.0.0.1:$redis_port"
                return 0
            fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.01
        done
        stop_redis
    done
    echo "  skipped: redis-server did not start on a loopback port" >&2
    return 1
}

stop_redis() {
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
        redis_pid=
    fi
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/plock-bench.XXXXXX")
trap 'stop_redis; rm -rf "$scratch"' EXIT
