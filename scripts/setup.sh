#!/usr/bin/env bash
# Installs what Holdfast needs and is missing; safe to run again (it only installs what is absent).
#   scripts/setup.sh app    what the desktop app needs to build and run
#   scripts/setup.sh test   that, plus what the test suite and benchmarks need
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: install the apt packages listed in scripts/setup.sh by hand"
  SUDO="sudo"
fi

# Build and run: Tauri 2 on WebKitGTK 4.1, the Secret Service client (libdbus), Node for the UI,
# and Chromium (the browser Holdfast launches).
APP_PKGS=(build-essential pkg-config file libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev
  librsvg2-dev libsoup-3.0-dev libxdo-dev libayatana-appindicator3-dev libdbus-1-dev
  nodejs npm python3 xvfb xauth chromium)
# Tests: a real X server, the WebKit WebDriver, a real keyring on a private bus, screenshots,
# keystrokes into the app's native file dialog (xdotool), a notification daemon (dunst), the benchmark's tools, and real servers on loopback: proxies, NTP (chrony, skewed with
# faketime), STUN (coturn). Installing chrony replaces systemd-timesyncd; no service is started.
TEST_PKGS=(webkit2gtk-driver gnome-keyring libsecret-tools dbus x11-apps imagemagick
  python3-venv sqlite3 xdotool hyperfine tinyproxy dante-server privoxy iproute2 procps
  chrony faketime coturn postgresql openssl chromium-driver dunst)

pkgs=("${APP_PKGS[@]}")
[ "$what" = test ] && pkgs+=("${TEST_PKGS[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere than apt (nvm, NodeSource, the image): do not fight it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
# python3 from pyenv or the image is fine too, as long as it has venv.
if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv/}"); missing=("${missing[@]/python3/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || die "apt-get not found; install these packages by hand: ${missing[*]}"
  log "installing apt packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rust: the toolchain comes from rustup.
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  command -v curl >/dev/null || $SUDO apt-get install -y -qq curl >/dev/null
  log "installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# Node: Vite 8 needs Node >= 20.19.
node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)')
[ "$node_ok" = 1 ] || die "Node $(node --version) is too old: the UI build needs Node >= 20.19 (e.g. from NodeSource or nvm)"

# UI dependencies, from the lock file; reinstalled only when the lock file changed.
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  log "installing UI packages (npm ci)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$what" = test ]; then
  command -v cargo-nextest >/dev/null || { log "installing cargo-nextest"; cargo install cargo-nextest --locked -q; }
  command -v tauri-driver >/dev/null || { log "installing tauri-driver"; cargo install tauri-driver --locked -q; }
  command -v cargo-fuzz >/dev/null || { log "installing cargo-fuzz"; cargo install cargo-fuzz --locked -q; }
  # Python WebDriver client for the end-to-end test, in a venv of its own.
  if [ ! -x .venv-e2e/bin/pytest ] || ! .venv-e2e/bin/python -c 'import selenium, playwright, mcp, schemathesis' 2>/dev/null; then
    log "creating .venv-e2e (selenium, pytest, playwright, mcp, schemathesis)"
    python3 -m venv .venv-e2e
    .venv-e2e/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
  fi
  # Puppeteer for the API examples the tests run (puppeteer-core downloads no browser).
  if [ ! -f examples/api/node_modules/.package-lock.json ] || [ examples/api/package-lock.json -nt examples/api/node_modules/.package-lock.json ]; then
    log "installing the API examples' packages (npm ci)"
    (cd examples/api && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # dante checks SOCKS5 passwords against system users: a login-less test user. SHA-512 rather
  # than the default yescrypt, which would cost ~13 ms per tunnel in the relay tests.
  if ! id holdfast-test >/dev/null 2>&1; then
    log "creating the SOCKS5 test user holdfast-test (no home, no login shell)"
    $SUDO useradd --no-create-home --shell /usr/sbin/nologin holdfast-test
  fi
  echo 'holdfast-test:hf-socks-test-pw' | $SUDO chpasswd -c SHA512
  # PostgreSQL refuses to run as root: the team store tests run their servers as this user.
  if [ "$(id -u)" = 0 ] && ! id holdfast-pg >/dev/null 2>&1; then
    log "creating the PostgreSQL test user holdfast-pg (no home, no login shell)"
    useradd --system --no-create-home --shell /usr/sbin/nologin holdfast-pg
  fi
fi
log "ready ($what)"
