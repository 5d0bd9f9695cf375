#!/usr/bin/env bash
# Fuzz myongoredis-core for a bounded time, on stable Rust.
#
#   proptests/fuzz/run.sh [seconds-per-target]     (default 60)
#
# 1. installs cargo-fuzz if it is missing;
# 2. replays the committed seed corpus of every target (a crash on a known
#    input fails at once);
# 3. fuzzes each target for the given time and prints how many inputs ran.
#
# `-s none`: no sanitizer, so it works on a stable toolchain (AddressSanitizer
# needs nightly; with one, drop `-s none` for the default `-s address`).
# `-a`: debug assertions and overflow checks on, so arithmetic bugs crash.
# New inputs go to scratch/<target> (ignored by git); the committed corpus/
# is only read. Crashes land in artifacts/<target>/ and fail the script.
set -euo pipefail

seconds="${1:-60}"
cd "$(dirname "$0")"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=(resp_parser execute model config_file aof_load rdb_load capture_load cluster_load)
flags=(-s none -a)
# Per input: fail on one taking over 10 s (a hang) or the process growing
# past 2 GB (unbounded memory).
limits=(-timeout=10 -rss_limit_mb=2048)

cargo fuzz build "${flags[@]}"

status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "scratch/$t"
    echo "== $t: replaying corpus/$t"
    cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- -runs=0 "${limits[@]}" || status=1
done
[ "$status" -eq 0 ] || { echo "a committed corpus input fails" >&2; exit 1; }

for t in "${targets[@]}"; do
    echo "== $t: fuzzing for ${seconds}s"
    log="scratch/$t.log"
    # `timeout` is a backstop: -max_total_time already stops libFuzzer.
    if ! timeout --signal=INT "$((seconds + 60))" \
        cargo fuzz run "${flags[@]}" "$t" "scratch/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 "${limits[@]}" >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "== $t: FAILED (input in artifacts/$t/, log in $log)" >&2
        status=1
        continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "== $t: ${runs:-?} executions, no crash"
done
exit "$status"
