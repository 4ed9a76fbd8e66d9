#!/usr/bin/env bash
# Health ingest benchmark: synthetic Chromium 156 DevTools events through Holdfast's whole
# session-layer path (parse, track, classify, attribute, batched SQLite writes) on one core,
# against parse-only and one-INSERT-per-request baselines in the same run (release build).
#   bench/health.sh [REQUESTS]   (6 events per request; default 50,000 requests)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast-core --example health_ingest_bench >&2
target/release/examples/health_ingest_bench "${1:-50000}"
