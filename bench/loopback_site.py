"""The loopback site the benchmarks' sessions open: `/ip` echoes the caller's address (the egress
echo), anything else answers a small page."""
import http.server, threading


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = (self.client_address[0] if self.path == "/ip" else "<title>bench</title>").encode()
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
