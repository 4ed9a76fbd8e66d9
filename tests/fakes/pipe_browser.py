#!/usr/bin/env python3
"""A stand-in for Chromium for the one fault real Chromium cannot be made to produce: its
DevTools pipe closing while the browser keeps running. It speaks the real protocol of
--remote-debugging-pipe (JSON commands on fd 3, replies on fd 4, each ended by NUL) well enough
for a launch without start URLs — its first tab, auto-attached as Chromium attaches it, and the
browser egress check, for which it fetches the echo URL through the --proxy-server it was given,
as a browser would (in the first tab with Network.loadNetworkResource, or in a hidden tab) —
then closes both pipe
ends after FAKE_PIPE_CLOSE_AFTER seconds (default 2) and runs on until SIGTERM."""
import json
import os
import signal
import sys
import threading
import time
import urllib.request

proxy = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--proxy-server="))
echo = os.environ.get("HOLDFAST_ECHO_URLS", "").split(",")[0]
close_after = float(os.environ.get("FAKE_PIPE_CLOSE_AFTER", "2"))
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


def egress_ip():
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    with opener.open(echo, timeout=10) as r:
        return r.read().decode().strip()


def reply(msg, result):
    out = {"id": msg["id"], "result": result}
    if "sessionId" in msg:
        out["sessionId"] = msg["sessionId"]
    os.write(4, json.dumps(out).encode() + b"\0")


def event(method, params):
    os.write(4, json.dumps({"method": method, "params": params}).encode() + b"\0")


def serve():
    buf = b""
    n = 0
    while True:
        try:
            chunk = os.read(3, 65536)
        except OSError:
            return
        if not chunk:
            return
        buf += chunk
        while b"\0" in buf:
            raw, buf = buf.split(b"\0", 1)
            msg = json.loads(raw)
            method = msg.get("method", "")
            n += 1
            if method == "Browser.getVersion":
                reply(msg, {"product": "FakeChromium/1.0", "protocolVersion": "1.3"})
            elif method == "Target.createTarget":
                reply(msg, {"targetId": f"T{n}"})
            elif method == "Target.attachToTarget":
                reply(msg, {"sessionId": f"S{n}"})
            elif method == "Page.navigate":
                reply(msg, {"frameId": "F", "loaderId": "L"})
            elif method == "Runtime.evaluate":
                reply(msg, {"result": {"type": "string", "value": egress_ip()}})
            elif method == "Target.setAutoAttach" and "sessionId" not in msg:
                reply(msg, {})
                # The start-up tab, paused until the observer lets it run.
                event("Target.attachedToTarget", {
                    "sessionId": "FIRST",
                    "targetInfo": {"targetId": "TAB", "type": "page", "url": "about:blank",
                                   "title": "", "attached": True, "canAccessOpener": False},
                    "waitingForDebugger": True,
                })
            elif method == "Page.getFrameTree":
                reply(msg, {"frameTree": {"frame": {"id": "F", "loaderId": "L", "url": "about:blank"}}})
            elif method == "Network.loadNetworkResource":
                reply(msg, {"resource": {"success": True, "httpStatusCode": 200, "stream": "IO1"}})
            elif method == "IO.read":
                reply(msg, {"data": egress_ip(), "base64Encoded": False, "eof": True})
            else:
                reply(msg, {})


threading.Thread(target=serve, daemon=True).start()
time.sleep(close_after)
os.close(3)
os.close(4)
while True:
    time.sleep(3600)
