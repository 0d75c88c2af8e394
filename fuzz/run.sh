#!/usr/bin/env bash
# run.sh - build the libFuzzer targets with clang (ASan + UBSan) and run each for a bounded
# time, starting from the seeds in fuzz/corpus/<target>/ (read-only) and the inputs found
# by earlier runs in the build directory's corpus/<target>/ (where new ones are written). Exit non-zero on the first crash, leak or sanitizer report.
# Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 20; FLUXWATCH_FUZZ_BUILD_DIR to relocate)
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FLUXWATCH_FUZZ_BUILD_DIR:-$src/build-fuzz}"
seconds="${1:-20}"
command -v clang++ >/dev/null || { echo "fuzz/run.sh: apt-get install clang" >&2; exit 1; }
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DFLUXWATCH_FUZZ=ON -DFLUXWATCH_BUILD_TESTS=OFF >/dev/null
fi
targets=(watchlist domain_name dns_reply)
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]/#/fuzz_}"
for t in "${targets[@]}"; do
    seeds="$src/fuzz/corpus/$t"
    corpus="$build/corpus/$t"
    mkdir -p "$corpus" "$build/artifacts/$t"
    echo "fuzz/run.sh: fuzz_$t for ${seconds}s ($(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) found before)"
    "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/artifacts/$t/" -print_final_stats=1 "$corpus" "$seeds" 2>"$build/fuzz_$t.log" ||
        { tail -n 40 "$build/fuzz_$t.log" >&2; echo "fuzz/run.sh: fuzz_$t FAILED (artifacts in $build/artifacts/$t)" >&2; exit 1; }
    grep -E "stat::(number_of_executed_units|new_units_added)" "$build/fuzz_$t.log" | sed "s/^/  /" || true
done
echo "fuzz/run.sh: ${#targets[@]} targets, no crash"
