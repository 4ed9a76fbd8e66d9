#!/usr/bin/env bash
# Benchmark: `holdfast import` of a bundle of 10,000 templates into an empty home (validation of
# every field, the plan, one transaction), process start included, side by side with a baseline
# that does the least work for the same rows: the sqlite3 shell inserting the bundle's templates
# with json_each into the same schema, no validation. Prints both, the ratio, the target check.
#   bench/bundle_import.sh [N]      (default N=10000; target: holdfast mean <= 2 s)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
n="${1:-10000}"
target_ms=2000

command -v hyperfine >/dev/null && command -v sqlite3 >/dev/null || scripts/setup.sh test
cargo build --release --locked -p holdfast --bin holdfast -q
bin="$PWD/target/release/holdfast"
tmp=$(mktemp -d /tmp/holdfast-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

python3 - "$n" "$tmp/bundle.json" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Europe/Paris"]
locales = ["de-DE", "en-US", "ja-JP", "en-GB", "fr-FR"]
templates = []
for i in range(n):
    t = {"name": f"acct-{i:05d}", "account": f"user{i}@shop.example",
         "exit": "direct" if i % 3 == 0 else (f"http://u{i}@10.0.{i % 250}.1:3128" if i % 3 == 1 else f"socks5://u{i}@10.1.{i % 250}.1:1080"),
         "timezone": zones[i % 5], "locale": locales[i % 5],
         "start_urls": [f"https://shop.example/account/{i}"], "tags": ["bench", f"group-{i % 20}"],
         "notes": "imported by the benchmark"}
    if i % 4 == 0:
        t["pinned_egress_ip"] = f"203.0.113.{i % 250}"
    templates.append(t)
json.dump({"format": "holdfast-bundle", "version": 1, "exported_at": "2026-11-21T00:00:00Z", "templates": templates}, open(path, "w"))
PY
echo "bundle of $n templates: $(wc -c <"$tmp/bundle.json") bytes"

# An empty database with the schema, for the baseline.
HOLDFAST_HOME="$tmp/schema" "$bin" template list >/dev/null
cp "$tmp/schema/holdfast.db" "$tmp/empty.db"
cat >"$tmp/baseline.sql" <<SQL
BEGIN;
INSERT INTO templates (id, name, account, exit_kind, exit_url, pinned_egress_ip, timezone, locale,
                       start_urls, tags, notes, created_at, updated_at)
SELECT lower(hex(randomblob(16))), json_extract(value, '\$.name'), json_extract(value, '\$.account'),
       CASE WHEN json_extract(value, '\$.exit') = 'direct' THEN 'direct'
            WHEN json_extract(value, '\$.exit') LIKE 'http:%' THEN 'http' ELSE 'socks5' END,
       json_extract(value, '\$.exit'), json_extract(value, '\$.pinned_egress_ip'),
       json_extract(value, '\$.timezone'), json_extract(value, '\$.locale'),
       json_extract(value, '\$.start_urls'), json_extract(value, '\$.tags'),
       json_extract(value, '\$.notes'), strftime('%Y-%m-%dT%H:%M:%fZ'), strftime('%Y-%m-%dT%H:%M:%fZ')
FROM json_each(readfile('$tmp/bundle.json'), '\$.templates');
COMMIT;
SQL

out="$tmp/hyperfine.json"
hyperfine -N --warmup 1 --runs 10 --export-json "$out" \
  --prepare "rm -f $tmp/b.db $tmp/b.db-wal $tmp/b.db-shm" --prepare "rm -rf $tmp/home" \
  -n "baseline: sqlite3 json_each insert" "sh -c 'cp $tmp/empty.db $tmp/b.db && sqlite3 $tmp/b.db < $tmp/baseline.sql'" \
  -n "holdfast import" "env HOLDFAST_HOME=$tmp/home $bin import $tmp/bundle.json" >&2

count=$(HOLDFAST_HOME="$tmp/home" "$bin" template list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "imported templates in the last run: $count"
[ "$count" = "$n" ] || { echo "FAIL: expected $n templates" >&2; exit 1; }

python3 - "$out" "$target_ms" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
target = float(sys.argv[2])
base = res["baseline: sqlite3 json_each insert"]
hf = res["holdfast import"]
ms = lambda s: s * 1000
print(f"baseline  sqlite3 json_each insert  mean {ms(base['mean']):7.1f} ms  median {ms(base['median']):7.1f} ms")
print(f"holdfast  import                    mean {ms(hf['mean']):7.1f} ms  median {ms(hf['median']):7.1f} ms  max {ms(hf['max']):7.1f} ms")
print(f"ratio holdfast/baseline (mean): {hf['mean'] / base['mean']:.2f}x")
ok = ms(hf["mean"]) <= target
print(f"target mean <= {target:.0f} ms: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
