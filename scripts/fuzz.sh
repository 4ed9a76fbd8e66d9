#!/usr/bin/env bash
# Runs the bundle-parser fuzz target for a bounded time (default 60 s): `scripts/fuzz.sh [SECONDS]`.
# cargo-fuzz needs nightly compiler flags (-Z sanitizer); RUSTC_BOOTSTRAP lets the one stable
# toolchain of this machine accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
# Build products in the user's cache, like the main build (scripts/test.sh), so a fresh clone
# reuses the instrumented dependencies.
target="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/holdfast/fuzz-target}"
cd fuzz
RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$target" bundle_parse "$corpus" seeds/bundle_parse -- \
  -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1
