#!/usr/bin/env bash
# Team store benchmark on a real PostgreSQL started here (initdb + pg_ctl on a loopback port, as
# the user holdfast-pg when run as root):
#   1. lease take + release beside a bare SELECT 1 on the same pool;
#   2. `template list --json` of 10,000 templates in a home of a team (pull + this home's copy)
#      beside the same list in a local-only home (target: <= 2x and <= 100 ms);
#   3. 50 simulated members racing for 100 accounts through the real lease functions, checked
#      for two holders of one account at once from the fencing epochs (must be 0).
#   bench/team.sh [SECONDS]     (contention phase length, default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${1:-60}"
n=10000
command -v hyperfine >/dev/null && [ -d /usr/lib/postgresql ] || scripts/setup.sh test
cargo build --release --locked -p holdfast --bin holdfast -q
cargo build --release --locked -p holdfast-core --example seed_templates --example team_bench -q
bin="$PWD/target/release/holdfast"
tmp=$(mktemp -d /tmp/holdfast-team-bench.XXXXXX)
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u holdfast-pg -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown holdfast-pg "$tmp"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
stop_pg() { as_pg "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap stop_pg EXIT
echo -n owner-pw >"$tmp/pw"; [ "$(id -u)" = 0 ] && chown holdfast-pg "$tmp/pw"
as_pg "$pgbin/initdb" -D "$tmp/data" -U owner --pwfile="$tmp/pw" --auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
as_pg "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c max_connections=200" start >/dev/null
PGPASSWORD=owner-pw "$pgbin/psql" -h 127.0.0.1 -p "$port" -U owner -d postgres -qc "CREATE DATABASE team" -c "CREATE DATABASE leases" >/dev/null
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync on; max_connections 200 for 50 members)"

# 1 and 3: through the core's team store functions, in their own database.
target/release/examples/team_bench "postgres://owner@127.0.0.1:$port/leases?sslmode=disable" owner-pw "$seconds"

# 2: two homes with the same 10,000 templates, one local, one in a team (private keyring).
export TEAM_URL="postgres://owner@127.0.0.1:$port/team?sslmode=disable"
python3 bench/keyring_bus.py bash -c '
  set -euo pipefail
  tmp="$1"; bin="$2"; n="$3"
  HOLDFAST_HOME="$tmp/local" target/release/examples/seed_templates "$n" >/dev/null
  HOLDFAST_HOME="$tmp/owner" target/release/examples/seed_templates "$n" >/dev/null
  printf "team-bench-passphrase\nowner-pw\n" | HOLDFAST_HOME="$tmp/owner" "$bin" team init "$TEAM_URL" \
    --name owner --passphrase-stdin --db-password-stdin >/dev/null
  t0=$(date +%s.%N)
  printf "team-bench-passphrase\nowner-pw\n" | HOLDFAST_HOME="$tmp/member" "$bin" team join "$TEAM_URL" \
    --name member --passphrase-stdin --db-password-stdin >/dev/null
  echo "join pulled $n templates in $(python3 -c "print(f\"{$(date +%s.%N) - $t0:.2f}\")") s"
  hyperfine -N --warmup 5 --runs 30 --export-json "$tmp/list.json" \
    -n local "env HOLDFAST_HOME=$tmp/local $bin template list --json" \
    -n team "env HOLDFAST_HOME=$tmp/member $bin template list --json" >&2
' _ "$tmp" "$bin" "$n"
python3 - "$tmp/list.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
local, team = r["local"]["mean"] * 1000, r["team"]["mean"] * 1000
print(f"template list --json, {10000} templates, process start included (hyperfine, 30 runs):")
print(f"  local SQLite home   mean {local:6.1f} ms  median {r['local']['median']*1000:6.1f} ms")
print(f"  team home           mean {team:6.1f} ms  median {r['team']['median']*1000:6.1f} ms  (pull of what changed + this home's copy)")
ratio = team / local
ok = ratio <= 2 and team <= 100
print(f"  ratio team/local    {ratio:.2f}x; target <= 2x and <= 100 ms: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
