#!/usr/bin/env python3
"""Session memory benchmark, one run, release build (bench/session_memory.sh runs it).

Idle headless sessions (direct exit, one loopback start page each), measured after they settle:
  1. separate `holdfast launch` processes, 1, 10 and 20 at once: each Holdfast process's RSS and
     PSS (target: <= 15 MB RSS per session process);
  2. one `holdfast serve` process (sessions kept in-process, as the desktop app keeps them) at
     0, 1, 10 and 20 sessions: its RSS (target: Holdfast itself <= 150 MB with 20 sessions);
and, in the same run, the browsers' own memory (PSS of each session's Chromium process group) as
the baseline Holdfast is compared against.
usage: bench/session_memory.py HOLDFAST_BIN NTP_SERVER [ROUNDS]"""
import atexit, json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

binary, ntp = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
COUNTS = (1, 10, 20)
SETTLE = 3.0  # seconds after the last launch: first page loaded, first flushes written


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_site  # noqa: E402

echo, site = loopback_site.start()
home = tempfile.mkdtemp(prefix="holdfast-memory-bench.")
# Profiles of every session: removed at exit (the sessions are stopped by then).
atexit.register(shutil.rmtree, home, ignore_errors=True)
env = dict(os.environ, HOLDFAST_HOME=home, HOME=home, HOLDFAST_ECHO_URLS=site + "/ip", HOLDFAST_GEO_URLS="off",
           HOLDFAST_NTP_SERVERS=ntp, DBUS_SESSION_BUS_ADDRESS=f"unix:path={home}/no-bus")
env.pop("DISPLAY", None)


def hf(*args):
    subprocess.run([binary, *args], env=env, check=True, stdout=subprocess.DEVNULL)


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_pss_mb(pgid):
    """PSS of every process in a process group (a browser and its helpers)."""
    total = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.getpgid(int(p)) == pgid:
                    total += pss_kb(int(p))
            except OSError:
                pass
    return total / 1024


def mb(kb):
    return kb / 1024


for i in range(max(COUNTS)):
    hf("template", "add", f"t{i}", "--exit", "direct", "--start-url", site + "/page")


def separate(n):
    procs, infos = [], []
    for i in range(n):
        p = subprocess.Popen([binary, "launch", f"t{i}", "--headless", "--json"], env=env,
                             stdout=subprocess.PIPE, text=True)
        infos.append(json.loads(p.stdout.readline()))
        procs.append(p)
    time.sleep(SETTLE)
    rss = [mb(status_kb(p.pid, "VmRSS")) for p in procs]
    pss = [mb(pss_kb(p.pid)) for p in procs]
    browsers = [group_pss_mb(info["pid"]) for info in infos]
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        p.wait(timeout=60)
    return rss, pss, browsers


def in_one_process():
    serve = subprocess.Popen([binary, "serve", "--json", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True)
    url = json.loads(serve.stdout.readline())["url"]
    token = json.load(open(os.path.join(home, "api.json")))["token"]

    def call(method, path, body=None):
        req = urllib.request.Request(url + path, method=method,
                                     data=json.dumps(body or {}).encode() if method == "POST" else None,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    time.sleep(SETTLE)
    out = {0: (mb(status_kb(serve.pid, "VmRSS")), mb(pss_kb(serve.pid)), 0.0)}
    started, pids = 0, []
    for n in COUNTS:
        while started < n:
            s = call("POST", f"/v1/templates/t{started}/start", {"headless": True})
            pids.append(s["pid"])
            started += 1
        time.sleep(SETTLE)
        out[n] = (mb(status_kb(serve.pid, "VmRSS")), mb(pss_kb(serve.pid)),
                  sum(group_pss_mb(p) for p in pids))
    serve.terminate()
    serve.wait(timeout=300)
    return out


for r in range(1, rounds + 1):
    print(f"round {r}:")
    print("  separate `holdfast launch` processes (idle, headless, one page each):")
    for n in COUNTS:
        rss, pss, browsers = separate(n)
        print(f"    {n:2} sessions: holdfast RSS per process median {statistics.median(rss):5.1f} MB, max {max(rss):5.1f}"
              f" (target <= 15: {'PASS' if max(rss) <= 15 else 'FAIL'}); PSS median {statistics.median(pss):5.1f} MB;"
              f" browser PSS per session median {statistics.median(browsers):6.1f} MB;"
              f" holdfast / browser {statistics.median(pss) / statistics.median(browsers):.2f}x")
    print("  one `holdfast serve` process keeping the sessions (as the app does):")
    one = in_one_process()
    base = one[0][0]
    for n, (rss, pss, browsers) in one.items():
        extra = "" if n == 0 else (f"; +{(rss - base) / n:4.2f} MB per session; browsers' PSS {browsers:7.1f} MB;"
                                   f" holdfast / browsers {pss / browsers:.3f}x")
        target = f" (target <= 150: {'PASS' if rss <= 150 else 'FAIL'})" if n == 20 else ""
        print(f"    {n:2} sessions: RSS {rss:6.1f} MB, PSS {pss:6.1f} MB{target}{extra}")
