#!/usr/bin/env bash
# The whole test suite: installs what is missing, then lint, types, unit, integration and
# end-to-end tests. Fails if any step fails, if the checked-in TypeScript bindings are stale,
# or if a test wrote outside its temp dirs (the user's data dir or keyring).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One build per run: incremental state only costs disk here (a CI run once ran out of it).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Each step's time and the total are printed as they end, and again as a table at the end.
source "$root/scripts/steps.sh"

# Build products live in a cache outside the clone, so a fresh clone of the same machine reuses
# the compiled dependencies (cargo's fingerprints decide what is stale; nothing else changes).
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ ! -e target ]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/holdfast/target"
  mkdir -p "$cache"
  ln -s "$cache" target
fi

step "setup"
scripts/setup.sh test

step "rustfmt"
cargo fmt --all -- --check

step "layers: imports in the core go downward through its floors"
python3 scripts/check-layers.py

step "UI: typecheck, lint, unit tests, build"
(cd ui && npm run -s typecheck && npm run -s lint && npm run -s test && npm run -s build)

step "clippy (core and CLI, then with the desktop shell)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --locked --features holdfast/gui -- -D warnings

# Everything below runs in a sentinel environment: a private session bus with its own keyring,
# and XDG dirs in a temp dir. Tests must use their own HOLDFAST_HOME and private keyrings; any
# write that lands in the sentinel's data dir or keyring is a hermeticity failure.
sentinel=$(mktemp -d /tmp/holdfast-sentinel.XXXXXX)
real_data="${XDG_DATA_HOME:-$HOME/.local/share}/holdfast"
snapshot() { [ -e "$real_data" ] && find "$real_data" -printf '%p %s %T@\n' | sort || echo absent; }
before=$(snapshot)
# Chromium may start the document portal on the private bus; its FUSE mount can outlive the bus
# for a moment.
cleanup() { fusermount -uz "$sentinel/cache/doc" 2>/dev/null || true; rm -rf "$sentinel" 2>/dev/null || true; }
trap cleanup EXIT

step "tests (in a sentinel session: private bus, keyring and XDG dirs)"
env -u HOLDFAST_HOME -u DISPLAY XDG_DATA_HOME="$sentinel/data" XDG_CONFIG_HOME="$sentinel/config" \
  XDG_CACHE_HOME="$sentinel/cache" SENTINEL="$sentinel" \
  dbus-run-session -- bash "$root/scripts/test-in-session.sh"

# Installs, upgrades and removes the system package holdfast (so outside the sentinel session;
# the test brings its own session, keyring and home).
step "package: build, install with apt-get, use, upgrade, remove"
if [ "${HOLDFAST_PACKAGE_TEST:-}" = skip ]; then
  echo "skipped (HOLDFAST_PACKAGE_TEST=skip)"
else
  scripts/test-package.sh
fi

step "fuzz: the bundle parser, ${HOLDFAST_FUZZ_SECONDS:-60} s"
scripts/fuzz.sh "${HOLDFAST_FUZZ_SECONDS:-60}"

step "hermeticity: nothing written to the user's data dir"
after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "FAIL: tests changed $real_data" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
echo "ok: $real_data unchanged"
steps_done
echo
echo "all checks passed"
