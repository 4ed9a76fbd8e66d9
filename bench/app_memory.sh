#!/usr/bin/env bash
# The desktop app's memory (release build) against a bare Tauri 2 window built in the same run:
# PSS of the window's process and its WebKit processes, idle with 30 and 1,000 templates and with
# 10 and 20 running sessions. Needs the desktop libraries, Xvfb and gnome-keyring (scripts/setup.sh test).
#   bench/app_memory.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
(cd ui && npm run -s build)
cargo build --release --locked -p holdfast --features gui --bin holdfast --example bare_window -q
cargo build --release --locked -p holdfast-core --example seed_templates -q
python3 bench/app_memory.py "$PWD/target/release/holdfast" "$PWD/target/release/examples/bare_window" \
  "$PWD/target/release/examples/seed_templates" "${1:-3}"
