#!/usr/bin/env bash
# unit-commands.sh UNIT_DIR PG_HOST PG_PORT LAB_SERVER LAB_MMDB_DIR: the systemd units'
# commands run by hand (no system service is started): each ExecStart line, with %i
# replaced, runs as written against the lab and a scratch database on the test
# PostgreSQL, with the Environment= of its unit. The timers' jobs must exit 0 and do their
# work; fluxwatch-run@ must probe every domain and drain cleanly on SIGTERM (exit 0).
set -euo pipefail
units="$1" pg_host="$2" pg_port="$3" lab="$4" mmdb="$5"
work="$(mktemp -d)"
db="fw_units_$$"
admin="host=$pg_host port=$pg_port user=postgres dbname=postgres"
run_pid=""
cleanup() {
    [ -n "$run_pid" ] && kill -9 "$run_pid" 2>/dev/null || true
    psql "$admin" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "unit-commands: $*" >&2; exit 1; }
psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db TEMPLATE template0"
dsn="host=$pg_host port=$pg_port user=postgres dbname=$db"

cat >"$work/config.yaml" <<YAML
database:
  dsn: "$dsn"
resolvers: ["$lab"]
probe:
  timeout_ms: 1500
geoip:
  asn_database: $work/geoip/asn.mmdb
  city_database: $mmdb/lab-City.mmdb
  update:
    asn_url: file://$mmdb/lab-ASN.mmdb
feeds:
  - url: file://$work/feed.txt
    tag: feed
campaigns:
  - name: everything
    min_interval: 3600
    max_interval: 7200
YAML
mkdir -p "$work/geoip"
printf 'feed-only.example\n' >"$work/feed.txt"

# The command of a unit as systemd would run it (one ExecStart= line, %i -> instance).
exec_start() {  # exec_start UNIT INSTANCE
    sed -n 's/^ExecStart=//p' "$units/$1" | sed "s/%i/$2/g"
}
# Run it with the unit's Environment= lines, FLUXWATCH_CONFIG pointed at the test config.
run_unit() {  # run_unit UNIT INSTANCE
    local command
    command="$(exec_start "$1" "$2")"
    [ -n "$command" ] || fail "$1 has no ExecStart"
    env FLUXWATCH_STATE_DIR="$work/state" FLUXWATCH_CONFIG="$work/config.yaml" $command
}

fw() { env FLUXWATCH_CONFIG="$work/config.yaml" "$(exec_start fluxwatch-score.service x | awk '{print $1}')" "$@"; }
fw init >/dev/null
fw watchlist import "$(dirname "$0")/../../../deploy/lab/watchlist.txt" >/dev/null 2>&1
domains="$(psql "$dsn" -X -At -c "SELECT count(*) FROM watchlist")"
[ "$domains" -gt 0 ] || fail "no watchlist"

# fluxwatch-geo-update.service: installs the ASN database from its URL.
run_unit fluxwatch-geo-update.service "" >"$work/geo.log" 2>&1 || { cat "$work/geo.log" >&2; fail "geo update failed"; }
[ -s "$work/geoip/asn.mmdb" ] || fail "geo update installed nothing"

# fluxwatch-run@everything.service: probes every domain, then drains on SIGTERM.
# exec: $! must be fluxwatch itself (the signal goes to it, not to a subshell).
(exec env FLUXWATCH_STATE_DIR="$work/state" FLUXWATCH_CONFIG="$work/config.yaml" \
    $(exec_start fluxwatch-run@.service everything)) >"$work/run.log" 2>&1 &
run_pid=$!
# Every domain of the campaign probed: the imported ones, and the feed's if run@ imported
# it before the campaign's first sync (its own feed refresh races with that sync).
for _ in $(seq 1 600); do
    state="$(psql "$dsn" -X -At -F ' ' -c "SELECT count(*) FILTER (WHERE last_sent IS NOT NULL), count(*) FILTER (WHERE last_sent IS NULL) FROM schedule WHERE campaign = 'everything'" 2>/dev/null || echo "0 0")"
    read -r probed unprobed <<<"$state"
    [ "$probed" -ge "$domains" ] && [ "$unprobed" = 0 ] && break
    kill -0 "$run_pid" 2>/dev/null || { cat "$work/run.log" >&2; fail "run exited early"; }
    sleep 0.1
done
[ "$probed" -ge "$domains" ] && [ "$unprobed" = 0 ] ||
    { cat "$work/run.log" >&2; fail "run probed $probed of $domains domains in 60 s"; }
kill -TERM "$run_pid"
status=0
wait "$run_pid" || status=$?
run_pid=""
[ "$status" = 0 ] || { cat "$work/run.log" >&2; fail "run exited $status after SIGTERM"; }
grep -q "campaign everything: $probed domains probed" "$work/run.log" ||
    { cat "$work/run.log" >&2; fail "no drain summary"; }
leases="$(psql "$dsn" -X -At -c "SELECT count(*) FROM schedule WHERE lease_owner IS NOT NULL")"
[ "$leases" = 0 ] || fail "$leases leases left after the drain"

# fluxwatch-score.service and fluxwatch-feeds-refresh.service (a file:// feed).
run_unit fluxwatch-score.service "" >"$work/score.log" 2>&1 || { cat "$work/score.log" >&2; fail "score failed"; }
# (run@ may have imported the feed meanwhile: it refreshes due feeds too)
scored="$(psql "$dsn" -X -At -c "SELECT count(*) FROM domain_scores")"
watched="$(psql "$dsn" -X -At -c "SELECT count(*) FROM watchlist")"
[ "$scored" = "$watched" ] || fail "score scored $scored of $watched domains"
run_unit fluxwatch-feeds-refresh.service "" >"$work/feeds.log" 2>&1 || { cat "$work/feeds.log" >&2; fail "feeds refresh failed"; }
[ "$(psql "$dsn" -X -At -c "SELECT count(*) FROM watchlist WHERE domain = 'feed-only.example'")" = 1 ] ||
    fail "feeds refresh imported nothing"
echo "unit-commands: geo-update, run@everything ($domains domains, drained), score, feeds-refresh ok"
