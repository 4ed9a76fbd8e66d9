"""`holdfast check` with and without asking where the exit is, side by side in one run.

A real tinyproxy on loopback leaving from 127.0.0.2 is the exit; the loopback site answers the
egress echo (`/ip`) and the IP-info request (`/geo`). Each round runs the check once with
`HOLDFAST_GEO_URLS=off` and once with the site's `/geo`, alternating which goes first; prints the
medians and their ratio.   python3 bench/geo.py BIN ROUNDS"""
import json, os, socket, statistics, subprocess, sys, tempfile, time

import loopback_site

binary, rounds = sys.argv[1], int(sys.argv[2])
tmp = tempfile.mkdtemp(prefix="hf-geo-bench-")
server, base = loopback_site.start()

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
conf = f"{tmp}/tinyproxy.conf"
with open(conf, "w") as f:
    f.write(f"Port {port}\nListen 127.0.0.1\nBind 127.0.0.2\nTimeout 60\nAllow 127.0.0.1\n"
            f'LogFile "{tmp}/tp.log"\nPidFile "{tmp}/tp.pid"\n')
proxy = subprocess.Popen(["tinyproxy", "-d", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "tinyproxy did not start"
            time.sleep(0.02)
    env = dict(os.environ, HOLDFAST_HOME=f"{tmp}/home", HOME=f"{tmp}/home", HOLDFAST_ECHO_URLS=base + "/ip",
               HOLDFAST_NTP_SERVERS="127.0.0.1:9", DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp}/no-bus")
    subprocess.run([binary, "template", "add", "acct", "--exit", f"http://127.0.0.1:{port}",
                    "--timezone", "Europe/Berlin", "--locale", "de-DE"], env=env, check=True, capture_output=True)

    def check(geo: str) -> float:
        t = time.perf_counter()
        out = subprocess.run([binary, "check", "acct", "--json"], env=dict(env, HOLDFAST_GEO_URLS=geo),
                             capture_output=True, text=True)
        took = (time.perf_counter() - t) * 1000
        report = json.loads(out.stdout)
        assert report["egress"]["ip"] == "127.0.0.2", report
        if geo != "off":
            assert report["geo"]["verdict"] == "consistent", report["geo"]
        return took

    check("off")  # warm the page cache and the store
    off, on = [], []
    for r in range(rounds):
        pair = [("off", off), (base + "/geo", on)]
        for geo, into in pair if r % 2 == 0 else reversed(pair):
            into.append(check(geo))
    m_off, m_on = statistics.median(off), statistics.median(on)
    print(f"holdfast check, {rounds} rounds each (ms, median):")
    print(f"  location off (egress and clock only)  {m_off:7.1f}")
    print(f"  location on  (+ IP-info through exit) {m_on:7.1f}")
    print(f"  ratio on/off                          {m_on / m_off:7.2f}x  (+{m_on - m_off:.1f} ms)")
finally:
    proxy.kill()
    proxy.wait()
    server.shutdown()
