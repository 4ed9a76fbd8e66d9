#!/usr/bin/env bash
# Session memory benchmark: Holdfast's own memory per idle session, in separate `launch`
# processes and in one process keeping 1, 10, 20 sessions, beside the browsers' (release build).
# Needs chromium, chrony (scripts/setup.sh test).   bench/session_memory.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast >&2
tmp=$(mktemp -d)
. bench/ntp.sh
python3 bench/session_memory.py "$PWD/target/release/holdfast" "$ntp" "${1:-1}"
