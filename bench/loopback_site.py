"""The loopback site the benchmarks' sessions open: `/ip` echoes the caller's address (the egress
echo), `/geo` says where that address is (an IP-info service), anything else answers a small
page."""
import http.server, threading


# `/geo`: where an IP-info service would place each loopback exit (ipinfo.io's shape).
PLACES = {"127.0.0.2": ("DE", "Europe/Berlin"), "127.0.0.3": ("JP", "Asia/Tokyo")}


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        peer = self.client_address[0]
        if self.path == "/ip":
            body = peer.encode()
        elif self.path == "/geo" and peer in PLACES:
            country, tz = PLACES[peer]
            body = f'{{"ip": "{peer}", "country": "{country}", "timezone": "{tz}"}}'.encode()
        else:
            body = b"<title>bench</title>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def start() -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serves `Echo` on a free port of 127.0.0.1; returns the server and its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
