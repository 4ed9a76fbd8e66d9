"""The desktop app's memory, side by side with a bare Tauri 2 window in one run.

PSS (proportional set size, from /proc/PID/smaps_rollup: shared pages split between the
processes that map them) summed over the window's process and its WebKit processes (every
descendant except the browsers Holdfast launches), after the window has settled. Scenarios, in
one run and alternating per round: the bare window; Holdfast idle with 30 templates; idle with
1,000; idle with 1,000 and 10 or 20 running headless sessions (launched through the app's local API so
they live in the app's process, like sessions launched from the window).

usage: app_memory.py HOLDFAST_BIN BARE_WINDOW_BIN SEED_BIN [ROUNDS]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import private_bus  # noqa: E402  (the e2e tests' keyring bus)

BIN, BARE, SEED = sys.argv[1], sys.argv[2], sys.argv[3]
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
SETTLE_S = 10.0
BROWSERS = ("chromium", "chrome")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(d))
    return out


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def window_pss(root: int) -> tuple[float, dict[str, float]]:
    """MB of PSS of `root` and its descendants, browsers (and what they started) excluded."""
    tree = children()
    total, parts = 0, {}
    stack = [root]
    while stack:
        pid = stack.pop()
        name = comm(pid)
        if pid != root and name.startswith(BROWSERS):
            continue
        kb = pss_kb(pid)
        total += kb
        parts[name] = parts.get(name, 0) + kb / 1024
        stack.extend(tree.get(pid, []))
    return total / 1024, parts


class Desktop:
    """A private X server and session bus with an unlocked keyring."""

    def __init__(self, tmp: Path) -> None:
        self.procs: list[subprocess.Popen] = []
        r, w = os.pipe()
        self.procs.append(subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"], pass_fds=[w], stderr=subprocess.DEVNULL))
        os.close(w)
        with os.fdopen(r) as f:
            display = ":" + f.readline().strip()
        bus, address = private_bus.start(tmp)
        self.procs.append(bus)
        self.env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        self.env.update(
            DISPLAY=display, DBUS_SESSION_BUS_ADDRESS=address, HOME=str(tmp), XDG_DATA_HOME=str(tmp / "data"),
            XDG_CONFIG_HOME=str(tmp / ".config"), XDG_CACHE_HOME=str(tmp / ".cache"),
            GTK_USE_PORTAL="0", NO_AT_BRIDGE="1", WEBKIT_DISABLE_COMPOSITING_MODE="1", LIBGL_ALWAYS_SOFTWARE="1",
            HOLDFAST_NTP_SERVERS="127.0.0.1:9",
        )
        self.procs.append(private_bus.start_keyring(self.env, "bench"))

    def stop(self) -> None:
        private_bus.stop_all(self.procs)


class Echo:
    """The local site the sessions open and the egress echo."""

    def __init__(self) -> None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import loopback_site

        self.server, self.url = loopback_site.start()


def home_with(tmp: Path, env: dict, n: int, echo: Echo, api_port: int) -> dict:
    e = dict(env, HOLDFAST_HOME=str(tmp / f"home-{n}"), HOLDFAST_ECHO_URLS=echo.url + "/ip",
             HOLDFAST_GEO_URLS="off")
    subprocess.run([SEED, str(n)], env=e, check=True, capture_output=True)
    for i in range(20):
        subprocess.run([BIN, "template", "add", f"live-{i}", "--exit", "direct", "--start-url", echo.url + f"/s{i}"], env=e, check=True, capture_output=True)
    subprocess.run([BIN, "setting", "set", "api.enabled", "on"], env=e, check=True, capture_output=True)
    subprocess.run([BIN, "setting", "set", "api.port", str(api_port)], env=e, check=True, capture_output=True)
    return e


def measure(cmd: list[str], env: dict, sessions: int = 0, api_port: int = 0) -> tuple[float, dict]:
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Settled: the web process exists and SETTLE_S passed since (no event marks "idle").
        deadline = time.monotonic() + 60
        while not any(comm(c).startswith("WebKitWebProces") for c in children().get(p.pid, [])):
            assert p.poll() is None, f"{cmd[0]} exited"
            assert time.monotonic() < deadline, "no WebKit web process"
            time.sleep(0.1)
        if sessions:
            token = subprocess.run([BIN, "api", "token"], env=env, capture_output=True, text=True, check=True).stdout.strip()
            base = f"http://127.0.0.1:{api_port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(urllib.request.Request(base + "/v1/sessions", headers={"Authorization": f"Bearer {token}"}), timeout=2)
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the app's API did not come up"
                    time.sleep(0.2)
            for i in range(sessions):
                req = urllib.request.Request(
                    base + f"/v1/templates/live-{i}/start", data=json.dumps({"headless": True, "force": False}).encode(),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="POST",
                )
                urllib.request.urlopen(req, timeout=60).read()
        time.sleep(SETTLE_S)
        samples = [window_pss(p.pid) for _ in range(3) if not time.sleep(1)]
        best = sorted(samples, key=lambda s: s[0])[1]
        return best
    finally:
        private_bus.stop_all([p], timeout=30)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="holdfast-bench-mem-"))
    desk = Desktop(tmp)
    echo = Echo()
    try:
        port = free_port()
        homes = {n: home_with(tmp, desk.env, n, echo, port) for n in (20, 990)}
        scenarios = [
            ("bare Tauri 2 window", lambda: measure([BARE], desk.env)),
            ("Holdfast, 30 templates", lambda: measure([BIN], homes[20])),
            ("Holdfast, 1,000 templates", lambda: measure([BIN], homes[990])),
            ("Holdfast, 1,000 templates, 10 sessions", lambda: measure([BIN], homes[990], 10, port)),
            ("Holdfast, 1,000 templates, 20 sessions", lambda: measure([BIN], homes[990], 20, port)),
        ]
        results: dict[str, list[tuple[float, dict]]] = {name: [] for name, _ in scenarios}
        for r in range(ROUNDS):
            for name, run in scenarios:
                results[name].append(run())
                print(f"round {r + 1} {name}: {results[name][-1][0]:.1f} MB", file=sys.stderr, flush=True)
        med = {name: statistics.median(v[0] for v in vals) for name, vals in results.items()}
        bare = med["bare Tauri 2 window"]
        print(f"\nPSS (median of {ROUNDS} rounds, MB; app + its WebKit processes, browsers excluded)")
        print(f"{'scenario':<42} {'PSS':>8} {'vs bare':>8}   parts (last round)")
        for name, vals in results.items():
            parts = ", ".join(f"{k} {v:.0f}" for k, v in sorted(vals[-1][1].items(), key=lambda kv: -kv[1]) if v >= 1)
            print(f"{name:<42} {med[name]:>8.1f} {med[name] / bare:>7.2f}×   {parts}")
        growth = med["Holdfast, 1,000 templates"] - med["Holdfast, 30 templates"]
        print(f"\ngrowth 30 -> 1,000 templates: {growth:+.1f} MB (target <= 30 MB)")
        print(f"idle with 1,000 templates vs bare: {med['Holdfast, 1,000 templates'] / bare:.2f}× (target <= 1.2×)")
        twenty = med["Holdfast, 1,000 templates, 20 sessions"]
        print(f"the app with 20 sessions: {twenty:.1f} MB, {twenty / bare:.2f}× the bare window (target <= 150 MB for Holdfast itself)")
    finally:
        echo.server.shutdown()
        desk.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
