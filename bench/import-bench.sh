#!/usr/bin/env bash
# import-bench.sh - `fluxwatch watchlist import` of a large file (issue 17.7): peak RSS of
# the whole process (it must stay flat, < 100 MB, whatever the file size) and its rate,
# next to the reference of the same run: psql's \copy of the same file, line by line, into
# a one-column table of the same PostgreSQL (the floor for moving those bytes to the server).
# The file has LINES lines (default 2,600,000, about 50 MB): domains with tags, every 10th
# line naming a domain again with another tag (merged), every 1000th line junk (reported).
# Usage: bench/import-bench.sh [LINES]
# Needs a build (FLUXWATCH_BUILD_DIR, default build/) and GNU time. Own fluxwatch-managed
# PostgreSQL under a temporary directory, stopped at the end.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
lines="${1:-2600000}"
bench_positive "$lines"
bench_need_build
bench_need_tools time
bench_workdir importbench
"${fw[@]}" init >/dev/null
dsn="$("${fw[@]}" db dsn)"

awk -v n="$lines" 'BEGIN {
    for (i = 1; i <= n; i++) {
        if (i % 1000 == 0) { print "not a domain!"; continue }
        if (i % 10 == 0) { printf "h%07d.flux.test,again\n", i - 5; continue }
        printf "h%07d.flux.test,t%d\n", i, i % 7
    }
}' >"$work/list.csv"
bytes="$(stat -c %s "$work/list.csv")"

start=$(date +%s.%N)
/usr/bin/env time -f '%M' -o "$work/import.rss" \
    "${fw[@]}" watchlist import "$work/list.csv" 2>"$work/import.err" >"$work/import.out"
end=$(date +%s.%N)
import_s="$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')"
rss_kib="$(tail -n 1 "$work/import.rss")"
warned="$(grep -c 'skipped' "$work/import.err" || true)"
stored="$(psql "$dsn" -Atc "SELECT count(*) FROM watchlist")"
merged="$(psql "$dsn" -Atc "SELECT count(*) FROM watchlist WHERE 'again' = ANY (tags)")"

psql "$dsn" -qc "CREATE TABLE bench_lines (line text)"
start=$(date +%s.%N)
psql "$dsn" -qc "\\copy bench_lines FROM '$work/list.csv' WITH (FORMAT text)"
end=$(date +%s.%N)
copy_s="$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')"

awk -v l="$lines" -v b="$bytes" -v t="$import_s" -v c="$copy_s" -v r="$rss_kib" \
    -v w="$warned" -v s="$stored" -v m="$merged" 'BEGIN {
    printf "file: %d lines, %.1f MB\n", l, b / 1e6
    printf "import: %.2f s = %.0f lines/s, peak RSS %.1f MiB; %d domains stored (%d with a merged tag), %d lines reported\n",
           t, l / t, r / 1024, s, m, w
    printf "reference (psql \\copy of the same file): %.2f s = %.0f lines/s; import / reference time = %.2f\n",
           c, l / c, t / c
}'
