"""The desktop app serves the local automation API when the operator switched it on (setting
api.enabled): the same token file, gate and endpoints as `holdfast serve`; off by default."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from test_app import tid

WAIT = 20


def wait_file(path, timeout: float = WAIT) -> dict:
    """Polls for the endpoint file the app writes once its API listens (no event reaches a test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not appear in {timeout}s")


def get(url: str, token: str | None) -> tuple[int, object]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_the_app_serves_the_api_only_when_switched_on(open_app):
    env, start = open_app
    env.cli("template", "add", "shop", "--exit", "direct")

    driver = start()
    tid(driver, "template-row")
    assert not (env.home / "api.json").exists(), "off by default: no API, no endpoint file"
    driver.quit()

    env.cli("setting", "set", "api.enabled", "on")
    driver = start()
    tid(driver, "template-row")
    endpoint = wait_file(env.home / "api.json")
    assert (env.home / "api.json").stat().st_mode & 0o777 == 0o600
    status, body = get(endpoint["url"] + "/v1/templates", None)
    assert status == 401 and body["code"] == "unauthorized", body
    status, body = get(endpoint["url"] + "/v1/templates", endpoint["token"])
    assert status == 200 and [t["name"] for t in body] == ["shop"], body
    token = env.cli("api", "token").stdout.strip()
    assert token == endpoint["token"], "the app's token is the keyring's, as `holdfast api token` prints"
