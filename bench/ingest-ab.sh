#!/usr/bin/env bash
# ingest-ab.sh - item 4 of bench/run.sh (the writer against psql's COPY of the same rows) for
# two builds of bench/fluxwatch-ingest-bench in one run, interleaved per repetition, so
# that a before/after comparison on a shared machine sees the same load. Prints the median
# rows/s of each writer and of psql's COPY, and each writer's ratio to that COPY.
#
# Usage: bench/ingest-ab.sh BEFORE_INGEST_BENCH AFTER_INGEST_BENCH [NAMES [REPEATS]]
#   NAMES probes per writer run (default 100000, as run.sh), REPEATS (default 5).
# Environment: FLUXWATCH_BUILD_DIR (default build/) for the fluxwatch binary that runs the
#   database (its own managed PostgreSQL in a temporary directory, stopped at the end).
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FLUXWATCH_BUILD_DIR:-$src/build}"
me="bench/ingest-ab.sh"
[[ $# -ge 2 ]] || { sed -n '/^# Usage/,/^# Environment/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
before="$1" after="$2" names="${3:-100000}" repeats="${4:-5}"
for bin in "$before" "$after" "$build/app/fluxwatch"; do
    [[ -x "$bin" ]] || { echo "$me: $bin is not an executable" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/fluxwatch-ingest-ab.XXXXXX")"
chmod 755 "$work"   # the managed PostgreSQL runs as `postgres` when we are root
fw=("$build/app/fluxwatch" --state-dir "$work/state" -q)
cleanup() { "${fw[@]}" db stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
log() { [[ -t 2 ]] && printf '%s: %s\n' "$me" "$*" >&2 || true; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# The watchlist of bench/nsd-server.sh's zone, so the writer stores real domain ids.
awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) printf "n%07d.bench.test\n", i }' >"$work/names.txt"
"${fw[@]}" init >/dev/null
dsn="$("${fw[@]}" db dsn)"
"${fw[@]}" watchlist import "$work/names.txt" >/dev/null
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"; }

writer() {   # writer BINARY LOG: one writer run on empty tables; prints rows/s
    psql_ -c "TRUNCATE probes, records"
    "$1" --dsn "$dsn" --probes "$names" >"$2" 2>&1 || { echo "$me: $1 failed:" >&2; cat "$2" >&2; exit 1; }
    sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p' "$2"
}

b=() a=() c=()
for ((r = 1; r <= repeats; r++)); do
    log "repetition $r/$repeats"
    # Alternate the order, so neither writer always runs on a warmer server.
    if ((r % 2)); then
        b+=("$(writer "$before" "$work/before.log")"); a+=("$(writer "$after" "$work/after.log")")
    else
        a+=("$(writer "$after" "$work/after.log")"); b+=("$(writer "$before" "$work/before.log")")
    fi
    # psql's COPY of exactly the rows the last writer stored, as run.sh item 4 does.
    rows="$(psql_ -Atc "SELECT (SELECT count(*) FROM probes) + (SELECT count(*) FROM records)")"
    psql_ -c "\\copy probes TO '$work/probes.copy'" -c "\\copy records TO '$work/records.copy'"
    psql_ -c "TRUNCATE probes, records"
    start="$(date +%s.%N)"
    psql_ -1 -c "\\copy probes FROM '$work/probes.copy'" -c "\\copy records FROM '$work/records.copy'"
    end="$(date +%s.%N)"
    c+=("$(awk -v n="$rows" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')")
done
bm="$(printf '%s\n' "${b[@]}" | median)" am="$(printf '%s\n' "${a[@]}" | median)"
cm="$(printf '%s\n' "${c[@]}" | median)"
printf 'ingest A/B, %s probes (%s rows), median of %s, load average %s\n' "$names" "$rows" "$repeats" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %12s %6s   %s\n' "writer" "rows/s" "ratio" "per repetition"
printf '%-28s %12.0f %6s   %s\n' "psql COPY (same rows)" "$cm" "1.00" "${c[*]}"
printf '%-28s %12.0f %6s   %s\n' "before: ${before##*/}" "$bm" "$(ratio "$bm" "$cm")" "${b[*]}"
printf '%-28s %12.0f %6s   %s\n' "after: ${after##*/}" "$am" "$(ratio "$am" "$cm")" "${a[*]}"
printf 'after / before: %s\n' "$(ratio "$am" "$bm")"
