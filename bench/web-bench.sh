#!/usr/bin/env bash
# web-bench.sh - what a user of `fluxwatch serve` waits for on a big history: the whole HTTP
# answer of a flux domain's page, the domains table and an address page, against /healthz
# (same server, no database) measured in the same run; then EXPLAIN (ANALYZE, BUFFERS) of
# the domain page's main queries (the SQL of web/src/queries.cc with the window open).
#   Data: bench/sql-bench.sh's generator (DOMAINS x PROBES probes, 10% fast flux with four
#   addresses per answer), kept in WEB_BENCH_STATE (default: a temporary directory).
#   Default 5000 x 200 = 1M probes, 2.3M answer rows.
# Usage: bench/web-bench.sh [DOMAINS] [PROBES]   (WEB_BENCH_REPS=N, default 7)
# Output: page=<name> first_ms=<cold> median_ms=<median of the rest> ratio=<median/healthz>
# Needs a build (FLUXWATCH_BUILD_DIR, default build/) and curl.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
domains="${1:-5000}"
probes="${2:-200}"
reps="${WEB_BENCH_REPS:-7}"
bench_need_build
bench_need_tools curl
bench_workdir webbench "${WEB_BENCH_STATE:-}"   # a kept dataset when WEB_BENCH_STATE is set
server_pid=""
bench_on_exit '[[ -z "$server_pid" ]] || { kill "$server_pid"; wait "$server_pid"; }'

# The dataset (generated once per state directory; sql-bench's own queries run twice here).
SQL_BENCH_STATE="$work" SQL_BENCH_REPS=2 "$src/bench/sql-bench.sh" "$domains" "$probes" \
    | grep -E '^(dataset|generated)'
"${fw[@]}" db start >/dev/null 2>&1 || true
dsn="$("${fw[@]}" db dsn)"

fifo="$work/serve.out"
rm -f "$fifo"
mkfifo "$fifo"
"${fw[@]}" serve --listen 127.0.0.1:0 >"$fifo" &
server_pid=$!
read -r line <"$fifo"
url="$(grep -o 'http://127.0.0.1:[0-9]*/' <<<"$line")"
[[ -n "$url" ]] || { echo "web-bench: serve did not start: $line" >&2; exit 1; }

domain="d$(( (domains / 2) / 10 * 10 )).bench.test"
declare -A pages=(
  [healthz]="healthz"
  [domain-page]="domain/$domain"
  [domain-page-7d]="domain/$domain?since=7d"
  [domains-table]="domains"
  [domains-flux-by-asns]="domains?label=fast_flux&sort=asns&order=desc"
  [address-page]="address/10.0.0.77"
  [overview]=""
)
order=(healthz domain-page domain-page-7d domains-table domains-flux-by-asns address-page overview)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A med
for name in "${order[@]}"; do
    times=()
    for _ in $(seq "$reps"); do
        times+=("$(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$url${pages[$name]}")")
    done
    codes="$(printf '%s\n' "${times[@]}" | awk '{ print $1 }' | sort -u | tr '\n' ' ')"
    [[ "$codes" == "200 " ]] || { echo "web-bench: $name answered $codes" >&2; exit 1; }
    ms="$(printf '%s\n' "${times[@]}" | awk '{ printf "%.3f\n", $2 * 1000 }')"
    med[$name]="$(tail -n +2 <<<"$ms" | median)"
    ratio="$(awk -v m="${med[$name]}" -v r="${med[healthz]}" 'BEGIN { printf "%.1f", m / r }')"
    echo "page=$name first_ms=$(head -1 <<<"$ms") median_ms=${med[$name]} ratio=$ratio"
done
page="$(curl -s "$url${pages[domain-page]}")"
echo "domain_page_bytes=$(printf '%s' "$page" | wc -c) sha256=$(printf '%s' "$page" | sha256sum | cut -c1-16)"

echo "--- plans (EXPLAIN ANALYZE, BUFFERS; the domain page's queries, window open; the address"
echo "--- page's domains and ASN/country history; the overview's campaigns, status's query):"
id="$(psql "$dsn" -X -At -c "SELECT domain_id FROM watchlist WHERE domain = '$domain'")"
window="sent_at >= '-infinity' AND sent_at < 'infinity'"
for sql in \
  "SELECT probe_id, sent_at, qtype, ttl, host(address), asn, as_org, country FROM answers WHERE domain_id = $id AND $window AND rtype IN ('A', 'AAAA') AND rtype = qtype AND address IS NOT NULL ORDER BY sent_at, probe_id, address LIMIT 200001" \
  "SELECT sent_at, min(owner), array_agg(DISTINCT target ORDER BY target), min(ttl) FROM answers WHERE domain_id = $id AND $window AND qtype = 'NS' AND rtype = 'NS' GROUP BY probe_id, sent_at" \
  "SELECT rtype, owner, target, count(*) FROM answers WHERE domain_id = $id AND $window AND rtype NOT IN ('A', 'AAAA') GROUP BY rtype, owner, target" \
  "SELECT label, reasons FROM latest_scores WHERE domain = '$domain'" \
  "SELECT score_run_id, label, holz_score FROM score_history WHERE domain = '$domain' ORDER BY score_run_id" \
  "SELECT domain, first_seen, last_seen, times_seen FROM domain_addresses WHERE address = '10.0.0.77'::inet ORDER BY last_seen DESC LIMIT 1000" \
  "SELECT g.asn, g.as_org, g.country, g.country_name, b.first_used, b.tag FROM address_geo g JOIN geo_builds b USING (geo_build_id) WHERE g.address = '10.0.0.77'::inet ORDER BY b.first_used, b.geo_build_id LIMIT 10000" \
  "SELECT campaign, count(*), count(*) FILTER (WHERE next_due <= now()), count(*) FILTER (WHERE next_due <= now() AND (lease_until IS NULL OR lease_until < now())), max(last_sent) FROM schedule GROUP BY campaign ORDER BY campaign"; do
    echo "--- $sql"
    psql "$dsn" -X -At -c "EXPLAIN (ANALYZE, BUFFERS) $sql"
done
