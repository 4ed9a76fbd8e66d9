#!/usr/bin/env bash
# What asking where the exit is costs a check (and so a launch's preflight): `holdfast check`
# with the IP-info lookup off and on, through a real tinyproxy on loopback, side by side in one
# run (release build). Needs tinyproxy (scripts/setup.sh test).   bench/geo.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast >&2
python3 bench/geo.py "$PWD/target/release/holdfast" "${1:-20}"
