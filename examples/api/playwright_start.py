# Start a Holdfast account through the local API and drive it with Playwright (Python).
# usage: python playwright_start.py TEMPLATE URL     (holdfast serve must be running)
import json, os, sys, urllib.request
from playwright.sync_api import sync_playwright

home = os.environ.get("HOLDFAST_HOME") or os.path.expanduser("~/.local/share/holdfast")
api = json.load(open(os.path.join(home, "api.json")))  # {"url", "token"}, mode 0600

def call(path, body=None):
    req = urllib.request.Request(api["url"] + path, data=json.dumps(body or {}).encode(),
        headers={"Authorization": "Bearer " + api["token"], "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))

name, url = sys.argv[1], sys.argv[2]
session = call(f"/v1/templates/{name}/start", {"headless": True})
try:
    with sync_playwright() as p:
        browser = p.chromium.connect_over_cdp(session["ws_endpoint"])
        page = browser.contexts[0].new_page()  # the account's own profile: its cookies
        page.goto(url)
        print(page.title(), "|", page.inner_text("body"))
finally:
    call(f"/v1/templates/{name}/stop")
