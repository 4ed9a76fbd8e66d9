#!/usr/bin/env bash
# Benchmark: `holdfast template list --json` over 10,000 templates, process start included,
# side by side with a baseline that does the least possible work for the same answer: the
# sqlite3 shell printing the same table as JSON. Prints both, the ratio, and the target check.
#   bench/template_list.sh [N]      (default N=10000; target: holdfast mean <= 50 ms)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
n="${1:-10000}"
target_ms=50

command -v hyperfine >/dev/null && command -v sqlite3 >/dev/null || scripts/setup.sh test
cargo build --release --locked -p holdfast --bin holdfast -q && cargo build --release --locked -p holdfast-core --example seed_templates -q
home=$(mktemp -d /tmp/holdfast-bench.XXXXXX)
trap 'rm -rf "$home"' EXIT
export HOLDFAST_HOME="$home"
target/release/examples/seed_templates "$n" >/dev/null
db="$home/holdfast.db"
bytes=$(target/release/holdfast template list --json | wc -c)
echo "seeded $n templates; list --json prints $bytes bytes"

out="$home/hyperfine.json"
hyperfine -N --warmup 5 --runs 40 --export-json "$out" \
  -n "baseline: sqlite3 -json" "sqlite3 -json $db 'SELECT * FROM templates ORDER BY name COLLATE NOCASE'" \
  -n "holdfast template list --json" "target/release/holdfast template list --json" >&2

python3 - "$out" "$target_ms" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
target = float(sys.argv[2])
base = res["baseline: sqlite3 -json"]
hf = res["holdfast template list --json"]
ms = lambda s: s * 1000
print(f"baseline  sqlite3 -json           mean {ms(base['mean']):6.1f} ms  median {ms(base['median']):6.1f} ms")
print(f"holdfast  template list --json    mean {ms(hf['mean']):6.1f} ms  median {ms(hf['median']):6.1f} ms  max {ms(hf['max']):6.1f} ms")
print(f"ratio holdfast/baseline (mean): {hf['mean'] / base['mean']:.2f}x")
ok = ms(hf["mean"]) <= target
print(f"target mean <= {target:.0f} ms: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
