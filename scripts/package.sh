#!/usr/bin/env bash
# Builds the Debian package of the desktop app (the same binary is the CLI) into
# dist/holdfast_<version>_<arch>.deb, with cargo-deb from [package.metadata.deb] in
# src-tauri/Cargo.toml. Installs what it needs first (scripts/setup.sh app; cargo-deb, ~2 min once).
#   scripts/package.sh           a release build, as run.sh builds it: the package operators install
#   scripts/package.sh --debug   a debug build (reuses the test suite's build; what CI tests)
# The version is the workspace's (Cargo.toml [workspace.package]).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '\033[1;34m[package]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[package] error:\033[0m %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
  "") profile=release; profile_dir=release; build_flags=(--release) ;;
  --debug) profile=dev; profile_dir=debug; build_flags=() ;;
  *) die "usage: scripts/package.sh [--debug]" ;;
esac

scripts/setup.sh app

# The packager is pinned: the package's layout and control fields come from it.
CARGO_DEB_VERSION=3.8.0
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  log "installing cargo-deb $CARGO_DEB_VERSION (cargo install, once)"
  cargo install cargo-deb --version "=$CARGO_DEB_VERSION" --locked -q
fi

read -r version target < <(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json, sys
m = json.load(sys.stdin)
print(next(p["version"] for p in m["packages"] if p["name"] == "holdfast"), m["target_directory"])')
deb="dist/holdfast_${version}_$(dpkg --print-architecture).deb"

log "building holdfast $version ($profile): the CLI-only build, then the desktop app"
# The CLI-only build goes to /usr/lib/holdfast/holdfast-cli: `holdfast launch` and `holdfast
# serve` hand over to it, so that a session's process maps no GTK or WebKit (src-tauri/src/lean.rs).
cargo build --locked "${build_flags[@]}" -p holdfast --bin holdfast
cp "$target/$profile_dir/holdfast" "$target/$profile_dir/holdfast-cli"
(cd ui && npm run -s build)
cargo build --locked "${build_flags[@]}" -p holdfast --features gui --bin holdfast

log "packaging $deb"
mkdir -p dist
rm -f "$deb"
# cargo-deb warns that a dev-profile package is not for release: it is not, it is what CI tests.
cargo deb -p holdfast --no-build --profile "$profile" --output "$deb" 2> >(grep -v 'dev profile is not supported\|cargo-deb is for making releases\|To enable debug symbols\|Cargo also supports custom profiles' >&2)
[ -f "$deb" ] || die "cargo deb made no $deb"
log "made $deb ($(du -h "$deb" | cut -f1)); install it with: sudo apt-get install ./$deb"
