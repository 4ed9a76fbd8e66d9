#!/usr/bin/env bash
# Automation API benchmark (release build): start -> ws_endpoint through the API vs
# `holdfast launch --json --cdp`; GET /v1/sessions requests/s with SESSIONS running; serve's idle
# memory. Needs chromium (scripts/setup.sh).   bench/api.sh [ROUNDS] [SESSIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p holdfast --bin holdfast -q
python3 bench/api.py "$PWD/target/release/holdfast" "${1:-10}" "${2:-100}"
