#!/usr/bin/env bash
# lab-probe-rate.sh - names per second of one `fluxwatch probe` round against the offline
# lab, resolved, enriched and committed to PostgreSQL, as a ratio to dnsperf's rate on the
# same names and server measured in the same run (the machine is shared and noisy).
#
# Usage: bench/lab-probe-rate.sh [NAMES] [REPEATS]     (defaults 20000, 3)
# Needs a build (deploy/build). Uses its own lab (port 5360) and its own fluxwatch-managed
# PostgreSQL under a temporary state directory; both are stopped at the end.
# The names are wildcard names of the lab's fast-flux zones, i.e. PowerDNS LUA records,
# which cost pdns about 0.1 ms of CPU each: that server is the bound here, not fluxwatch.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
names="${1:-20000}"
repeats="${2:-3}"
concurrency="${BENCH_CONCURRENCY:-150}"
bench_positive "$names" "$repeats" "$concurrency"
bench_need_build
bench_need_tools dnsperf
bench_workdir bench
bench_start_lab 5360

zones=(flux-alpha.test flux-beta.test flux-gamma.test cdn-static.test)
for ((i = 0; i < names; i++)); do
    printf 'h%06d.%s\n' "$i" "${zones[i % ${#zones[@]}]}"
done >"$work/watchlist.txt"
sed 's/$/ A/' "$work/watchlist.txt" >"$work/dnsperf.txt"

"${fw[@]}" init >/dev/null
"${fw[@]}" watchlist import "$work/watchlist.txt" >/dev/null


fw_rates=() ref_rates=()
for ((r = 1; r <= repeats; r++)); do
    # reference: dnsperf sends each name once at the same concurrency
    out="$(dnsperf -s 127.0.0.1 -p "$LAB_PORT" -d "$work/dnsperf.txt" -n 1 -c 1 -q "$concurrency" -t 5 2>&1)"
    ref=$(sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' <<<"$out")
    lost=$(sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' <<<"$out")
    # fluxwatch: one round, A records, resolved + enriched + committed
    log="$("${fw[@]}" probe --resolver "127.0.0.1:$LAB_PORT" --types A --concurrency "$concurrency" \
           --asn-db "$LAB_OUT/mmdb/lab-ASN.mmdb" --city-db "$LAB_OUT/mmdb/lab-City.mmdb" \
           --progress never -v 2>&1)"
    line="$(grep -o 'round 1 (run [0-9]*): .*' <<<"$log")"
    rate=$(sed -n 's/.* queries in [0-9.]* s (\([0-9]*\)\/s).*/\1/p' <<<"$line")
    errors=$(sed -n 's/.* \([0-9]*\) errors;.*/\1/p' <<<"$line")
    printf 'run %d: dnsperf %8.0f q/s (lost %s)   fluxwatch %8.0f names/s (errors %s)\n' \
        "$r" "$ref" "$lost" "$rate" "$errors"
    fw_rates+=("$rate") ref_rates+=("$ref")
done
stored=$(psql "$("${fw[@]}" db dsn)" -Atc "SELECT count(*) FROM probes")
ref_med=$(printf '%s\n' "${ref_rates[@]}" | median)
fw_med=$(printf '%s\n' "${fw_rates[@]}" | median)
printf '\n%-44s %12s\n' "measure ($names names, $concurrency in flight, median of $repeats)" "per second"
printf '%-44s %12.0f\n' "dnsperf, same names and server (reference)" "$ref_med"
printf '%-44s %12.0f\n' "fluxwatch probe: resolved+enriched+stored" "$fw_med"
printf '%-44s %12.2f\n' "ratio fluxwatch / dnsperf" "$(awk -v a="$fw_med" -v b="$ref_med" 'BEGIN { print a / b }')"
printf '%-44s %12d\n' "probe rows stored in all" "$stored"
