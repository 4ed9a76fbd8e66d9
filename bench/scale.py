#!/usr/bin/env python3
"""Scale run (bench/scale.sh runs it under a private keyring): SESSIONS headless sessions, each in
its own `holdfast launch` process, through real tinyproxy exits with passwords (four exits, leaving
from 127.0.0.2-5), each on a page that polls the loopback test site once a second, for DURATION
seconds. Each page also pays once while calm, then makes a token refresh fail (which opens the
session's risk window) and pays every 10 s from then on: every payment made in the window must be
held by the guard (blocked by its policy, as `holdfast launch` alone has no app to ask) and none
may reach the site. Reports Holdfast's CPU share and memory beside the browsers', compares every
session's health rows with the requests the site saw (none may be lost) and the pages' payments
with the guard's holds (none may be missed). No timed assertion.
usage: bench/scale.py HOLDFAST_BIN NTP_SERVER [SESSIONS] [DURATION_S]"""
import collections, http.server, json, os, signal, sqlite3, subprocess, sys, tempfile, threading, time

binary, ntp = sys.argv[1], sys.argv[2]
sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 20
duration = float(sys.argv[4]) if len(sys.argv) > 4 else 300
EXITS = 4
USER, PASS = "scale", "s3cret-scale"
TICK = os.sysconf("SC_CLK_TCK")

hits = collections.Counter()
# Payments that reached the site, while calm and in the risk window; what each page says it tried.
paid_calm, paid_window, tried = collections.Counter(), collections.Counter(), {}
lock = threading.Lock()
stopping = threading.Event()


class Site(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path, _, query = self.path.partition("?")
        args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/ip":
            body = self.client_address[0]
        elif path == "/page":
            # Polls once a second until the site says stop (so the count is final before the
            # sessions are stopped: a request cut by the stop itself is not a lost row).
            body = PAGE.replace("$T", args.get("t", ""))
        elif path == "/data":
            with lock:
                hits[args.get("t", "")] += 1
            body = '{"stop":true}' if stopping.is_set() else '{"stop":false}'
        else:
            body = ""
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        path, _, query = self.path.partition("?")
        args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 200
        with lock:
            if path == "/api/refresh":
                status = 503
            elif path == "/api/payment":
                (paid_calm if args.get("calm") else paid_window)[args.get("t", "")] += 1
            elif path == "/final":
                tried[args.get("t", "")] = int(args.get("p", "0"))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


# Polls once a second until the site says stop (so the count is final before the sessions are
# stopped: a request cut by the stop itself is not a lost row). Pays once while calm, fails a
# token refresh (the window opens within well under 2 s), then pays every 10 s.
PAGE = """<title>poll</title><script>
const t = '$T', post = (u) => fetch(u, {method: 'POST', body: 'x'}).catch(() => {});
let n = 0, p = 0, payments;
const poll = setInterval(() => fetch('/data?t=' + t + '&n=' + (n++), {cache: 'no-store'})
  .then(r => r.json()).then(j => { if (j.stop) { clearInterval(poll); clearInterval(payments); post('/final?t=' + t + '&p=' + p); } }), 1000);
(async () => {
  await post('/api/payment?t=' + t + '&calm=1');
  await post('/api/refresh?t=' + t);
  await new Promise(r => setTimeout(r, 2000));
  payments = setInterval(() => { p++; post('/api/payment?t=' + t); }, 10000);
})();
</script>"""


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port):
    import socket
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f"port {port} never listened")


def cpu_s(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK
    except OSError:
        return 0.0


def kb(pid, field, name):
    try:
        for line in open(f"/proc/{pid}/{name}"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def group(pgid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.getpgid(int(p)) == pgid:
                    out.append(int(p))
            except OSError:
                pass
    return out


tmp = tempfile.mkdtemp(prefix="holdfast-scale.")
site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
threading.Thread(target=site.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{site.server_address[1]}"
proxies = []
for i in range(EXITS):
    port = free_port()
    conf = os.path.join(tmp, f"tp{i}.conf")
    open(conf, "w").write(f"Port {port}\nListen 127.0.0.1\nBind 127.0.0.{i + 2}\nTimeout 600\nMaxClients 512\n"
                          f"LogLevel Critical\nPidFile \"{tmp}/tp{i}.pid\"\nAllow 127.0.0.1\nBasicAuth {USER} {PASS}\n")
    proxies.append((subprocess.Popen(["tinyproxy", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL), port))
for _, port in proxies:
    wait_port(port)

home = os.path.join(tmp, "home")
env = dict(os.environ, HOLDFAST_HOME=home, HOLDFAST_ECHO_URLS=base + "/ip", HOLDFAST_GEO_URLS="off", HOLDFAST_NTP_SERVERS=ntp)
env.pop("DISPLAY", None)
for i in range(sessions):
    port = proxies[i % EXITS][1]
    subprocess.run([binary, "template", "add", f"t{i}", "--exit", f"http://{USER}:{PASS}@127.0.0.1:{port}",
                    "--start-url", f"{base}/page?t=t{i}"], env=env, check=True, stdout=subprocess.DEVNULL)

launched, procs = [], []
t0 = time.time()
for i in range(sessions):
    p = subprocess.Popen([binary, "launch", f"t{i}", "--headless", "--json"], env=env, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line:
        raise SystemExit(f"t{i} did not launch (exit {p.wait()})")
    launched.append(json.loads(line))
    procs.append(p)
up = time.time() - t0
print(f"{sessions} sessions through {EXITS} tinyproxy exits launched in {up:.1f} s; running {duration:.0f} s…", flush=True)
start_cpu_h = sum(cpu_s(p.pid) for p in procs)
start_cpu_b = {info["pid"]: sum(cpu_s(q) for q in group(info["pid"])) for info in launched}
t_run = time.time()
peak_rss = 0
while time.time() - t_run < duration:
    time.sleep(min(10, max(0.1, duration - (time.time() - t_run))))
    peak_rss = max(peak_rss, sum(kb(p.pid, "VmRSS", "status") for p in procs))
wall = time.time() - t_run
cpu_h = sum(cpu_s(p.pid) for p in procs) - start_cpu_h
cpu_b = sum(sum(cpu_s(q) for q in group(info["pid"])) for info in launched) - sum(start_cpu_b.values())
rss = [kb(p.pid, "VmRSS", "status") / 1024 for p in procs]
pss = [kb(p.pid, "Pss", "smaps_rollup") / 1024 for p in procs]
browsers_pss = sum(sum(kb(q, "Pss", "smaps_rollup") for q in group(info["pid"])) for info in launched) / 1024

# Every page stops polling at its next request; then the rows of the last ones are flushed.
stopping.set()
time.sleep(3)
for p in procs:
    p.send_signal(signal.SIGINT)
codes = [p.wait(timeout=120) for p in procs]
for tp, _ in proxies:
    tp.terminate()
    tp.wait()
site.shutdown()

db = sqlite3.connect(os.path.join(home, "holdfast.db"))
ids = dict(db.execute("SELECT name, id FROM templates"))
lost, extra, rows_total = 0, 0, 0
for i in range(sessions):
    name = f"t{i}"
    rows = db.execute("SELECT count(*) FROM request_outcomes WHERE template_id = ? AND url LIKE ?",
                      (ids[name], f"{base}/data%")).fetchone()[0]
    rows_total += rows
    seen = hits[name]
    lost += max(0, seen - rows)
    extra += max(0, rows - seen)
holds = dict(db.execute("SELECT decision, count(*) FROM guard_holds WHERE action = 'payment' GROUP BY decision"))
held = sum(holds.values())
tried_sum = sum(tried.values())

cores = os.cpu_count()
print(f"after {wall:.0f} s ({cores} cores):")
print(f"  CPU: holdfast {cpu_h:.1f} s ({100 * cpu_h / wall / cores:.2f}% of the machine), browsers {cpu_b:.1f} s"
      f" ({100 * cpu_b / wall / cores:.1f}%); holdfast's share of the sessions' CPU {100 * cpu_h / (cpu_h + cpu_b):.1f}%")
print(f"  memory: holdfast RSS per process median {sorted(rss)[len(rss) // 2]:.1f} MB, sum {sum(rss):.0f} MB"
      f" (peak sum {peak_rss / 1024:.0f}), PSS sum {sum(pss):.0f} MB; browsers' PSS {browsers_pss:.0f} MB")
print(f"  requests the site saw: {sum(hits.values())}; health rows for them: {rows_total};"
      f" lost (seen by the site, no row): {lost}; rows without a hit: {extra}")
print(f"  payments while calm: {sum(paid_calm.values())} of {sessions} reached the site (none held: {held == tried_sum})")
print(f"  payments in the risk window: pages tried {tried_sum} (reports from {len(tried)} of {sessions} pages),"
      f" guard held {held} ({holds}), reached the site {sum(paid_window.values())};"
      f" missed (tried, not held): {max(0, tried_sum - held)}")
print(f"  launch exit codes: {sorted(set(codes))}")
