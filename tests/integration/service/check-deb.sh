#!/usr/bin/env bash
# check-deb.sh BUILD_DIR VERSION: builds the Debian package with cpack, unpacks it with
# dpkg-deb -x and checks what a user gets: the binary runs (--version) and reads the
# installed example config, the units point at /usr/bin/fluxwatch, the man page, bash
# completion and licence are there, and the package depends on its shared libraries.
set -euo pipefail
build="$1"
version="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-deb: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb="$(ls "$work"/out/*.deb)"
dpkg-deb -x "$deb" "$work/root"
root="$work/root"

installed="$("$root/usr/bin/fluxwatch" --version)"
[ "$installed" = "$version" ] || fail "--version says '$installed', expected '$version'"
"$root/usr/bin/fluxwatch" --config "$root/etc/fluxwatch/config.yaml" config >/dev/null ||
    fail "the installed example config does not load"

depends="$(dpkg-deb -f "$deb" Depends)"
for dep in libc-ares2 libpqxx libmaxminddb0 libcurl postgresql-client; do
    grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
for file in usr/lib/systemd/system/fluxwatch-run@.service \
            usr/lib/systemd/system/fluxwatch-score.timer \
            usr/lib/sysusers.d/fluxwatch.conf \
            usr/share/man/man1/fluxwatch.1 \
            usr/share/bash-completion/completions/fluxwatch \
            usr/share/doc/fluxwatch/copyright \
            usr/share/doc/fluxwatch/README.md \
            usr/share/doc/fluxwatch/examples/fluxwatch.rules.yml \
            etc/fluxwatch/config.yaml; do
    [ -s "$root/$file" ] || fail "$file missing from the package"
done
grep -q '^ExecStart=/usr/bin/fluxwatch run --campaign %i' \
    "$root/usr/lib/systemd/system/fluxwatch-run@.service" || fail "ExecStart not /usr/bin/fluxwatch"
grep -q "Apache License" "$root/usr/share/doc/fluxwatch/copyright" || fail "licence text missing"
contents="$(dpkg-deb -c "$deb")"
grep -q ' ./etc/fluxwatch/config.yaml$' <<<"$contents" || fail "config not in the package"
dpkg-deb -e "$deb" "$work/control"
grep -q '^/etc/fluxwatch/config.yaml$' "$work/control/conffiles" 2>/dev/null ||
    fail "/etc/fluxwatch/config.yaml is not a conffile"
echo "check-deb: $(basename "$deb") ok (Depends: $depends)"
