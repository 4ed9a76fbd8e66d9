#!/usr/bin/env python3
"""Automation API benchmark, one run, release build (bench/api.sh runs it):
  1. start -> ws_endpoint through `POST /v1/templates/T/start` vs `holdfast launch --json --cdp`
     to its JSON line, alternating, same template (direct exit, local echo); target <= 1.05x;
  2. requests/s of `GET /v1/sessions` with N running sessions (recorded);
  3. `holdfast serve`'s idle resident memory (target <= 30 MB).
usage: bench/api.py HOLDFAST_BIN [ROUNDS] [SESSIONS]"""
import json, os, statistics, subprocess, sys, tempfile, time, urllib.request

binary = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 100

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_site  # noqa: E402

echo, site = loopback_site.start()
home = tempfile.mkdtemp(prefix="holdfast-api-bench.")
env = dict(os.environ, HOLDFAST_HOME=home, HOLDFAST_ECHO_URLS=site + "/ip", HOLDFAST_GEO_URLS="off",
           HOLDFAST_NTP_SERVERS="127.0.0.1:9", DBUS_SESSION_BUS_ADDRESS=f"unix:path={home}/no-bus")
env.pop("DISPLAY", None)

def hf(*args):
    subprocess.run([binary, *args], env=env, check=True, stdout=subprocess.DEVNULL)

for i in range(max(sessions, 1)):
    hf("template", "add", f"t{i}", "--exit", "direct", "--start-url", site + "/page")

serve = subprocess.Popen([binary, "serve", "--json"], env=env, stdout=subprocess.PIPE, text=True)
url = json.loads(serve.stdout.readline())["url"]
token = json.load(open(os.path.join(home, "api.json")))["token"]

def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body or {}).encode() if method == "POST" else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)

def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

time.sleep(1)
idle = rss_mb(serve.pid)

api, cli = [], []
for r in range(rounds):
    t = time.perf_counter()
    s = call("POST", "/v1/templates/t0/start", {"headless": True})
    api.append(time.perf_counter() - t)
    assert s["ws_endpoint"].startswith("ws://"), s
    call("POST", "/v1/templates/t0/stop")
    t = time.perf_counter()
    p = subprocess.Popen([binary, "launch", "t0", "--headless", "--json", "--cdp"], env=env, stdout=subprocess.PIPE, text=True)
    line = json.loads(p.stdout.readline())
    cli.append(time.perf_counter() - t)
    assert line["cdp"].startswith("ws://"), line
    p.terminate(); p.wait()

def ms(xs):
    return statistics.median(xs) * 1000

print(f"holdfast serve resident memory, idle: {idle:.1f} MB (target <= 30 MB)")
print(f"start -> ws_endpoint, template with a direct exit, {rounds} rounds alternating (median):")
print(f"  holdfast launch --json --cdp to its line  {ms(cli):7.1f} ms   (baseline)")
print(f"  POST /v1/templates/t0/start answered       {ms(api):7.1f} ms   ratio {ms(api)/ms(cli):.2f}x  (target <= 1.05x)")

started = 0
t = time.perf_counter()
for i in range(sessions):
    call("POST", f"/v1/templates/t{i}/start", {"headless": True})
    started += 1
up = time.perf_counter() - t
assert len(call("GET", "/v1/sessions")) == sessions
n, t = 0, time.perf_counter()
while time.perf_counter() - t < 5:
    call("GET", "/v1/sessions")
    n += 1
rps = n / (time.perf_counter() - t)
print(f"GET /v1/sessions with {sessions} running sessions: {rps:.0f} requests/s (one client, sequential; {sessions} started in {up:.0f} s)")
busy = rss_mb(serve.pid)
t = time.perf_counter()
serve.terminate(); serve.wait(timeout=300)
print(f"holdfast serve resident memory with {sessions} sessions: {busy:.1f} MB; SIGTERM closed them all in {time.perf_counter() - t:.1f} s")
