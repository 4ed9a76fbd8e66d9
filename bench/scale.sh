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
python3 bench/keyring_bus.py python3 bench/scale.py "$PWD/target/release/holdfast" "$ntp" "${1:-20}" "${2:-300}"
