#!/usr/bin/env bash
# test-postgres.sh start|stop DIR PORT - a throw-away PostgreSQL cluster for the test suite.
# test-postgres.sh replica DIR PORT PRIMARY_DIR PRIMARY_PORT - a hot standby of the cluster in
# PRIMARY_DIR (pg_basebackup -R: streaming replication over the primary's socket), started.
# Unix socket only (in DIR), trust authentication, superuser "postgres", fsync off (tests
# need speed, not durability). As root the server runs as the "postgres" user, because
# PostgreSQL refuses to run as root.
set -euo pipefail
action="${1:?usage: test-postgres.sh start|stop|replica DIR PORT [PRIMARY_DIR PRIMARY_PORT]}"
dir="${2:?data directory}"
port="${3:-5440}"

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bindir/pg_ctl" ] || { echo "test-postgres.sh: PostgreSQL server not installed (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
replica)
    primary_dir="${4:?primary directory}"
    primary_port="${5:?primary port}"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        # -R writes primary_conninfo and standby.signal; -X stream copies the WAL it needs.
        as_owner "$bindir/pg_basebackup" -h "$primary_dir" -p "$primary_port" -U postgres \
            -D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
            { cat "$dir/basebackup.log" >&2; exit 1; }
    fi
    exec "$0" start "$dir" "$port"
    ;;
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        echo "test-postgres.sh: already running in $dir"; exit 0
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null ||
        { tail -n 30 "$dir/server.log" >&2; exit 1; }
    echo "test-postgres.sh: running, socket $dir port $port"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    echo "test-postgres.sh: stopped"
    ;;
*) echo "usage: test-postgres.sh start|stop|replica DIR PORT [PRIMARY_DIR PRIMARY_PORT]" >&2; exit 2 ;;
esac
