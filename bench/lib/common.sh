# bench/lib/common.sh - the start every bench script shares (sourced, never run):
#     source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# Sets `src` (the source tree), `build` (FLUXWATCH_BUILD_DIR, default build/), `fw_bin`, `me`
# (bench/<script>), and defines:
#   bench_workdir NAME [DIR]  `work`: DIR (created, kept) or a fresh temporary directory
#                             fluxwatch-NAME.XXXXXX (removed at exit unless bench_keep=1);
#                             `fw`: fluxwatch on a managed PostgreSQL in $work/state. At exit,
#                             whatever the script started is stopped (PostgreSQL, nsd, lab,
#                             bench_on_exit commands)
#   bench_need_build [FILE...]  fluxwatch (and each FILE under the build) must be built
#   bench_need_tools TOOL...    each on PATH ("time": /usr/bin/time), else exit 1 saying so
#   bench_check_build_type      warns about a build that is not optimised
#   bench_positive VALUE...     each a whole number >= 1, else exit 2
#   bench_start_nsd NAMES       nsd on 127.0.0.1:$nsd_port (BENCH_NSD_PORT, default 5390)
#                               serving NAMES names from $work/nsd (bench/nsd-server.sh)
#   bench_start_lab PORT        the PowerDNS lab (deploy/lab) on BENCH_LAB_PORT (default PORT)
#                               and its never-answering server on BENCH_LAB_BLACKHOLE_PORT
#                               (default PORT+1), under $work/lab; exports LAB_* for it
#   bench_on_exit COMMAND       also run COMMAND (a string, eval'd) at exit, first
#   log TEXT, median (stdin), ratio A B, now, secs START END
# Needs bash and `set -euo pipefail` in the script (it sets it too).
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FLUXWATCH_BUILD_DIR:-$src/build}"
fw_bin="$build/app/fluxwatch"
me="bench/$(basename "$0")"
nsd_port="${BENCH_NSD_PORT:-5390}"
bench_keep=0
work=""
fw=()
_bench_exit=()
_bench_nsd=0
_bench_lab=0
_bench_kept_dir=0

_bench_cleanup() {
    local command
    for command in "${_bench_exit[@]}"; do
        eval "$command" >/dev/null 2>&1 || true
    done
    if [[ -n "$work" ]]; then
        "$fw_bin" --state-dir "$work/state" -q db stop >/dev/null 2>&1 || true
        [[ "$_bench_nsd" == 0 ]] || "$src/bench/nsd-server.sh" stop "$work/nsd" >/dev/null 2>&1 || true
        [[ "$_bench_lab" == 0 ]] || "$src/deploy/lab/stop-lab.sh" >/dev/null 2>&1 || true
        if [[ "$_bench_kept_dir" == 1 ]]; then
            :
        elif [[ "$bench_keep" == 1 ]]; then
            echo "$me: kept $work" >&2
        else
            rm -rf "$work"
        fi
    fi
}
trap _bench_cleanup EXIT

bench_workdir() {   # bench_workdir NAME [DIR]
    if [[ -n "${2:-}" ]]; then
        work="$2"
        _bench_kept_dir=1
        mkdir -p "$work"
    else
        work="$(mktemp -d "${TMPDIR:-/tmp}/fluxwatch-$1.XXXXXX")"
    fi
    chmod 755 "$work"   # the managed PostgreSQL runs as `postgres` when we are root
    fw=("$fw_bin" --state-dir "$work/state" -q)
}

bench_on_exit() { _bench_exit+=("$1"); }

bench_need_build() {   # bench_need_build [FILE under the build...]
    local file
    for file in app/fluxwatch "$@"; do
        [[ -x "$build/$file" ]] || {
            echo "$me: $build/$file is missing: run deploy/build (with FLUXWATCH_BUILD_BENCH=ON, the default)" >&2
            exit 1
        }
    done
}

bench_need_tools() {
    local tool missing=()
    for tool in "$@"; do
        if [[ "$tool" == time ]]; then
            [[ -x /usr/bin/time ]] || missing+=("/usr/bin/time (package time)")
        else
            command -v "$tool" >/dev/null || missing+=("$tool")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "$me: missing: ${missing[*]}: run deploy/install-deps" >&2
        exit 1
    fi
}

# A Debug build measured here once halved the crawler's rate and made scoring 5x slower.
bench_check_build_type() {
    local type
    type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)"
    case "$type" in
        Release | RelWithDebInfo) ;;
        *) echo "$me: warning: $build is a '${type:-unknown}' build; benchmark an optimised one (deploy/build makes RelWithDebInfo)" >&2 ;;
    esac
}

bench_positive() {
    local n
    for n in "$@"; do
        [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "$me: '$n' is not a positive number" >&2; exit 2; }
    done
}

bench_start_nsd() {   # bench_start_nsd NAMES
    _bench_nsd=1
    "$src/bench/nsd-server.sh" start "$work/nsd" "$1" "$nsd_port" >/dev/null
}

bench_start_lab() {   # bench_start_lab DEFAULT_PORT
    export LAB_OUT="$work/lab" LAB_PORT="${BENCH_LAB_PORT:-$1}"
    export LAB_BLACKHOLE_PORT="${BENCH_LAB_BLACKHOLE_PORT:-$(($1 + 1))}"
    _bench_lab=1
    "$src/deploy/lab/start-lab.sh" >/dev/null
}

log() { [[ -t 2 ]] && printf '%s: %s\n' "$me" "$*" >&2 || true; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
now() { date +%s.%N; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", e - s }'; }
