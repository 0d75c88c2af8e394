#!/usr/bin/env bash
# ingest-ab.sh - item 4 of bench/run.sh (the writer against psql's COPY of the same rows) for
# two builds of bench/fluxwatch-ingest-bench in one run, interleaved per repetition, so
# that a before/after comparison on a shared machine sees the same load. Prints the median
# rows/s of each writer and of psql's COPY, each writer's ratio to that COPY, and the
# writer's own CPU time per row (client_cpu_us_per_row: the part a busy machine distorts
# least; older builds that do not print it show "-"), and the server's CPU time per row
# for each (the cluster's processes, including the backends it has reaped; a writer's
# includes the bench's untimed set-up, reading the watchlist of NAMES domains). Unlike
# rows/s, the CPU figures barely move with the load: (client + server) of the writer
# against COPY's server figure predicts the ratio on a quiet machine.
#
# Usage: bench/ingest-ab.sh BEFORE_INGEST_BENCH AFTER_INGEST_BENCH [NAMES [REPEATS]]
#   NAMES probes per writer run (default 100000, as run.sh), REPEATS (default 5).
# Environment: FLUXWATCH_BUILD_DIR (default build/) for the fluxwatch binary that runs the
#   database (its own managed PostgreSQL in a temporary directory, stopped at the end).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
[[ $# -ge 2 ]] || { sed -n '/^# Usage/,/^# Environment/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
before="$1" after="$2" names="${3:-100000}" repeats="${4:-5}"
for bin in "$before" "$after"; do
    [[ -x "$bin" ]] || { echo "$me: $bin is not an executable" >&2; exit 1; }
done
bench_positive "$names" "$repeats"
bench_need_build
bench_workdir ingest-ab

# The watchlist of bench/nsd-server.sh's zone, so the writer stores real domain ids.
awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) printf "n%07d.bench.test\n", i }' >"$work/names.txt"
"${fw[@]}" init >/dev/null
dsn="$("${fw[@]}" db dsn)"
"${fw[@]}" watchlist import "$work/names.txt" >/dev/null
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"; }

# CPU time (clock ticks) of the whole cluster: the postmaster, its live children and,
# through the postmaster's cutime/cstime, every backend that has exited.
pg_ticks() {
    local pm i
    pm="$(head -n 1 "$work/state/postgres/data/postmaster.pid")"
    # First let the last client's backend exit (up to 5 s), so that it is counted once.
    for ((i = 0; i < 100; i++)); do
        ps -o args= --ppid "$pm" | grep -q '\[local\]' || break
        sleep 0.05
    done
    { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
      for child in $(ps -o pid= --ppid "$pm"); do
          awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || true
      done; } | awk '{ s += $1 } END { print s + 0 }'
}
tck="$(getconf CLK_TCK)"
per_row() { awk -v t0="$1" -v t1="$2" -v n="$3" -v hz="$tck" 'BEGIN { printf "%.3f", (t1 - t0) / hz * 1e6 / n }'; }
# The tables the writer fills (schema 9+; probes and records are views over them).
history_tables=(observations answer_sets answer_set_records domain_address_seen)
truncate_history() { psql_ -c "TRUNCATE $(IFS=,; echo "${history_tables[*]}")"; }
writer() {   # writer BINARY LOG: one writer run on empty tables; appends to LOG
    truncate_history
    local t0
    t0="$(pg_ticks)"
    "$1" --dsn "$dsn" --probes "$names" >"$2.last" 2>&1 || { echo "$me: $1 failed:" >&2; cat "$2.last" >&2; exit 1; }
    # pg_ticks waits for the backend to exit: its CPU time is then in the postmaster's cutime
    local n
    n="$(sed -n 's/.* rows=\([0-9]*\) .*/\1/p' "$2.last")"
    echo "$(cat "$2.last") server_cpu_us_per_row=$(per_row "$t0" "$(pg_ticks)" "$n")" >>"$2"
}
field() {   # field LOG KEY: KEY's value in each run of LOG, space-separated ("-" if absent)
    awk -v k="$2" '{ v = "-"; for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2); printf "%s%s", sep, v; sep = " " }' "$1"
}

c=() cs=()
for ((r = 1; r <= repeats; r++)); do
    log "repetition $r/$repeats"
    # Alternate the order, so neither writer always runs on a warmer server.
    if ((r % 2)); then
        writer "$before" "$work/before.log"; writer "$after" "$work/after.log"
    else
        writer "$after" "$work/after.log"; writer "$before" "$work/before.log"
    fi
    # psql's COPY of exactly the rows the last writer stored, as run.sh item 4 does: every
    # table it filled, copied out and in again. rows counts probes + records (the views), as
    # the writers do, so rows/s compare the same work.
    rows="$(psql_ -Atc "SELECT (SELECT count(*) FROM probes) + (SELECT count(*) FROM records)")"
    copy_out=() copy_in=()
    for t in "${history_tables[@]}"; do
        copy_out+=(-c "\\copy (SELECT * FROM $t) TO '$work/$t.copy'")
        copy_in+=(-c "\\copy $t FROM '$work/$t.copy'")
    done
    psql_ "${copy_out[@]}"
    truncate_history
    start="$(date +%s.%N)" t0="$(pg_ticks)"
    psql_ -1 "${copy_in[@]}"
    end="$(date +%s.%N)"
    cs+=("$(per_row "$t0" "$(pg_ticks)" "$rows")")
    c+=("$(awk -v n="$rows" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')")
done
read -ra b <<<"$(field "$work/before.log" rows_per_s)"
read -ra a <<<"$(field "$work/after.log" rows_per_s)"
read -ra bc <<<"$(field "$work/before.log" client_cpu_us_per_row)"
read -ra ac <<<"$(field "$work/after.log" client_cpu_us_per_row)"
read -ra bs <<<"$(field "$work/before.log" server_cpu_us_per_row)"
read -ra as <<<"$(field "$work/after.log" server_cpu_us_per_row)"
med() { if [[ "$1" == *-* ]]; then echo "-"; else tr ' ' '\n' <<<"$1" | median; fi; }
bm="$(med "${b[*]}")" am="$(med "${a[*]}")" cm="$(med "${c[*]}")"
bcm="$(med "${bc[*]}")" acm="$(med "${ac[*]}")"
bsm="$(med "${bs[*]}")" asm="$(med "${as[*]}")" csm="$(med "${cs[*]}")"
printf 'ingest A/B, %s probes (%s rows), median of %s, load average %s\n' "$names" "$rows" "$repeats" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
fmt='%-24s %9s %6s %11s %11s   %s\n'
printf "$fmt" "writer" "rows/s" "ratio" "client us" "server us" "rows/s per repetition"
printf "$fmt" "psql COPY (same rows)" "$cm" "1.00" "" "$csm" "${c[*]}"
printf "$fmt" "before" "$bm" "$(ratio "$bm" "$cm")" "$bcm" "$bsm" "${b[*]}"
printf "$fmt" "after" "$am" "$(ratio "$am" "$cm")" "$acm" "$asm" "${a[*]}"
printf '(us = CPU microseconds per row; before = %s, after = %s)\n' "$before" "$after"
printf 'after / before: rows/s %s' "$(ratio "$am" "$bm")"
[[ "$bcm" == "-" || "$acm" == "-" ]] || printf ', client CPU per row %s' "$(ratio "$acm" "$bcm")"
printf '\n'
