#!/usr/bin/env bash
# scheduler-bench.sh - overhead of `fluxwatch run` (docs/performance.md, "Scheduler"):
#   1. dispatch rate: due domains per second one worker probes and commits against the lab
#      (`run --once` over NAMES due domains, type A, no rate limit), next to dnsperf's rate
#      on the same names in the same run (the reference: the lab server is the bound);
#   2. memory: peak RSS (VmHWM) of one worker whose campaign holds BIG domains (default
#      1,000,000), all due, after RUN_SECONDS of probing, and of the same worker over NAMES
#      domains: bytes per scheduled domain.
# Usage: bench/scheduler-bench.sh [NAMES] [BIG] [RUN_SECONDS]     (defaults 20000 1000000 30)
# Needs a build (FLUXWATCH_BUILD_DIR, default build/). Own lab (port 5380) and own
# fluxwatch-managed PostgreSQL under a temporary directory; both are stopped at the end.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
names="${1:-20000}"
big="${2:-1000000}"
seconds="${3:-30}"
concurrency="${BENCH_CONCURRENCY:-150}"
bench_positive "$names" "$big" "$seconds" "$concurrency"
bench_need_build
bench_workdir schedbench
bench_start_lab 5380

cat >"$work/config.yaml" <<YAML
state_dir: $work/state
resolvers: ["127.0.0.1:$LAB_PORT"]
probe: {record_types: [A], concurrency: $concurrency, timeout_ms: 2000, tries: 2}
campaigns:
  - name: bench
    min_interval: 86400
    max_interval: 86400
YAML
fw=("$build/app/fluxwatch" --config "$work/config.yaml" -q)
"${fw[@]}" init >/dev/null

zones=(flux-alpha.test flux-beta.test flux-gamma.test cdn-static.test)
gen() { awk -v n="$1" -v z="${zones[*]}" 'BEGIN { split(z, zs, " "); for (i = 0; i < n; i++) printf "h%07d.%s\n", i, zs[i % 4 + 1] }'; }

# --- 1. dispatch rate -----------------------------------------------------------------
gen "$names" >"$work/names.txt"
sed 's/$/ A/' "$work/names.txt" >"$work/dnsperf.txt"
dnsperf_qps="-"
if command -v dnsperf >/dev/null; then
    dnsperf_qps="$(dnsperf -s 127.0.0.1 -p "$LAB_PORT" -d "$work/dnsperf.txt" -n 1 -c 1 -q "$concurrency" -t 5 2>/dev/null |
        awk '/Queries per second/ { printf "%.0f", $4 }')"
fi
"${fw[@]}" watchlist import "$work/names.txt" >/dev/null
start=$(date +%s.%N)
/usr/bin/env time -f '%M' -o "$work/small.rss" "${fw[@]}" run --once --campaign bench --progress never
end=$(date +%s.%N)
rate="$(awk -v n="$names" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')"
small_kib="$(tail -n 1 "$work/small.rss")"
echo "dispatch: $names due domains in $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s = $rate/s (run --once, resolved + committed); dnsperf: $dnsperf_qps q/s"
echo "peak RSS, $names domains: $small_kib KiB"

# --- 2. memory with BIG scheduled domains ----------------------------------------------
gen "$big" >"$work/big.txt"
"${fw[@]}" watchlist import "$work/big.txt" >/dev/null
"${fw[@]}" run --campaign bench --progress never &
pid=$!
sleep "$seconds"  # a fixed measuring window, not a wait for a condition
hwm_kib="$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")"
kill -TERM "$pid"
wait "$pid" || true
domains="$(psql "$("${fw[@]}" db dsn)" -Atc "SELECT count(*) FROM schedule WHERE campaign = 'bench'")"
probed="$(psql "$("${fw[@]}" db dsn)" -Atc "SELECT count(*) FROM probes WHERE campaign = 'bench'")"
echo "peak RSS, $domains domains scheduled ($probed probes stored so far): $hwm_kib KiB = $(awk -v k="$hwm_kib" -v d="$domains" 'BEGIN { printf "%.1f", k * 1024 / d }') bytes/domain"
echo "marginal: $(awk -v a="$hwm_kib" -v b="$small_kib" -v d="$domains" -v n="$names" 'BEGIN { printf "%.2f", (a - b) * 1024 / (d - n) }') bytes/domain"
