"""The operator's fleet view in the real window: 200 templates, three real sessions through real
tinyproxy exits, launch and stop from a row, a bulk exit check of 20, and a risk window that shows
in the list, in the health overview and as a desktop notification on a real notification daemon
(dunst on the test's private session bus), whose click opens that account.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import SEED, Tinyproxy, free_port
from test_app import WAIT, click, tid
from testsite import Site


def row(d, name: str):
    return d.find_element(By.CSS_SELECTOR, f'[data-testid="template-row"][data-name="{name}"]')


def row_button(d, name: str, test_id: str):
    el = row(d, name).find_element(By.CSS_SELECTOR, f'[data-testid="{test_id}"]')
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    return el


def wait_state(d, name: str, state: str, timeout: float = 60) -> None:
    WebDriverWait(d, timeout).until(lambda drv: row(drv, name).get_attribute("data-state") == state)


def search(d, text: str) -> None:
    box = tid(d, "search")
    d.execute_script(
        "const s = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;"
        "s.call(arguments[0], arguments[1]); arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        box,
        text,
    )


def select(d, test_id: str, value: str) -> None:
    el = tid(d, test_id)
    d.execute_script(
        "const s = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set;"
        "s.call(arguments[0], arguments[1]); arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        el,
        value,
    )


def dunstctl(env, *args: str) -> str:
    return subprocess.run(["dunstctl", *args], env=env, capture_output=True, text=True, timeout=10, check=True).stdout


def shot(d, name: str) -> None:
    out = os.environ.get("HOLDFAST_SCREENSHOTS")
    if out:
        d.save_screenshot(os.path.join(out, name))


def test_the_fleet_launches_stops_checks_in_bulk_and_raises_a_risk_everywhere(open_app, tmp_path):
    env, start = open_app
    site = Site()
    env.env["HOLDFAST_ECHO_URLS"] = site.url("/ip")
    # A real notification daemon on the test's own session bus and X display.
    dunst = subprocess.Popen(["dunst"], env=env.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p_a, p_b = free_port(), free_port()
    moving = Tinyproxy(tmp_path, p_a, "127.0.0.2")
    steady = Tinyproxy(tmp_path, p_b, "127.0.0.4")
    try:
        # 200 templates: 177 seeded, 20 to check in bulk, 3 that run for real.
        subprocess.run([str(SEED), "177"], env=env.env, check=True, capture_output=True, timeout=300)
        for i in range(20):
            env.cli("template", "add", f"check-{i:02}", "--exit", "direct", "--tag", "batch")
        env.cli("template", "add", "acct-a", "--exit", f"http://e2e:e2e-pw@127.0.0.1:{p_a}", "--start-url", site.url("/a"))
        for n in ("acct-b", "acct-c"):
            env.cli("template", "add", n, "--exit", f"http://e2e:e2e-pw@127.0.0.1:{p_b}", "--start-url", site.url(f"/{n}"))
        env.cli("setting", "set", "egress.probe_interval_secs", "1")
        assert len(env.list_json()) == 200

        d = start()
        WebDriverWait(d, 60).until(
            lambda drv: tid(drv, "template-list").get_attribute("data-count") == "200"
        )
        shown = d.find_elements(By.CSS_SELECTOR, '[data-testid="template-row"]')
        assert 0 < len(shown) < 60, f"rows are windowed: {len(shown)} in the DOM"

        # Launch from the row itself: no editor needed.
        search(d, "acct-")
        WebDriverWait(d, WAIT).until(lambda drv: tid(drv, "template-list").get_attribute("data-count") == "3")
        row_button(d, "acct-a", "row-launch").click()
        wait_state(d, "acct-a", "running")
        site.wait_path("/a")
        latency = int(tid(d, "template-list").get_attribute("data-event-latency-ms") or "-1")
        print(f"\nsession event to row updated: {latency} ms")
        assert 0 <= latency <= 250, f"a pushed event reaches the row within 250 ms (took {latency} ms)"

        # The other two by bulk launch: progress and a result per item.
        for n in ("acct-b", "acct-c"):
            row_button(d, n, "row-select").click()
        click(d, "bulk-launch")
        WebDriverWait(d, 90).until(
            lambda drv: tid(drv, "bulk-progress").get_attribute("data-running") == "no"
        )
        results = {r.get_attribute("data-name"): r.get_attribute("data-ok") for r in d.find_elements(By.CSS_SELECTOR, '[data-testid="bulk-result"]')}
        assert results == {"acct-b": "yes", "acct-c": "yes"}, results
        wait_state(d, "acct-b", "running")
        wait_state(d, "acct-c", "running")
        assert sorted(s["template"] for s in json.loads(env.cli("status", "--json").stdout)) == ["acct-a", "acct-b", "acct-c"]
        click(d, "bulk-clear")

        # Bulk check of 20: narrowed by tag, all selected, each checked through its exit.
        search(d, "")
        select(d, "filter-tag", "batch")
        WebDriverWait(d, WAIT).until(lambda drv: tid(drv, "template-list").get_attribute("data-count") == "20")
        click(d, "select-all")
        click(d, "bulk-check")
        WebDriverWait(d, 90).until(lambda drv: tid(drv, "bulk-progress").get_attribute("data-running") == "no")
        prog = tid(d, "bulk-progress")
        assert (prog.get_attribute("data-done"), prog.get_attribute("data-failed")) == ("20", "0"), prog.text
        checked = [r.text for r in d.find_elements(By.CSS_SELECTOR, '[data-testid="bulk-result"]')]
        assert len(checked) == 20 and all("egress 127.0.0.1" in t for t in checked), checked
        WebDriverWait(d, WAIT).until(
            lambda drv: row(drv, "check-07").find_element(By.CSS_SELECTOR, '[data-testid="row-egress"]').text == "127.0.0.1"
        )
        fleet = {r["name"]: r for r in json.loads(env.cli("fleet", "--json").stdout)}
        assert fleet["check-07"]["egress_ip"] == "127.0.0.1", "the bulk check recorded each egress"
        click(d, "bulk-clear")
        select(d, "filter-tag", "")
        search(d, "acct-")

        # The provider moves acct-a's exit: its egress changes, a risk window opens. It shows in
        # the row, in the overview (ranked first), and as a notification on the daemon.
        moving.stop()
        moving = Tinyproxy(tmp_path, p_a, "127.0.0.3")
        WebDriverWait(d, 60).until(lambda drv: row(drv, "acct-a").get_attribute("data-risk") == "open")
        risk_text = row(d, "acct-a").find_element(By.CSS_SELECTOR, '[data-testid="row-risk"]').get_attribute("textContent")
        assert "egress 127.0.0.2 → 127.0.0.3" in risk_text, risk_text
        assert row(d, "acct-b").get_attribute("data-risk") == "closed", "only acct-a's exit moved"
        shot(d, "fleet.png")

        # The keyboard: "/" goes to the search field; in the list, arrows move and Enter opens.
        ActionChains(d).send_keys("/").perform()
        assert d.switch_to.active_element.get_attribute("data-testid") == "search"
        # Out of the field without clicking a row (a click opens the row it lands on, and where it
        # lands depends on the window's layout); the cursor goes up to the top, one key at a time
        # (each waits for the row to show it), then one down.
        d.execute_script("document.activeElement.blur()")
        names = ["acct-a", "acct-b", "acct-c"]

        def cursor_at(drv):
            return next((n for n in names if "cursor" in row(drv, n).get_attribute("class").split()), None)

        def press(key, then):
            ActionChains(d).send_keys(key).perform()
            WebDriverWait(d, WAIT).until(lambda drv: cursor_at(drv) == then)

        while (here := cursor_at(d)) != "acct-a":
            if here:
                press(Keys.ARROW_UP, names[names.index(here) - 1])
            else:  # no cursor yet: the first ArrowDown puts it on the first row
                press(Keys.ARROW_DOWN, "acct-a")
        press(Keys.ARROW_DOWN, "acct-b")
        ActionChains(d).send_keys(Keys.ENTER).perform()
        WebDriverWait(d, WAIT).until(lambda drv: tid(drv, "field-name").get_attribute("value") == "acct-b")
        ActionChains(d).send_keys(Keys.ESCAPE).perform()

        click(d, "view-overview")
        WebDriverWait(d, WAIT).until(
            lambda drv: [t.get_attribute("data-name") for t in drv.find_elements(By.CSS_SELECTOR, '[data-testid="trouble"]')][:1] == ["acct-a"]
        )
        assert tid(d, "overview-risk").text.startswith("1 "), tid(d, "overview-risk").text
        WebDriverWait(d, WAIT).until(lambda drv: int(tid(drv, "series-chart").get_attribute("data-marks")) >= 1)
        shot(d, "overview.png")

        def notified() -> list[str]:
            out = dunstctl(env.env, "count", "displayed")
            return out.strip()

        deadline = time.monotonic() + 30
        while notified() == "0":
            assert time.monotonic() < deadline, "no notification reached the daemon"
            time.sleep(0.2)
        # Clicking it (the daemon's default action) brings the window to that account.
        click(d, "view-fleet")
        dunstctl(env.env, "action", "0")
        WebDriverWait(d, WAIT).until(lambda drv: tid(drv, "field-name").get_attribute("value") == "acct-a")
        shot(d, "editor.png")
        dunstctl(env.env, "close-all")
        hist = json.loads(dunstctl(env.env, "history"))
        summaries = [n["summary"]["data"] for n in hist["data"][0]]
        assert "acct-a: risk window open" in summaries, summaries
        bodies = [n["body"]["data"] for n in hist["data"][0] if n["summary"]["data"] == "acct-a: risk window open"]
        assert "egress 127.0.0.2 → 127.0.0.3" in bodies[0], bodies

        # Stop from the row: the browser closes cleanly and the row says so.
        row_button(d, "acct-c", "row-stop").click()
        wait_state(d, "acct-c", "stopped")
        assert sorted(s["template"] for s in json.loads(env.cli("status", "--json").stdout)) == ["acct-a", "acct-b"]
        # A stop that was asked for is no alert (none within two seconds of it).
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert notified() == "0", "an asked-for stop alerts nobody"
            time.sleep(0.1)
    finally:
        moving.stop()
        steady.stop()
        dunst.terminate()
        dunst.wait()
        site.stop()
