"""The real Holdfast window under Xvfb, driven through tauri-driver + WebKitWebDriver.

What the window writes is read back with the CLI on the same HOLDFAST_HOME: one core, two edges.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BIN
from testsite import Site

WAIT = 20


def tid(driver: WebDriver, test_id: str):
    return WebDriverWait(driver, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, f'[data-testid="{test_id}"]'))
    )


def click(driver: WebDriver, test_id: str) -> None:
    """Clicks an element after scrolling it into view (the panes scroll on their own)."""
    el = tid(driver, test_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    el.click()


def fill(driver: WebDriver, test_id: str, value: str) -> None:
    """Replaces a field's text by typing, as a person does: select all, delete, type. (WebDriver's
    clear() fires no input event, so React would put the old value back on its next render.)"""
    el = tid(driver, test_id)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(Keys.DELETE)
    el.send_keys(value)


def test_add_a_template_in_the_window_and_read_it_back_with_the_cli(open_app):
    env, start = open_app
    d = start()
    assert "No environments yet" in tid(d, "empty-state").text, "a fresh home shows the empty state"

    tid(d, "add-template").click()
    fill(d, "field-name", "shop-eu")
    fill(d, "field-account", "alice@shop")
    fill(d, "field-exit", "socks5://alice@127.0.0.1:1080")
    fill(d, "field-exit-password", "Window-S3cret")
    fill(d, "field-timezone", "Europe/Berlin")
    fill(d, "field-locale", "de-DE")
    fill(d, "field-tags", "eu, shop")
    fill(d, "field-start-urls", "https://shop.example/login")
    assert not tid(d, "field-automation").is_selected(), "no automation port unless asked for"
    click(d, "field-automation")
    tid(d, "save").click()
    assert "Added" in tid(d, "notice").text

    rows = d.find_elements(By.CSS_SELECTOR, '[data-testid="template-row"]')
    assert [r.get_attribute("data-name") for r in rows] == ["shop-eu"], "the new template is listed"

    listed = env.list_json()
    assert len(listed) == 1
    t = listed[0]
    assert t["name"] == "shop-eu"
    assert t["account"] == "alice@shop"
    assert t["exit"] == "socks5://alice@127.0.0.1:1080", "the CLI shows the exit without its password"
    assert (t["timezone"], t["locale"]) == ("Europe/Berlin", "de-DE")
    assert t["tags"] == ["eu", "shop"]
    assert t["start_urls"] == ["https://shop.example/login"]
    assert t["exit_has_password"] is True
    assert t["automation"] is True, "the editor's automation checkbox is the template's setting"
    assert env.secret(f"exit:{t['id']}") == "Window-S3cret", "the window's password went to the keyring"

    if os.environ.get("HOLDFAST_SCREENSHOT"):
        d.save_screenshot(os.environ["HOLDFAST_SCREENSHOT"])


def test_validation_errors_show_next_to_their_field_and_write_nothing(open_app):
    env, start = open_app
    env.cli("template", "add", "taken", "--exit", "direct")
    d = start()
    tid(d, "template-row")

    tid(d, "add-template").click()
    fill(d, "field-name", "new-one")
    fill(d, "field-timezone", "Mars/Olympus")
    tid(d, "save").click()
    err = tid(d, "error-timezone")
    assert "Mars/Olympus" in err.text, "the timezone error names the value, next to the timezone field"

    fill(d, "field-timezone", "UTC")
    fill(d, "field-name", "TAKEN")
    tid(d, "save").click()
    assert "already used" in tid(d, "error-name").text, "a duplicate name is reported at the name field"

    fill(d, "field-name", "new-one")
    fill(d, "field-exit", "http://127.0.0.1:0")
    tid(d, "save").click()
    assert "1 to 65535" in tid(d, "error-exit").text

    assert [t["name"] for t in env.list_json()] == ["taken"], "rejected input writes nothing"


def test_edit_and_delete_in_the_window(open_app):
    env, start = open_app
    env.cli("template", "add", "edit-me", "--exit", "direct", "--timezone", "Asia/Tokyo")
    d = start()
    tid(d, "template-row").click()
    fill(d, "field-locale", "ja-JP")
    tid(d, "save").click()
    assert "Saved" in tid(d, "notice").text
    assert env.list_json()[0]["locale"] == "ja-JP", "an edit in the window is what the CLI sees"

    tid(d, "delete").click()
    tid(d, "confirm-delete-yes").click()
    tid(d, "empty-state")
    assert env.list_json() == [], "a delete in the window removes the template"


def test_list_of_10000_templates_stays_responsive(open_app):
    env, start = open_app
    env.seed(10_000)
    d = start()
    started = time.monotonic()
    WebDriverWait(d, 60).until(
        lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="template-list"]').get_attribute("data-count")
        == "10000"
    )
    loaded = time.monotonic() - started
    rendered = d.find_elements(By.CSS_SELECTOR, '[data-testid="template-row"]')
    assert 0 < len(rendered) < 100, f"the list is windowed, not 10,000 DOM rows (got {len(rendered)})"

    # Jump to the bottom: the last template must render quickly.
    t0 = time.monotonic()
    d.execute_script(
        "const l = document.querySelector('[data-testid=\"template-list\"]'); l.scrollTop = l.scrollHeight;"
    )
    WebDriverWait(d, 10).until(
        lambda drv: drv.find_elements(By.CSS_SELECTOR, '[data-name="account-09999"]')
    )
    scrolled = time.monotonic() - t0

    # Filtering 10,000 rows is immediate too.
    t1 = time.monotonic()
    fill(d, "search", "account-04242")
    WebDriverWait(d, 10).until(
        lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="template-list"]').get_attribute("data-count")
        == "1"
    )
    filtered = time.monotonic() - t1
    print(f"\n10k list: loaded {loaded:.2f}s, scroll to end {scrolled * 1000:.0f} ms, filter {filtered * 1000:.0f} ms")
    assert scrolled < 2.0, f"scrolling to the end took {scrolled:.2f}s"
    assert filtered < 2.0, f"filtering took {filtered:.2f}s"


def test_cli_of_the_desktop_build_runs_without_a_display(app_env):
    env, _ = app_env
    headless = {k: v for k, v in env.env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run(
        [str(BIN), "template", "add", "headless", "--exit", "direct"], env=headless, capture_output=True, text=True
    )
    assert out.returncode == 0, f"the CLI must not need GTK or a display: {out.stderr}"
    assert "Failed to initialize GTK" not in out.stderr


def test_check_exit_in_the_window_shows_progress_and_the_egress_seen_through_tinyproxy(open_app, tmp_path):
    """A real tinyproxy (Basic auth, leaving from 127.0.0.2) and an IP-echo server on loopback."""
    from conftest import Tinyproxy, free_port

    echo = Site()
    env, start = open_app
    app = env
    port = free_port()
    proxy = Tinyproxy(tmp_path, port, "127.0.0.2")
    try:
        app.env["HOLDFAST_ECHO_URLS"] = echo.url("/ip")
        app.cli("template", "add", "proxied", "--exit", f"http://e2e:e2e-pw@127.0.0.1:{port}", "--pin", "127.0.0.9")
        d = start()
        row = tid(d, "template-row")
        assert tid(d, "row-egress").get_attribute("data-state") == "unknown", "never checked yet"
        row.click()
        assert tid(d, "exit-pinned").text == "127.0.0.9"
        tid(d, "check-exit").click()
        result = tid(d, "check-result")
        assert "127.0.0.2" in result.text and "differs" in result.text, result.text
        assert tid(d, "exit-ip").text == "127.0.0.2", "the IP the echo server saw through tinyproxy"
        assert tid(d, "exit-state").text == "egress changed"
        WebDriverWait(d, WAIT).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="row-egress"]').get_attribute("data-state")
            == "changed"
        )
        assert tid(d, "check-exit").is_enabled(), "the button is back after the check"
        # The window's check went into the same egress history the CLI reads.
        report = json.loads(app.cli("check", "proxied", "--json", check=False).stdout)
        assert report["egress"]["previous"] == "127.0.0.2", report
    finally:
        proxy.stop()
        echo.stop()


def test_the_editor_shows_where_the_exit_is_and_matches_it_in_one_click(open_app, tmp_path):
    """A real tinyproxy leaving from 127.0.0.3, which the site's IP-info service places in Japan."""
    from conftest import Tinyproxy, free_port

    site = Site()
    env, start = open_app
    port = free_port()
    proxy = Tinyproxy(tmp_path, port, "127.0.0.3")
    try:
        env.env["HOLDFAST_ECHO_URLS"] = site.url("/ip")
        env.env["HOLDFAST_GEO_URLS"] = site.url("/geo")
        env.cli("template", "add", "tokyo", "--exit", f"http://e2e:e2e-pw@127.0.0.1:{port}",
                "--timezone", "Europe/Berlin", "--locale", "de-DE")
        d = start()
        tid(d, "template-row").click()
        assert tid(d, "exit-location").text == "not known yet"
        click(d, "check-exit")
        geo = tid(d, "geo-result")
        assert geo.get_attribute("data-verdict") == "mismatch", geo.text
        assert "Asia/Tokyo" in geo.text and "de-DE names DE" in geo.text, geo.text
        assert "JP" in tid(d, "exit-geo").text, "the last check's location is shown"

        click(d, "match-exit")
        result = tid(d, "exit-fit-result")
        assert "Asia/Tokyo" in result.text and "ja-JP" in result.text, result.text
        assert tid(d, "field-timezone").get_attribute("value") == "Asia/Tokyo"
        assert tid(d, "field-locale").get_attribute("value") == "ja-JP"
        assert tid(d, "exit-location").text == "JP · Asia/Tokyo"
        click(d, "field-require-consistent")
        click(d, "save")
        assert "Saved" in tid(d, "notice").text
        saved = env.list_json()[0]
        assert (saved["timezone"], saved["locale"], saved["require_consistent"]) == ("Asia/Tokyo", "ja-JP", True)
        report = json.loads(env.cli("check", "tokyo", "--json", check=False).stdout)
        assert report["geo"]["verdict"] == "consistent", report
    finally:
        proxy.stop()
        site.stop()


def answer_file_dialog(env, title: str, path) -> None:
    """Types `path` into the app's native file dialog titled `title` and accepts it, as an
    operator does at the keyboard: xdotool sends real key events (XTEST) to the GTK dialog."""
    run = lambda *a: subprocess.run(["xdotool", *a], env=env.env, check=True, capture_output=True, text=True, timeout=WAIT)  # noqa: E731
    wid = run("search", "--sync", "--onlyvisible", "--name", f"^{title}$").stdout.split()[0]
    run("windowfocus", "--sync", wid)
    # Ctrl+L: the location field (open) or the name field (save); Ctrl+A: replace what it holds.
    run("key", "--delay", "50", "ctrl+l", "ctrl+a")
    run("type", "--delay", "10", str(path))
    # The first Return may only close the location field's completion popup: press it until
    # the dialog is gone (there is no event to await across processes but the window itself).
    deadline = time.monotonic() + WAIT
    while True:
        run("key", "Return")
        time.sleep(0.3)
        shown = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"], env=env.env, capture_output=True, timeout=WAIT
        )
        if shown.returncode != 0:
            return
        assert time.monotonic() < deadline, f"the dialog {title!r} did not accept {path}"


def choose_file(d, env, button: str, field: str, title: str, path) -> None:
    """Clicks a Choose… button and picks `path` in the dialog; waits until the field shows it."""
    click(d, button)
    answer_file_dialog(env, title, path)
    WebDriverWait(d, WAIT).until(lambda drv: tid(drv, field).get_attribute("value") == str(path))


def test_export_and_import_bundles_in_the_window_with_a_preview(open_app, tmp_path):
    from selenium.webdriver.support.ui import Select

    env, start = open_app
    env.cli("template", "add", "shop-eu", "--exit", "direct", "--timezone", "Europe/Berlin", "--tag", "eu")
    env.cli("template", "add", "ads-us", "--exit", "http://127.0.0.1:3128")
    d = start()
    tid(d, "open-bundles").click()
    assert tid(d, "export-path").get_attribute("readonly") is not None, "a path is chosen, not typed"

    out = tmp_path / "team.json"
    choose_file(d, env, "export-choose", "export-path", "Export templates to", out)
    click(d, "export-run")
    assert "Exported 2 template(s)" in tid(d, "export-result").text
    bundle = json.loads(out.read_text())
    assert [t["name"] for t in bundle["templates"]] == ["ads-us", "shop-eu"]
    assert "secrets" not in bundle, "no secrets unless asked for"

    incoming = tmp_path / "incoming.json"
    incoming.write_text(
        json.dumps(
            {
                "format": "holdfast-bundle",
                "version": 1,
                "exported_at": "2026-11-21T00:00:00Z",
                "templates": [
                    {"name": "shop-eu", "exit": "direct", "timezone": "Asia/Tokyo", "locale": "ja-JP"},
                    {"name": "new-one", "exit": "socks5://bob@127.0.0.1:1080", "timezone": "UTC", "locale": "en-US"},
                ],
            }
        )
    )
    choose_file(d, env, "import-choose", "import-path", "Import a bundle", incoming)
    Select(tid(d, "import-conflict")).select_by_value("rename")
    click(d, "import-preview")
    tid(d, "import-plan")
    actions = [r.get_attribute("data-action") for r in d.find_elements(By.CSS_SELECTOR, '[data-testid="plan-row"]')]
    assert actions == ["rename", "add"], "the preview shows what will change"
    assert len(env.list_json()) == 2, "a preview writes nothing"
    click(d, "import-run")
    assert "2 added" not in tid(d, "notice").text
    assert "1 added, 1 renamed" in tid(d, "notice").text
    names = sorted(t["name"] for t in env.list_json())
    assert names == ["ads-us", "new-one", "shop-eu", "shop-eu (2)"]

    # A broken file: a clear error in the window, nothing written.
    tid(d, "open-bundles").click()
    broken = tmp_path / "broken.json"
    broken.write_text(incoming.read_text()[:40])
    choose_file(d, env, "import-choose", "import-path", "Import a bundle", broken)
    click(d, "import-preview")
    err = tid(d, "bundle-error")
    assert err.get_attribute("data-code") == "bundle_format" and "ends too early" in err.text, err.text
    assert len(env.list_json()) == 4


INVOKE = """
const [cmd, args, done] = arguments;
window.__TAURI_INTERNALS__.invoke(cmd, args).then(
  (ok) => done({ ok }),
  (err) => done({ err }),
);
"""


def test_a_page_cannot_make_export_or_import_touch_a_file_the_operator_did_not_choose(open_app, tmp_path):
    """Script running in the window (a bug, an injected page) calls the commands directly."""
    env, start = open_app
    env.cli("template", "add", "shop-eu", "--exit", "direct")
    d = start()
    d.set_script_timeout(WAIT)
    tid(d, "open-bundles").click()
    selection = {"names": [], "tags": [], "all": True}

    target = tmp_path / "written-by-a-page.json"
    r = d.execute_async_script(
        INVOKE, "export_bundle", {"selection": selection, "path": str(target), "passphrase": None}
    )
    assert r.get("err", {}).get("code") == "path_not_chosen", f"an unchosen path is refused: {r}"
    assert not target.exists(), "nothing was written where the page asked"

    planted = tmp_path / "planted.json"
    planted.write_text(
        json.dumps(
            {
                "format": "holdfast-bundle",
                "version": 1,
                "exported_at": "2026-11-21T00:00:00Z",
                "templates": [{"name": "planted", "exit": "direct", "timezone": "UTC", "locale": "en-US"}],
            }
        )
    )
    args = {"path": str(planted), "onConflict": "skip", "passphrase": None, "dryRun": False, "allowWeaker": False}
    r = d.execute_async_script(INVOKE, "import_bundle", args)
    assert r.get("err", {}).get("code") == "path_not_chosen", f"an unchosen file is not read: {r}"
    assert [t["name"] for t in env.list_json()] == ["shop-eu"], "nothing was imported"

    # Chosen to read is not chosen to write: the import's file cannot become an export target.
    choose_file(d, env, "import-choose", "import-path", "Import a bundle", planted)
    before = planted.read_text()
    r = d.execute_async_script(
        INVOKE, "export_bundle", {"selection": selection, "path": str(planted), "passphrase": None}
    )
    assert r.get("err", {}).get("code") == "path_not_chosen", f"a file chosen to read is not written: {r}"
    assert planted.read_text() == before
    # The very file the operator chose is read.
    r = d.execute_async_script(INVOKE, "import_bundle", args)
    assert r.get("ok", {}).get("added") == 1, f"the chosen file is imported: {r}"


def test_launch_shows_preflight_and_progress_runs_the_browser_and_stops_it(open_app):
    env, start = open_app
    site = Site()
    env.env["HOLDFAST_ECHO_URLS"] = site.url("/ip")
    env.cli("template", "add", "web", "--exit", "direct", "--start-url", site.url("/landing"))
    env.cli("template", "pin", "web", "10.9.9.9")
    d = start()
    try:
        WebDriverWait(d, WAIT).until(
            EC.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="template-row"][data-name="web"]'))
        ).click()

        # The pin does not match what the exit shows: the preflight refuses, and says why.
        click(d, "launch")
        err = tid(d, "launch-error")
        assert err.get_attribute("data-code") == "egress_mismatch", err.text
        assert "10.9.9.9" in err.text and "127.0.0.1" in err.text
        assert env.cli("status", "--json").stdout.strip() == "[]", "a refused launch starts nothing"

        # The operator overrides it; the preflight and its warnings show, then the session runs.
        click(d, "launch-force")
        WebDriverWait(d, 60).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="launch-panel"]').get_attribute("data-running")
            == "yes"
        )
        warnings = [w.text for w in d.find_elements(By.CSS_SELECTOR, '[data-testid="preflight-warning"]')]
        assert any("clock could not be checked" in w for w in warnings), warnings
        assert any("10.9.9.9" in w for w in warnings), f"the overridden refusal is shown: {warnings}"
        site.wait_path("/landing")

        # The health panel updates live: the start page's request shows in the 5-minute window.
        def requests_in_5m(drv):
            rows = drv.find_elements(By.CSS_SELECTOR, '[data-testid="health-window"][data-label="5m"] td')
            return rows and int(rows[0].text) >= 1

        WebDriverWait(d, 60).until(requests_in_5m)
        assert tid(d, "health").get_attribute("data-failed") == "0", "a healthy start has no failure"
        if os.environ.get("HOLDFAST_SCREENSHOTS"):
            panel = tid(d, "health")
            d.execute_script("arguments[0].scrollIntoView()", panel)
            d.save_screenshot(os.path.join(os.environ["HOLDFAST_SCREENSHOTS"], "health-panel.png"))

        running = json.loads(env.cli("status", "--json").stdout)
        assert [s["template"] for s in running] == ["web"], "the CLI sees the app's session"
        assert tid(d, "session-pid").text == str(running[0]["pid"])
        assert tid(d, "session-egress").text == "127.0.0.1"
        row = d.find_element(By.CSS_SELECTOR, '[data-testid="template-row"][data-name="web"]')
        WebDriverWait(d, WAIT).until(lambda drv: row.get_attribute("data-state") == "running")

        click(d, "stop")
        WebDriverWait(d, 60).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, '[data-testid="launch-panel"]').get_attribute("data-running")
            == "no"
        )
        assert env.cli("status", "--json").stdout.strip() == "[]", "stopped from the window"
        pid = running[0]["pid"]
        deadline = time.monotonic() + 20
        while os.path.exists(f"/proc/{pid}"):
            assert time.monotonic() < deadline, "the browser is gone after Stop"
            time.sleep(0.05)
    finally:
        site.server.shutdown()
