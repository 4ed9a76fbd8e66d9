#!/usr/bin/env bash
# Guard benchmark: the latency the guard adds to requests in a real headless Chromium session —
# a non-matching request inside a risk window (target: not measurable above noise) and a
# matching one outside a window — against the same session without sensitive-action rules, in
# one run (release build).   bench/guard.sh [ROUNDS] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p holdfast --bin holdfast >&2
python3 bench/guard_latency.py "$PWD/target/release/holdfast" "${1:-3}" "${2:-300}"
