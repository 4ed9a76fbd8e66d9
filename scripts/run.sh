#!/usr/bin/env bash
# Builds and starts the Holdfast desktop app, installing what is missing first.
# Data: $HOLDFAST_HOME if set, else ~/.local/share/holdfast. Extra arguments go to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh app
(cd ui && npm run -s build)
cargo build --release --locked -p holdfast --features gui --bin holdfast
bin=target/release/holdfast
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "[run] no display found: starting the app on a virtual X server (xvfb-run)." >&2
  echo "[run] the CLI works without one: $bin template list" >&2
  exec xvfb-run -a -s "-screen 0 1280x800x24" "$bin" "$@"
fi
exec "$bin" "$@"
