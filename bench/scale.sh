#!/usr/bin/env bash
# Scale run: SESSIONS headless sessions through real tinyproxy exits (passwords in a private,
# unlocked keyring), polling a loopback site for DURATION seconds: Holdfast's CPU share and
# memory, health rows against the site's own count (release build). Needs chromium, tinyproxy,
# chrony, gnome-keyring, dbus (scripts/setup.sh test).   bench/scale.sh [SESSIONS] [DURATION_S]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast >&2
tmp=$(mktemp -d)
. bench/ntp.sh
HOME="$tmp" XDG_DATA_HOME="$tmp/.local/share" XDG_RUNTIME_DIR="$tmp" dbus-run-session -- sh -c \
  'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec python3 "$@"' \
  sh bench/scale.py "$PWD/target/release/holdfast" "$ntp" "${1:-20}" "${2:-300}"
