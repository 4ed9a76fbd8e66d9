#!/usr/bin/env bash
# Launch benchmark: `holdfast launch` to CDP-ready (with its clock and egress preflight against
# loopback servers) vs bare Chromium with a fresh profile to DevToolsActivePort, in one run
# (release build). Needs chromium, chrony (scripts/setup.sh test).   bench/launch.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast --example launch_bench >&2
tmp=$(mktemp -d)
chronyd_pid() { cat "$tmp/chronyd.pid" 2>/dev/null || true; }
trap 'p=$(chronyd_pid); [ -n "$p" ] && kill "$p" 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/chrony.conf" <<CONF
port $port
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
user root
bindcmdaddress /
driftfile $tmp/drift
pidfile $tmp/chronyd.pid
CONF
chronyd -x -f "$tmp/chrony.conf"   # forks; stopped through its pid file
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
HOLDFAST_NTP_SERVERS="127.0.0.1:$port" target/release/examples/launch_bench "$PWD/target/release/holdfast" "$chromium" "${1:-20}"
