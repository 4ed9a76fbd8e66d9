# Start a Holdfast account through the local API and drive it with Selenium + chromedriver.
# usage: python selenium_start.py TEMPLATE URL     (holdfast serve must be running)
import json, os, sys, urllib.request
from selenium import webdriver

home = os.environ.get("HOLDFAST_HOME") or os.path.expanduser("~/.local/share/holdfast")
api = json.load(open(os.path.join(home, "api.json")))  # {"url", "token"}, mode 0600

def call(path, body=None):
    req = urllib.request.Request(api["url"] + path, data=json.dumps(body or {}).encode(),
        headers={"Authorization": "Bearer " + api["token"], "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))

name, url = sys.argv[1], sys.argv[2]
session = call(f"/v1/templates/{name}/start", {"headless": True})
try:
    options = webdriver.ChromeOptions()
    options.debugger_address = session["debugger_address"]  # attach; start nothing
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.get(url)
    print(driver.title, "|", driver.find_element("tag name", "body").text)
    driver.quit()  # ends chromedriver's session; the browser is Holdfast's to stop
finally:
    call(f"/v1/templates/{name}/stop")
