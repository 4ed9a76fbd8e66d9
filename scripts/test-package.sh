#!/usr/bin/env bash
# Tests the Debian package on this machine, as an operator uses it: builds it (scripts/package.sh
# --debug, which reuses the test suite's build) and a second one with the next patch version and a
# new migration; installs the first with apt-get, uses the CLI and the app (from its desktop entry,
# under Xvfb), upgrades to the second and checks that templates, keyring entries and profiles are
# kept and the migration ran, then removes it and checks the data is still there.
# It installs and removes the system package `holdfast`: it needs root or sudo, and refuses to run
# where holdfast is already installed (outside CI). Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$HOME/.cargo/bin:$PATH"

source scripts/steps.sh
fail() { printf '\033[1;31mFAIL:\033[0m %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 "$@"; }
installed_version() { dpkg-query -W -f='${db:Status-Status} ${Version}' holdfast 2>/dev/null | sed -n 's/^installed //p'; }

# Set while this test has the package installed: one left by an interrupted run is purged, an
# operator's own installation is not touched.
marker=/var/tmp/holdfast-package-test.installed
if [ -n "$(installed_version)" ]; then
  [ -e "$marker" ] || [ -n "${CI:-}" ] || fail "the package holdfast $(installed_version) is installed on this machine; this test installs and removes it. Remove it first (sudo apt-get remove holdfast) or skip this step with HOLDFAST_PACKAGE_TEST=skip"
  apt_get purge -y -qq holdfast >/dev/null
fi

work=$(mktemp -d /tmp/holdfast-package.XXXXXX)
cleanup() {
  [ -z "$(installed_version)" ] || apt_get purge -y -qq holdfast >/dev/null 2>&1 || true
  [ -n "$(installed_version)" ] || $SUDO rm -f "$marker"
  [ -z "${site_pid:-}" ] || kill "$site_pid" 2>/dev/null || true
  if [ -n "${bus_pid:-}" ]; then
    # The keyring and any service the bus started carry its address in their environment.
    for env in /proc/[0-9]*/environ; do
      pid=${env#/proc/}; pid=${pid%/environ}
      [ "$pid" != $$ ] && grep -qzx "DBUS_SESSION_BUS_ADDRESS=unix:path=$work/bus.*" "$env" 2>/dev/null &&
        kill "$pid" 2>/dev/null || true
    done
    kill "$bus_pid" 2>/dev/null || true
  fi
  fusermount -uz "$work/user/.cache/doc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

meta=$(cargo metadata --format-version 1 --no-deps --locked)
read -r version target < <(python3 -c 'import json, sys
m = json.load(sys.stdin)
print(next(p["version"] for p in m["packages"] if p["name"] == "holdfast"), m["target_directory"])' <<<"$meta")
next=$(python3 -c 'import sys; a, b, c = sys.argv[1].split("."); print(f"{a}.{b}.{int(c) + 1}")' "$version")
arch=$(dpkg --print-architecture)
deb="$root/dist/holdfast_${version}_${arch}.deb"
# The next version's tree sits at the same path in every run, so that its build products replace
# the last run's instead of piling up in the shared build cache.
next_src="$target/package-test/next"
next_deb="$next_src/dist/holdfast_${next}_${arch}.deb"

step "package: build holdfast $version (debug build)"
scripts/package.sh --debug

step "package: build holdfast $next (the same tree, next version, one more migration)"
# A copy of the tracked files with the version bumped; it shares this build cache, so only the
# workspace's own crates are rebuilt.
rm -rf "$next_src" && mkdir -p "$next_src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp -p --parents -t "$next_src"
ln -s "$root/ui/node_modules" "$next_src/ui/node_modules"
python3 - "$next_src/Cargo.toml" "$version" "$next" <<'EOF'
import re, sys
path, old, new = sys.argv[1:]
text = open(path).read()
text, n = re.subn(rf'(\[workspace\.package\][^\[]*?version = )"{re.escape(old)}"', rf'\1"{new}"', text)
assert n == 1, "no version in [workspace.package]"
open(path, "w").write(text)
EOF
cat >"$next_src/migrations/0999_package_upgrade_check.sql" <<'EOF'
-- Only in the package test's second package: proves that the upgraded app migrates on first start.
CREATE TABLE package_upgrade_check (id INTEGER PRIMARY KEY);
EOF
(cd "$next_src" && cargo update -w --offline -q && CARGO_TARGET_DIR="$target" scripts/package.sh --debug)
[ -f "$next_deb" ] || fail "no $next_deb"

step "package: control fields and contents"
field() { dpkg-deb -f "$deb" "$1"; }
names() { field "$1" | tr ',' '\n' | awk '{print $1}'; }
[ "$(field Package)" = holdfast ] || fail "Package is $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version $(field Version) is not the workspace's $version"
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libdbus-1-3; do
  names Depends | grep -qx "$dep" || fail "Depends lacks $dep: $(field Depends)"
done
for rec in chromium gnome-keyring; do
  names Recommends | grep -qx "$rec" || fail "Recommends lacks $rec: $(field Recommends)"
done
ok "holdfast $version: Depends: $(field Depends); Recommends: $(field Recommends)"
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
outside=$(grep -v '^\./usr/' <<<"$files" | grep -vx '\./usr/' || true)
[ -z "$outside" ] || fail "the package installs outside /usr: $outside"
for f in ./usr/bin/holdfast ./usr/lib/holdfast/holdfast-cli ./usr/share/applications/holdfast.desktop; do
  grep -qx "$f" <<<"$files" || fail "the package lacks $f"
done
for s in 16 24 32 48 64 128 256 512; do
  grep -qx "./usr/share/icons/hicolor/${s}x${s}/apps/holdfast.png" <<<"$files" || fail "no ${s}x${s} icon"
done
ok "$(wc -l <<<"$files") paths, all under /usr: the binary and its CLI-only build, the menu entry, icons 16 to 512 px, the copyright"

# Every library the binary links comes with a package that Depends pulls in.
mkdir "$work/unpacked" && dpkg-deb -x "$deb" "$work/unpacked"
libs=$(ldd "$work/unpacked/usr/bin/holdfast" | awk '$3 ~ /^\// {print $3}')
deps=$(names Depends)
# shellcheck disable=SC2086 # one package name per word
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $deps | grep -v '^ ' | sed 's/:.*//' | sort -u)
# dpkg knows a library by one of its paths: the name ldd shows, its target, or either with or
# without /usr (merged /usr). One dpkg -S for all of them.
missing=$(python3 - "$closure" $libs <<'PY'
import os, subprocess, sys
closure, libs = set(sys.argv[1].split()), sys.argv[2:]
paths = {lib: [lib, os.path.realpath(lib), "/usr" + lib, lib.removeprefix("/usr")] for lib in libs}
out = subprocess.run(["dpkg", "-S", *{p for ps in paths.values() for p in ps}], capture_output=True, text=True).stdout
owner = {}
for line in out.splitlines():
    pkgs, _, path = line.partition(": ")
    if not line.startswith("diversion"):
        owner[path] = pkgs.split(",")[0].split(":")[0].strip()
for lib, ps in paths.items():
    pkg = next((owner[p] for p in ps if p in owner), "")
    if pkg not in closure:
        print(f"{lib}({pkg or 'no package'})", end=" ")
PY
)
[ -z "$missing" ] || fail "linked libraries not pulled in by Depends: $missing"
ok "$(wc -l <<<"$libs") linked libraries, all from packages that Depends pulls in"

step "package: install $version with apt-get"
before="$work/before-install"
touch "$before"
$SUDO touch "$marker"
apt_get install -y -q "$deb" | tail -3
[ "$(installed_version)" = "$version" ] || fail "holdfast $version is not installed: $(installed_version)"
[ "$(command -v holdfast)" = /usr/bin/holdfast ] || fail "holdfast on PATH is $(command -v holdfast)"
[ "$(holdfast --version)" = "holdfast $version (desktop app included)" ] || fail "holdfast --version: $(holdfast --version)"
outside=$(dpkg -L holdfast | grep -v '^/usr' | grep -vx '/\.' || true)
[ -z "$outside" ] || fail "installed outside /usr: $outside"
touched=$(find "$HOME" -newer "$before" 2>/dev/null | head -5)
[ -z "$touched" ] || fail "installing wrote under $HOME: $touched"
ok "$(holdfast --version) at /usr/bin/holdfast; nothing written under $HOME"

# An operator's home: the default data dir (~/.local/share/holdfast), a real keyring.
user="$work/user"
mkdir -p "$user"
export HOME="$user" XDG_CONFIG_HOME="$user/.config" XDG_CACHE_HOME="$user/.cache"
unset HOLDFAST_HOME XDG_DATA_HOME
export HOLDFAST_NTP_SERVERS=127.0.0.1:9 HOLDFAST_GEO_URLS=off
data="$user/.local/share/holdfast"
# A private session bus (its chatter goes to a log) with a real unlocked keyring whose files live
# in that home. Cleanup stops whatever runs on it (Chromium may have it start a document portal).
{ read -r DBUS_SESSION_BUS_ADDRESS; read -r bus_pid; } < <(dbus-daemon --session --fork --print-address=1 \
  --print-pid=1 --address="unix:path=$work/bus" 2>>"$work/dbus.log")
export DBUS_SESSION_BUS_ADDRESS
printf 'pkg-test-unlock' | XDG_RUNTIME_DIR='' gnome-keyring-daemon --daemonize --unlock --components=secrets >/dev/null

step "package: the installed CLI keeps templates, a keyring entry and a profile"
printf 'Pkg-S3cret' | holdfast template add acct-a --exit http://pkg@127.0.0.1:9 --exit-password-stdin \
  --timezone Europe/Berlin --locale de-DE --tag pkg >/dev/null
holdfast template add acct-b >/dev/null
list_before=$(holdfast template list --json)
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$list_before")" = 2 ] || fail "template list: $list_before"
id_a=$(python3 -c 'import json,sys; print(next(t["id"] for t in json.load(sys.stdin) if t["name"] == "acct-a"))' <<<"$list_before")
id_b=$(python3 -c 'import json,sys; print(next(t["id"] for t in json.load(sys.stdin) if t["name"] == "acct-b"))' <<<"$list_before")
[ "$(secret-tool lookup service holdfast username "exit:$id_a")" = Pkg-S3cret ] || fail "no keyring entry for acct-a"
# A real launch makes the profile: headless Chromium without an exit, its egress checked against
# the local test site; --force because the clock check has no NTP server here. Stop ends it.
python3 tests/e2e/testsite.py >"$work/site.port" &
site_pid=$!
for _ in $(seq 100); do [ -s "$work/site.port" ] && break; sleep 0.05; done
[ -s "$work/site.port" ] || fail "the local test site did not start"
export HOLDFAST_ECHO_URLS="http://127.0.0.1:$(cat "$work/site.port")/ip"
holdfast launch acct-b --headless --force --json >"$work/launch.json" 2>"$work/launch.err" &
launch_pid=$!
for _ in $(seq 600); do [ -s "$work/launch.json" ] && break; kill -0 "$launch_pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$work/launch.json" ] || fail "launch acct-b did not start: $(cat "$work/launch.err")"
# The session's process is the CLI-only build: no GTK or WebKit in it.
session_exe=$(readlink "/proc/$launch_pid/exe")
[ "$session_exe" = /usr/lib/holdfast/holdfast-cli ] || fail "the session runs in $session_exe, not the CLI-only build"
! grep -qE 'libgtk|libwebkit' "/proc/$launch_pid/maps" || fail "the session's process maps GTK or WebKit"
session_rss=$(awk '/^VmRSS/ {print $2 " " $3}' "/proc/$launch_pid/status")
holdfast stop acct-b >/dev/null
wait "$launch_pid" || true
profile="$data/profiles/$id_b"
[ -f "$profile/Default/Preferences" ] || fail "no profile at $profile: $(ls -R "$profile" 2>&1 | head)"
profile_sum=$(find "$profile" -type f -printf '%P %s\n' | sort | sha256sum)
ok "2 templates in $data, acct-a's password in the keyring, acct-b's profile at profiles/$id_b"
ok "holdfast launch ran in $session_exe (no GTK or WebKit mapped; RSS $session_rss while running)"

step "package: the app from the menu entry, under Xvfb"
HOLDFAST_BIN=/usr/bin/holdfast HOLDFAST_INSTALLED_DESKTOP=/usr/share/applications/holdfast.desktop \
  "$root/.venv-e2e/bin/pytest" -q -p no:cacheprovider "$root/tests/e2e/test_installed.py"

step "package: upgrade to $next over $version"
apt_get install -y -q "$next_deb" | tail -3
[ "$(installed_version)" = "$next" ] || fail "holdfast $next is not installed: $(installed_version)"
[ "$(holdfast --version)" = "holdfast $next (desktop app included)" ] || fail "holdfast --version: $(holdfast --version)"
list_after=$(holdfast template list --json)
[ "$list_after" = "$list_before" ] || fail "templates changed by the upgrade: $list_before -> $list_after"
[ "$(secret-tool lookup service holdfast username "exit:$id_a")" = Pkg-S3cret ] || fail "acct-a's keyring entry is gone"
holdfast template show acct-a --json | grep -q '"exit_has_password": *true' || fail "the upgraded app does not see acct-a's password"
[ "$(find "$profile" -type f -printf '%P %s\n' | sort | sha256sum)" = "$profile_sum" ] || fail "acct-b's profile changed"
migrated=$(sqlite3 "$data/holdfast.db" "SELECT count(*) FROM _sqlx_migrations WHERE version = 999 AND success")
[ "$migrated" = 1 ] || fail "the upgraded app did not run its new migration on first start"
ok "$(holdfast --version): templates, keyring entry and profile kept; migration 0999 ran on first start"

step "package: apt-get remove keeps the data and says so"
removed=$(apt_get remove -y holdfast 2>&1)
grep -q "data is kept" <<<"$removed" || fail "apt-get remove did not say the data is kept: $removed"
[ -z "$(installed_version)" ] || fail "holdfast is still installed"
[ ! -e /usr/bin/holdfast ] || fail "/usr/bin/holdfast is still there"
[ -f "$data/holdfast.db" ] || fail "$data/holdfast.db is gone"
[ "$(sqlite3 "$data/holdfast.db" 'SELECT count(*) FROM templates')" = 2 ] || fail "templates lost"
[ "$(secret-tool lookup service holdfast username "exit:$id_a")" = Pkg-S3cret ] || fail "keyring entry lost"
[ -f "$profile/Default/Preferences" ] || fail "profile lost"
purged=$(apt_get purge -y holdfast 2>&1)
[ -f "$data/holdfast.db" ] || fail "purge removed $data/holdfast.db: $purged"
grep "data is kept" -A2 <<<"$removed" | sed 's/^/  apt: /'
ok "removed and purged; $data, the keyring entry and the profile are still there"
steps_done
