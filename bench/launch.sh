#!/usr/bin/env bash
# Launch benchmark: `holdfast launch` to its line (with its clock and egress preflight against
# loopback servers) vs bare Chromium to its first DevTools answer and to DevToolsActivePort, in
# one run, with Holdfast's per-step breakdown (release build). Needs chromium, chrony
# (scripts/setup.sh test).   bench/launch.sh [ROUNDS]   (BENCH_EXIT_DELAY_MS=N: the echo answers N ms late,
# as through a distant exit)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast --example launch_bench >&2
tmp=$(mktemp -d)
. bench/ntp.sh
chromium=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
HOLDFAST_NTP_SERVERS="$ntp" target/release/examples/launch_bench "$PWD/target/release/holdfast" "$chromium" "${1:-20}"
