#!/usr/bin/env python3
"""Guard latency benchmark: what the guard adds to a request, measured in a real headless
Chromium session (launched by `holdfast launch`, direct exit, local site) with the page's own
`performance.now()` around sequential POSTs.

Four templates run side by side, alternating, in one run, each measuring POST /api/data (a
request no sensitive-action rule matches):
  off-calm  no sensitive-action rules, no risk window      (baseline)
  on-calm   default rules, no risk window                  (the guard's normal state: Fetch off)
  off-risk  no rules, risk window open                     (baseline)
  on-risk   default rules, risk window open                (Fetch on in every target)
The window is opened by a token refresh the site fails (503) before measuring.

usage: guard_latency.py HOLDFAST_BIN [ROUNDS] [REQUESTS]
"""

from __future__ import annotations

import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PAGE = b"""<title>bench</title><script>
const q = new URLSearchParams(location.search);
const n = Number(q.get('n')), path = q.get('path');
async function run() {
  if (q.get('risk')) {
    await fetch('/api/refresh', {method: 'POST'}).catch(() => {});
    // Until the refresh failure is on the session's event stream (it is in well under this).
    await new Promise(r => setTimeout(r, 1500));
  }
  for (let i = 0; i < 20; i++) await fetch(path + '?warm=' + i, {method: 'POST', body: 'x'});
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch(path + '?i=' + i, {method: 'POST', body: 'x'});
    await r.text();
    times.push(performance.now() - t);
  }
  await fetch('/report', {method: 'POST', body: JSON.stringify(times)});
}
run();
</script>"""


class Site:
    def __init__(self) -> None:
        self.reports: dict[str, list[float]] = {}
        self.cond = threading.Condition()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                if self.path == "/ip":
                    self._send(200, self.client_address[0].encode())
                elif self.path.startswith("/bench"):
                    self._send(200, PAGE, "text/html")
                else:
                    self._send(200, b"ok")

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/api/refresh":
                    self._send(503, b"unavailable")
                elif self.path == "/report":
                    with site.cond:
                        site.reports[self.headers.get("Referer", "")] = json.loads(body)
                        site.cond.notify_all()
                    self._send(200, b"ok")
                else:
                    self._send(200, b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, key: str, timeout: float = 120) -> list[float]:
        with self.cond:
            ok = self.cond.wait_for(lambda: key in self.reports, timeout)
            if not ok:
                raise TimeoutError(f"no report from {key}")
            return self.reports.pop(key)


def main() -> None:
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    site = Site()
    tmp = tempfile.mkdtemp(prefix="holdfast-guard-bench-")
    env = dict(os.environ)
    env.update(
        HOLDFAST_HOME=f"{tmp}/home",
        HOME=f"{tmp}/user-home",
        XDG_CONFIG_HOME=f"{tmp}/user-home/.config",
        XDG_CACHE_HOME=f"{tmp}/user-home/.cache",
        HOLDFAST_NTP_SERVERS="127.0.0.1:9",
        HOLDFAST_ECHO_URLS=site.url("/ip"),
        HOLDFAST_GEO_URLS="off",
        DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp}/no-bus",
        HOLDFAST_LOG="warn",
    )
    env.pop("DISPLAY", None)

    def cli(*args: str) -> str:
        return subprocess.run([binary, *args], env=env, check=True, capture_output=True, text=True).stdout

    variants = {
        "off-calm": (False, False, "/api/data"),
        "on-calm": (True, False, "/api/data"),
        "off-risk": (False, True, "/api/data"),
        "on-risk": (True, True, "/api/data"),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(rounds):
        for name, (guard, risk, path) in variants.items():
            tname = f"{name}-{r}"  # a fresh template each time: no risk window carried over
            url = site.url(f"/bench?n={n}&path={path}" + ("&risk=1" if risk else ""))
            cli("template", "add", tname, "--exit", "direct", "--start-url", url, *([] if guard else ["--no-sensitive"]))
            p = subprocess.Popen(
                [binary, "launch", tname, "--headless", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            try:
                times[name] += site.wait(url)
                if risk:
                    state = json.loads(cli("risk", tname, "--json"))
                    assert state["open"], f"{tname}: the risk window should be open: {state}"
                audit = json.loads(cli("audit", tname, "--json"))
                assert audit == [], f"{tname}: nothing may be held: {audit}"
            finally:
                cli("stop", tname)
                p.wait(timeout=30)

    def line(name: str) -> tuple[float, float]:
        t = sorted(times[name])
        med = statistics.median(t)
        p95 = t[int(len(t) * 0.95) - 1]
        print(f"  {name:<9} requests {len(t):>5}  median {med:6.3f} ms  p95 {p95:6.3f} ms")
        return med, p95

    print(f"guard latency: {rounds} rounds x {n} sequential POSTs per variant (headless Chromium, direct exit)")
    base, _ = line("off-calm")
    on, _ = line("on-calm")
    print(f"  non-matching request, no risk window, guard on / off: {on / base:.3f}x median ({on - base:+.3f} ms)")
    base2, _ = line("off-risk")
    on2, _ = line("on-risk")
    print(f"  non-matching request in a risk window, guard on / off: {on2 / base2:.3f}x median ({on2 - base2:+.3f} ms)")
    site.server.shutdown()
    subprocess.run(["rm", "-rf", tmp], check=False)


if __name__ == "__main__":
    main()
