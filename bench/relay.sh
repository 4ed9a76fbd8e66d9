#!/usr/bin/env bash
# Relay benchmark: straight to an authenticated tinyproxy vs through `holdfast relay` vs through
# privoxy, in one run (release build). Needs tinyproxy, privoxy, gnome-keyring, dbus (scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast --example relay_bench >&2
bin="$PWD/target/release/holdfast"
bench="$PWD/target/release/examples/relay_bench"
# The exit password lives in the OS keyring: give the run a private, unlocked one.
python3 bench/keyring_bus.py "$bench" "$bin"
