#!/usr/bin/env bash
# The installed package's session memory: an idle `holdfast launch` from /usr/bin/holdfast (which
# hands over to the CLI-only build, /usr/lib/holdfast/holdfast-cli) beside the same desktop binary
# copied where no CLI-only build sits beside it (so the session runs in the GTK/WebKit binary),
# in one run; prints RSS, PSS and the ratio. Installs the package and purges it at the end: needs
# root or sudo, and a machine where holdfast is not installed otherwise.
#   bench/package_session_memory.sh [DEB] [SETTLE_SECS]   (default: dist/holdfast_*.deb, 10 s)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
deb=$(realpath "${1:-$(ls dist/holdfast_*.deb | tail -1)}")
settle=${2:-10}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if dpkg-query -W -f='${db:Status-Status}' holdfast 2>/dev/null | grep -qx installed; then
  echo "holdfast is installed on this machine; this benchmark installs and purges it" >&2
  exit 1
fi
work=$(mktemp -d)
cleanup() {
  [ -z "${site:-}" ] || kill "$site" 2>/dev/null || true
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq holdfast >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null

export HOLDFAST_HOME="$work/home" HOME="$work/user" HOLDFAST_NTP_SERVERS=127.0.0.1:9 HOLDFAST_GEO_URLS=off
python3 tests/e2e/testsite.py >"$work/port" &
site=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
export HOLDFAST_ECHO_URLS="http://127.0.0.1:$(cat "$work/port")/ip"
holdfast template add packaged >/dev/null
holdfast template add in-gui >/dev/null
mkdir -p "$work/gui/bin" && cp /usr/bin/holdfast "$work/gui/bin/holdfast"
# --force: no NTP server here; the sessions are otherwise ordinary headless launches.
holdfast launch packaged --headless --force --json >"$work/a.json" 2>/dev/null &
a=$!
"$work/gui/bin/holdfast" launch in-gui --headless --force --json >"$work/b.json" 2>/dev/null &
b=$!
for _ in $(seq 300); do [ -s "$work/a.json" ] && [ -s "$work/b.json" ] && break; sleep 0.1; done
[ -s "$work/a.json" ] && [ -s "$work/b.json" ] || { echo "a launch did not start" >&2; exit 1; }
sleep "$settle"
kb() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
printf '%-34s %9s %9s  %s\n' "session process ($settle s idle)" "RSS kB" "PSS kB" "GTK/WebKit maps"
for p in $b $a; do
  printf '%-34s %9s %9s  %s\n' "$(readlink "/proc/$p/exe" | sed "s|$work|<tmp>|")" "$(kb "/proc/$p/status" VmRSS:)" \
    "$(kb "/proc/$p/smaps_rollup" Pss:)" "$(grep -cE 'libgtk|libwebkit' "/proc/$p/maps" || true)"
done
python3 -c 'import sys; a, b = map(int, sys.argv[1:]); print(f"ratio (CLI-only / desktop binary), RSS: {a / b:.2f}x")' \
  "$(kb "/proc/$a/status" VmRSS:)" "$(kb "/proc/$b/status" VmRSS:)"
holdfast stop packaged >/dev/null
holdfast stop in-gui >/dev/null
wait "$a" "$b" 2>/dev/null || true
