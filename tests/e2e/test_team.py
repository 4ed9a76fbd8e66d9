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


def test_the_header_shows_the_team_who_runs_what_where_and_when_the_store_is_offline(open_app, postgres, tmp_path):
    env, start = open_app
    site = Site()
    env.env["HOLDFAST_ECHO_URLS"] = site.url("/ip")
    env.cli("template", "add", "acct", "--exit", "direct", "--start-url", site.url("/landing"))
    init = subprocess.run(
        [str(BIN), "team", "init", postgres.url("owner"), "--name", "alice", "--passphrase-stdin", "--db-password-stdin"],
        input=f"e2e-team-passphrase\n{postgres.PASSWORD}\n", env=env.env, capture_output=True, text=True, timeout=60,
    )
    assert init.returncode == 0, init.stderr
    postgres.sql("team", "CREATE ROLE bob LOGIN PASSWORD 'bob-pw' IN ROLE holdfast_runner")
    # Bob's machine: another home on the same desktop session (its own team membership).
    bob = {**env.env, "HOLDFAST_HOME": str(tmp_path / "bob")}
    join = subprocess.run(
        [str(BIN), "team", "join", postgres.url("bob"), "--name", "bob", "--passphrase-stdin", "--db-password-stdin"],
        input="e2e-team-passphrase\nbob-pw\n", env=bob, capture_output=True, text=True, timeout=60,
    )
    assert join.returncode == 0, join.stderr
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

        # Another member adds a template: the window's list shows it with no action here (the
        # store's NOTIFY reaches the app, which pulls it).
        postgres.sql("team", "CREATE ROLE carol LOGIN PASSWORD 'carol-pw' IN ROLE holdfast_editor")
        carol = {**env.env, "HOLDFAST_HOME": str(tmp_path / "carol")}
        join = subprocess.run(
            [str(BIN), "team", "join", postgres.url("carol"), "--name", "carol", "--passphrase-stdin", "--db-password-stdin"],
            input="e2e-team-passphrase\ncarol-pw\n", env=carol, capture_output=True, text=True, timeout=60,
        )
        assert join.returncode == 0, join.stderr
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
