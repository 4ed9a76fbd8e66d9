"""The guard's prompt in the real window under Xvfb: a session launched from the app, a failed
token refresh opens the risk window, the site's settings page submits its password form, and the
held request is answered in the window — Cancel (the server never receives it), then Proceed
(the server receives it exactly once), then no answer (cancelled at the timeout). Every decision
is in the audit log, in the window and in the CLI."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from test_app import WAIT, click, tid

# Submits the password form (into an iframe, so the page stays) each time /api/submit names a
# new number, and reports what the frame then shows. Its first act is a token refresh, which
# this site fails: that opens the risk window.
SETTINGS = b"""<title>settings</title>
<form id=pw method=post action="/account/password" target=sink>
  <input name=new value=s3cret><input name=n id=n>
</form>
<iframe name=sink id=sink></iframe>
<script>
let done = 0, busy = false;
fetch('/api/refresh', {method: 'POST'}).catch(() => {});
document.getElementById('sink').onload = () => {
  if (!done) return;
  let title = '?';
  try { title = document.getElementById('sink').contentDocument.title; } catch (e) { title = 'error'; }
  fetch('/report/submit', {method: 'POST', body: done + ' ' + title});
  busy = false;
};
async function poll() {
  if (!busy) {
    let next = '';
    // Only the site's own answer counts (the relay answers 502 while the exit is down).
    try { const r = await fetch('/api/submit?done=' + done); if (r.ok) next = await r.text(); } catch (e) {}
    if (next) {
      done = Number(next);
      busy = true;
      document.getElementById('n').value = next;
      document.getElementById('pw').submit();
    }
  }
  setTimeout(poll, 100);
}
poll();
</script>"""


class GuardSite:
    """Serves the settings page; records every request with its body."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str, str]] = []
        self.submits = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes, kind: str = "text/html") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 (http.server's name)
                site.hits.append(("GET", self.path, ""))
                if self.path == "/ip":
                    self._answer(200, self.client_address[0].encode(), "text/plain")
                elif self.path == "/settings":
                    self._answer(200, SETTINGS)
                elif self.path.startswith("/api/submit"):
                    done = int(self.path.split("done=")[1])
                    body = str(done + 1) if site.submits > done else ""
                    self._answer(200, body.encode(), "text/plain")
                else:
                    self._answer(200, b"<html>ok</html>")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                site.hits.append(("POST", self.path, body))
                if self.path == "/api/refresh":
                    self._answer(503, b'{"error": "unavailable"}', "application/json")
                elif self.path == "/account/password":
                    self._answer(200, b"<title>password changed</title>changed")
                else:
                    self._answer(200, b"ok", "text/plain")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def posts(self, path: str) -> list[str]:
        return [b for m, p, b in list(self.hits) if m == "POST" and p == path]

    def submit(self) -> int:
        self.submits += 1
        return self.submits

    def wait_report(self, n: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for body in self.posts("/report/submit"):
                if body.startswith(f"{n} "):
                    return body
            assert time.monotonic() < deadline, f"no report of submission {n}: {self.hits}"
            time.sleep(0.05)


def answer_prompt(d, button: str | None) -> None:
    """Waits for the prompt, checks what it says, clicks `button` (or lets it time out)."""
    prompt = WebDriverWait(d, 60).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, '[data-testid="hold-prompt"]'))
    )
    assert "password change" in tid(d, "hold-action").text, prompt.text
    assert "guarded" in tid(d, "hold-action").text, prompt.text
    assert "POST" in prompt.text and "/account/password" in prompt.text, prompt.text
    assert "refresh failed (503)" in tid(d, "hold-reasons").text, "the prompt says why it holds"
    held_id = prompt.get_attribute("data-hold-id")
    if os.environ.get("HOLDFAST_SCREENSHOTS") and button == "hold-cancel":
        d.save_screenshot(os.path.join(os.environ["HOLDFAST_SCREENSHOTS"], "hold-prompt.png"))
    if button:
        click(d, button)
    WebDriverWait(d, 30).until(
        lambda drv: all(
            p.get_attribute("data-hold-id") != held_id
            for p in drv.find_elements(By.CSS_SELECTOR, '[data-testid="hold-prompt"]')
        )
    )


def test_a_held_sensitive_request_is_cancelled_then_proceeded_in_the_window(open_app):
    env, start = open_app
    site = GuardSite()
    env.env["HOLDFAST_ECHO_URLS"] = site.url("/ip")
    env.cli("template", "add", "guarded", "--exit", "direct", "--start-url", site.url("/settings"))
    # Short enough to test the timeout, long enough for a click on a slow machine.
    env.cli("setting", "set", "guard.prompt_timeout_secs", "10")
    d = start()
    try:
        WebDriverWait(d, WAIT).until(
            EC.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="template-row"][data-name="guarded"]'))
        ).click()
        click(d, "launch")
        WebDriverWait(d, 60).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="launch-panel"]').get_attribute("data-running")
            == "yes"
        )
        # The failed refresh opens the risk window; the health panel says so.
        WebDriverWait(d, 60).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="risk"]').get_attribute("data-open") == "true"
        )
        assert "refresh failed" in tid(d, "risk").text
        WebDriverWait(d, WAIT).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="session-risk"]').get_attribute("data-open")
            == "true"
        )
        assert "refresh failed" in tid(d, "session-risk").text, "the running sessions list shows it too"

        # Cancel: the frame shows the guard's page, the server never sees the form.
        n = site.submit()
        answer_prompt(d, "hold-cancel")
        assert site.wait_report(n).endswith("Held by Holdfast")
        assert site.posts("/account/password") == [], "a cancelled form never reaches the server"

        # Proceed: the server receives it exactly once, with its body.
        n = site.submit()
        answer_prompt(d, "hold-proceed")
        assert site.wait_report(n).endswith("password changed")
        got = site.posts("/account/password")
        assert len(got) == 1 and "new=s3cret" in got[0], got

        # No answer: after the timeout the prompt goes and the request is cancelled.
        n = site.submit()
        answer_prompt(d, None)
        assert site.wait_report(n).endswith("Held by Holdfast")
        assert len(site.posts("/account/password")) == 1, "a timed-out hold is never sent"

        # Both decisions are in the audit log: in the window and in the CLI.
        # (The list refreshes every 2 s: it may first show the newest hold still undecided.)
        def decisions(drv):
            return [r.get_attribute("data-decision") for r in drv.find_elements(By.CSS_SELECTOR, '[data-testid="audit-row"]')]

        WebDriverWait(d, WAIT).until(lambda drv: decisions(drv) == ["cancel", "proceed", "cancel"])
        rows = d.find_elements(By.CSS_SELECTOR, '[data-testid="audit-row"]')
        assert [r.get_attribute("data-decided-by") for r in rows] == ["timeout", "app", "app"]
        audit = json.loads(env.cli("audit", "guarded", "--json").stdout)
        assert [(a["decision"], a["decided_by"]) for a in audit] == [
            ("cancel", "timeout"),
            ("proceed", "app"),
            ("cancel", "app"),
        ], audit
        assert all(a["action"] == "password-change" and "refresh failed" in a["reasons"] for a in audit), audit

        click(d, "stop")
        WebDriverWait(d, 60).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="launch-panel"]').get_attribute("data-running")
            == "no"
        )
    finally:
        site.server.shutdown()
