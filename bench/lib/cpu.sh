# cpu.sh - sourced by the bench scripts that compare CPU time rather than wall time (less
# sensitive to other sessions' load on a shared machine).
#
# tree_seconds ROOT: CPU seconds (user + system) of every process under ROOT and ROOT itself,
# each with the children it has reaped (cutime, cstime), e.g. the backends of finished psql
# sessions. /proc/PID/stat's second field may hold spaces ("nsd: server 1").
hz="$(getconf CLK_TCK)"
tree_seconds() {
    # cat, not awk FILE...: a process may exit between the glob and the read, and mawk stops at
    # a file it cannot open.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" -v hz="$hz" '
        { pid = $1; line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " ")
          parent[pid] = f[2]; cpu[pid] = f[12] + f[13] + f[14] + f[15] }
        END { tree[root] = 1
              for (grown = 1; grown;) {
                  grown = 0
                  for (p in parent) if (!(p in tree) && (parent[p] in tree)) { tree[p] = 1; grown = 1 }
              }
              for (p in tree) s += cpu[p]
              printf "%.2f", s / hz }'
}
