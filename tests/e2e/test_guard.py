"""The guard's prompt in the real window under Xvfb: a session launched from the app through a
real tinyproxy (with a password) leaving from 127.0.0.2. A form submitted before anything happened
passes untouched. Then the exit is switched mid-session (the same proxy port now leaves from
127.0.0.3) and the token refresh starts failing: the risk window opens, the site's settings page
submits its password form, and the held request is answered in the window — Cancel (the server
never receives it), Proceed (the server receives it exactly once, through the new exit), no answer
(cancelled at the timeout). Every decision is in the audit log, in the window and in the CLI."""

from __future__ import annotations

import json
import os
import time

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Tinyproxy, free_port
from test_app import WAIT, click, tid
from testsite import Site

# Submits the password form (into an iframe, so the page stays) each time /api/submit names a
# new number, and reports what the frame then shows. Refreshes its token every second.
SETTINGS = b"""<title>settings</title>
<form id=pw method=post action="/account/password" target=sink>
  <input name=new value=s3cret><input name=n id=n>
</form>
<iframe name=sink id=sink></iframe>
<script>
let done = 0, busy = false;
setInterval(() => fetch('/api/refresh', {method: 'POST'}).catch(() => {}), 1000);
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
    """The site with the settings page: the page asks `/api/submit` when to submit its form again,
    refreshes its token at `/api/refresh` (failing with 503 once `fail_refresh`), and reports each
    result to `/report/submit`."""

    def __init__(self) -> None:
        self.site = Site()
        self.submits = 0
        self.fail_refresh = False
        self.site.pages["/settings"] = SETTINGS
        self.site.get_routes["/api/submit"] = self._submit_answer
        self.site.post_routes["/api/refresh"] = self._refresh_answer
        self.site.post_routes["/account/password"] = lambda _body: (
            200,
            b"<title>password changed</title>changed",
            "text/html",
        )

    def _submit_answer(self, path: str):
        done = int(path.split("done=")[1])
        body = str(done + 1) if self.submits > done else ""
        return 200, body.encode(), "text/plain"

    def _refresh_answer(self, _body: str):
        if self.fail_refresh:
            return 503, b'{"error": "unavailable"}', "application/json"
        return 200, b'{"token": "t"}', "application/json"

    def url(self, path: str) -> str:
        return self.site.url(path)

    def posts(self, path: str) -> list[str]:
        return self.site.posts(path)

    def posters(self, path: str) -> list[str]:
        return self.site.posters(path)

    def submit(self) -> int:
        self.submits += 1
        return self.submits

    def wait_report(self, n: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for body in self.posts("/report/submit"):
                if body.startswith(f"{n} "):
                    return body
            assert time.monotonic() < deadline, f"no report of submission {n}: {self.site.hits}"
            time.sleep(0.05)


def answer_prompt(d, button: str | None) -> None:
    """Waits for the prompt, checks what it says, clicks `button` (or lets it time out)."""
    prompt = WebDriverWait(d, 60).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, '[data-testid="hold-prompt"]'))
    )
    assert "password change" in tid(d, "hold-action").text, prompt.text
    assert "guarded" in tid(d, "hold-action").text, prompt.text
    assert "POST" in prompt.text and "/account/password" in prompt.text, prompt.text
    reasons = tid(d, "hold-reasons").text
    assert "egress 127.0.0.2 → 127.0.0.3" in reasons and "refresh failed (503)" in reasons, (
        f"the prompt says why it holds: {reasons}"
    )
    held_id = prompt.get_attribute("data-hold-id")
    if os.environ.get("HOLDFAST_SCREENSHOTS") and button == "hold-cancel":
        d.save_screenshot(os.path.join(os.environ["HOLDFAST_SCREENSHOTS"], "hold-prompt.png"))
    if button:
        click(d, button)
    # The prompt element can go between finding it and reading it: that is the wait ending.
    WebDriverWait(d, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda drv: all(
            p.get_attribute("data-hold-id") != held_id
            for p in drv.find_elements(By.CSS_SELECTOR, '[data-testid="hold-prompt"]')
        )
    )


def risk_banner(d, *needles: str) -> None:
    """Waits until the health panel's risk banner is open and names every needle."""

    def shows(drv):
        el = drv.find_element(By.CSS_SELECTOR, '[data-testid="risk"]')
        return el.get_attribute("data-open") == "true" and all(n in el.text for n in needles)

    WebDriverWait(d, 60).until(shows)


def test_a_held_sensitive_request_is_cancelled_proceeded_and_timed_out_in_the_window(open_app, tmp_path):
    env, start = open_app
    site = GuardSite()
    port = free_port()
    proxy = Tinyproxy(tmp_path, port, "127.0.0.2")
    env.env["HOLDFAST_ECHO_URLS"] = site.url("/ip")
    env.cli(
        "template", "add", "guarded", "--exit", f"http://e2e:e2e-pw@127.0.0.1:{port}", "--start-url", site.url("/settings")
    )
    # The running session re-checks its egress every second (the default is minutes).
    env.cli("setting", "set", "egress.probe_interval_secs", "1")
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
        WebDriverWait(d, 60).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="risk"]').get_attribute("data-open") == "false"
        )

        # No risk window: the form goes through untouched, nothing is asked or logged.
        n = site.submit()
        assert site.wait_report(n).endswith("password changed")
        assert site.posters("/account/password") == ["127.0.0.2"]
        assert not d.find_elements(By.CSS_SELECTOR, '[data-testid="hold-prompt"]')

        # The provider moves the exit; the refresh starts failing. Both open the window.
        proxy.stop()
        proxy = Tinyproxy(tmp_path, port, "127.0.0.3")
        site.fail_refresh = True
        risk_banner(d, "egress 127.0.0.2 → 127.0.0.3", "refresh failed")
        # The fleet row shows it too (pushed by the core, no polling).
        WebDriverWait(d, WAIT).until(
            lambda drv: "egress 127.0.0.2 → 127.0.0.3"
            in drv.find_element(By.CSS_SELECTOR, '[data-testid="template-row"][data-name="guarded"] [data-testid="row-risk"]').get_attribute("textContent")
        )

        # Cancel: the frame shows the guard's page, the server never sees the form.
        n = site.submit()
        answer_prompt(d, "hold-cancel")
        assert site.wait_report(n).endswith("Held by Holdfast")
        assert len(site.posts("/account/password")) == 1, "a cancelled form never reaches the server"

        # Proceed: the server receives it exactly once, with its body, through the new exit.
        n = site.submit()
        answer_prompt(d, "hold-proceed")
        assert site.wait_report(n).endswith("password changed")
        got = site.posts("/account/password")
        assert len(got) == 2 and f"n={n}" in got[1] and "new=s3cret" in got[1], got
        assert site.posters("/account/password") == ["127.0.0.2", "127.0.0.3"]

        # No answer: after the timeout the prompt goes and the request is cancelled.
        n = site.submit()
        answer_prompt(d, None)
        assert site.wait_report(n).endswith("Held by Holdfast")
        assert len(site.posts("/account/password")) == 2, "a timed-out hold is never sent"

        # Every decision is in the audit log: in the window and in the CLI.
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
        assert all(
            a["action"] == "password-change" and "egress 127.0.0.2 → 127.0.0.3" in a["reasons"] for a in audit
        ), audit

        click(d, "stop")
        WebDriverWait(d, 60).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="launch-panel"]').get_attribute("data-running")
            == "no"
        )
    finally:
        proxy.stop()
        site.site.stop()
