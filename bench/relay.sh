#!/usr/bin/env bash
# Relay benchmark: straight to an authenticated tinyproxy vs through `holdfast relay` vs through
# privoxy, in one run (release build). Needs tinyproxy, privoxy, gnome-keyring, dbus (scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast --example relay_bench >&2
bin="$PWD/target/release/holdfast"
bench="$PWD/target/release/examples/relay_bench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The exit password lives in the OS keyring: give the run a private, unlocked one.
HOME="$tmp" XDG_DATA_HOME="$tmp/.local/share" XDG_RUNTIME_DIR="$tmp" dbus-run-session -- sh -c \
  'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0" "$1"' "$bench" "$bin"
