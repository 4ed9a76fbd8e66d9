#!/usr/bin/env bash
# Runs inside `dbus-run-session` from scripts/test.sh, with XDG dirs pointing into $SENTINEL.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/steps.sh

# The sentinel keyring: a real, unlocked Secret Service on this private bus. A test that forgot
# its own keyring would write here, and the check below catches it.
mkdir -p "$SENTINEL/home"
printf sentinel | HOME="$SENTINEL/home" XDG_RUNTIME_DIR= gnome-keyring-daemon --daemonize --unlock --components=secrets >/dev/null

step "Rust tests (also regenerates the TypeScript bindings)"
cargo nextest run --locked --no-fail-fast

step "the default build is CLI-only: no GTK or WebKit linked"
if ldd target/debug/holdfast | grep -E 'libgtk|libwebkit|libjavascriptcore'; then
  echo "FAIL: the default (no gui feature) holdfast binary links GUI libraries" >&2
  exit 1
fi
echo "ok: $(ldd target/debug/holdfast | wc -l) shared libraries, none of them GTK/WebKit"

step "generated files are up to date (TypeScript bindings and command client, capability, permissions)"
if [ -n "$(git status --porcelain -- ui/src/bindings src-tauri/capabilities src-tauri/permissions)" ]; then
  echo "FAIL: the generated TypeScript bindings, command client or capability differ from the Rust sources; run 'cargo test' and a --features holdfast/gui build, and commit them:" >&2
  git status --porcelain -- ui/src/bindings src-tauri/capabilities src-tauri/permissions >&2
  git --no-pager diff --stat -- ui/src/bindings src-tauri/capabilities src-tauri/permissions >&2
  exit 1
fi
echo "ok: bindings match the Rust types"

step "end-to-end: the real app under Xvfb through tauri-driver + WebKitWebDriver"
cargo build --locked -p holdfast --features gui --bin holdfast && cargo build --locked -p holdfast-core --example seed_templates
.venv-e2e/bin/pytest -q tests/e2e

step "hermeticity: nothing written to the sentinel data dir, config/cache dirs or keyring"
leaks=0
if [ -e "$XDG_DATA_HOME/holdfast" ]; then
  echo "FAIL: a test used the default data dir ($XDG_DATA_HOME/holdfast) instead of its own HOLDFAST_HOME" >&2
  leaks=1
fi
for d in "$XDG_CONFIG_HOME/chromium" "$XDG_CACHE_HOME/chromium"; do
  if [ -e "$d" ]; then
    echo "FAIL: a browser launched by a test wrote to the sentinel's $d instead of its temp home" >&2
    leaks=1
  fi
done
if secret-tool search --all service holdfast 2>&1 | grep -q .; then
  echo "FAIL: a test wrote to the session keyring instead of its own private one:" >&2
  secret-tool search --all service holdfast >&2 || true
  leaks=1
fi
[ "$leaks" = 0 ] && echo "ok: sentinel data dir and keyring untouched"
steps_done
exit "$leaks"
