# Sourced by benchmarks: starts chronyd as an SNTP server on a free loopback port, sets $ntp
# ("127.0.0.1:PORT") and stops it on exit. Needs $tmp (a scratch directory) and chrony.
ntp_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/chrony.conf" <<CONF
port $ntp_port
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
ntp="127.0.0.1:$ntp_port"
stop_ntp() { local p; p=$(cat "$tmp/chronyd.pid" 2>/dev/null || true); [ -n "$p" ] && kill "$p" 2>/dev/null; rm -rf "$tmp"; }
trap stop_ntp EXIT
