#!/usr/bin/env bash
# nsd-server.sh - a throw-away authoritative server for the throughput benchmarks: Debian's
# nsd on loopback, serving a generated zone, with its own config, pidfile and logs in DIR
# (never the system's /etc/nsd, never port 53).
#
# Usage: bench/nsd-server.sh start DIR [NAMES] [PORT]   (defaults 100000, 5390)
#        bench/nsd-server.sh stop DIR
# start generates DIR/bench.test.zone (unless it already has NAMES names), DIR/names.txt
# (one name a line) and DIR/nsd.conf, starts nsd and waits until it answers.
# The zone `bench.test` has NAMES names n0000000.bench.test ..., name i with 1 + i % 5
# A records (TTL 30) from the lab's fast-flux networks 127.64.1.0/24 .. 127.64.24.0/24
# (so deploy/lab/build-mmdb.pl's MMDBs enrich them, and nothing leaves 127.0.0.0/8).
# Response rate limiting is off (Debian builds nsd with --enable-ratelimit, and RRL would
# drop a benchmark's answers). One server process: nsd's single core is the ceiling.
set -euo pipefail
me="nsd-server.sh"
cmd="${1:-}"
dir="${2:-}"
[[ ( "$cmd" == start || "$cmd" == stop ) && -n "$dir" ]] ||
    { echo "usage: $me start DIR [NAMES] [PORT] | stop DIR" >&2; exit 2; }

stop_nsd() {
    local pid
    [[ -f "$dir/nsd.pid" ]] || return 0
    pid="$(cat "$dir/nsd.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
       grep -q "nsd" "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/nsd.pid"
}

if [[ "$cmd" == stop ]]; then
    stop_nsd
    exit 0
fi

names="${3:-100000}"
port="${4:-5390}"
[[ "$names" =~ ^[0-9]+$ && "$port" =~ ^[0-9]+$ ]] || { echo "$me: NAMES and PORT are numbers" >&2; exit 2; }
command -v nsd >/dev/null || { echo "$me: nsd is missing: apt-get install nsd (or deploy/install-deps)" >&2; exit 1; }
command -v dig >/dev/null || { echo "$me: dig is missing: apt-get install bind9-dnsutils" >&2; exit 1; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
stop_nsd

if [[ ! -f "$dir/names.txt" || "$(wc -l <"$dir/names.txt")" != "$names" ]]; then
    awk -v n="$names" -v names="$dir/names.txt" 'BEGIN {
        print "$ORIGIN bench.test."
        print "$TTL 30"
        print "@ 3600 IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 30"
        print "@ 3600 IN NS ns.bench.test."
        print "ns 3600 IN A 127.0.0.1"
        for (i = 0; i < n; i++) {
            name = sprintf("n%07d", i)
            print name ".bench.test" > names
            for (k = 0; k <= i % 5; k++) {
                x = (i * 7 + k * 1013) % 6096          # 24 networks x 254 hosts
                printf "%s IN A 127.64.%d.%d\n", name, 1 + int(x / 254), 1 + x % 254
            }
        }
    }' >"$dir/bench.test.zone"
fi

# `username: ""` keeps nsd from switching to the nsd user (it could not read DIR, and as
# root it is not needed); `database: ""` serves from memory without nsd.db.
cat >"$dir/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$port
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    verbosity: 1
    hide-version: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: bench.test
    zonefile: bench.test.zone
CONF
nsd-checkconf "$dir/nsd.conf"
nsd -c "$dir/nsd.conf"
for _ in $(seq 300); do
    if dig +tries=1 +time=1 -p "$port" @127.0.0.1 n0000000.bench.test A +short 2>/dev/null | grep -q '^127\.'; then
        exit 0
    fi
    sleep 0.1
done
echo "$me: nsd did not answer on 127.0.0.1:$port within 30 s; log:" >&2
tail -20 "$dir/nsd.log" >&2 || true
stop_nsd
exit 1
