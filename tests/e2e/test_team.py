"""The team in the real window: the header says connected or offline, the role, and which
account runs on which machine of the team (a second home, launched from the CLI, holds it); a
template another member adds appears in the list by itself (NOTIFY → pull → event)."""

from __future__ import annotations

import json
import subprocess

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BIN
from test_app import tid
from testsite import Site

WAIT = 20
PASSPHRASE = "e2e-team-passphrase"


def team(verb: str, url: str, name: str, password: str, env: dict[str, str]) -> None:
    """`holdfast team init|join URL` for one home, passphrase and database password on stdin."""
    out = subprocess.run(
        [str(BIN), "team", verb, url, "--name", name, "--passphrase-stdin", "--db-password-stdin"],
        input=f"{PASSPHRASE}\n{password}\n", env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr


def member(pg, env: dict[str, str], home, user: str, group: str) -> dict[str, str]:
    """Another machine: a home of its own on this desktop session, joined as a new database user."""
    pg.sql("team", f"CREATE ROLE {user} LOGIN PASSWORD '{user}-pw' IN ROLE {group}")
    their = {**env, "HOLDFAST_HOME": str(home)}
    team("join", pg.url(user), user, f"{user}-pw", their)
    return their


def test_the_header_shows_the_team_who_runs_what_where_and_when_the_store_is_offline(open_app, postgres, tmp_path):
    env, start = open_app
    site = Site()
    env.env["HOLDFAST_ECHO_URLS"] = site.url("/ip")
    env.cli("template", "add", "acct", "--exit", "direct", "--start-url", site.url("/landing"))
    team("init", postgres.url("owner"), "alice", postgres.PASSWORD, env.env)
    bob = member(postgres, env.env, tmp_path / "bob", "bob", "holdfast_runner")
    launched = subprocess.Popen(
        [str(BIN), "launch", "acct", "--headless", "--json"], env=bob, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert launched.stdout is not None
        info = json.loads(launched.stdout.readline())
        assert info["template"] == "acct"

        d = start()
        line = tid(d, "team-line")
        WebDriverWait(d, WAIT).until(lambda drv: "connected" in tid(drv, "team-line").text)
        assert "alice (owner)" in line.text, line.text
        line.click()
        row = WebDriverWait(d, WAIT).until(lambda drv: tid(drv, "team-running-row"))
        assert "acct" in row.text and "bob on" in row.text, row.text
        # The fleet row says who holds it, and offers no Launch here.
        acct = d.find_element(By.CSS_SELECTOR, '[data-testid="template-row"][data-name="acct"]')
        WebDriverWait(d, WAIT).until(lambda drv: acct.get_attribute("data-state") == "elsewhere")
        state = acct.find_element(By.CSS_SELECTOR, '[data-testid="row-state"]').get_attribute("textContent")
        assert state.startswith("held by bob on"), state
        assert not acct.find_element(By.CSS_SELECTOR, '[data-testid="row-launch"]').is_enabled()

        # Another member adds a template: the window's list shows it with no action here (the
        # store's NOTIFY reaches the app, which pulls it).
        carol = member(postgres, env.env, tmp_path / "carol", "carol", "holdfast_editor")
        subprocess.run([str(BIN), "template", "add", "from-carol"], env=carol, check=True, capture_output=True, timeout=60)
        WebDriverWait(d, WAIT).until(
            lambda drv: drv.find_elements(By.CSS_SELECTOR, '[data-testid="template-row"][data-name="from-carol"]')
        )

        postgres.stop()
        WebDriverWait(d, WAIT).until(lambda drv: "OFFLINE" in tid(drv, "team-line").text)
        assert tid(d, "team-badge").get_attribute("data-connected") == "no"
        postgres.start()
        WebDriverWait(d, WAIT).until(lambda drv: "connected" in tid(drv, "team-line").text)
    finally:
        launched.terminate()
        launched.wait(timeout=30)
        site.stop()
