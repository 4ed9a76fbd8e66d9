"""The one local test site of the end-to-end tests, on 127.0.0.1 (port 0).

Every request is recorded as (method, path, body, peer address). `/ip` echoes the peer (the
address an exit leaves from: the egress check); `/geo` answers like a public IP-info service by
peer (127.0.0.2 in Germany, 127.0.0.3 in Japan, any other unknown: 404); other GET paths answer a page from `pages` or a
handler from `get_routes` (by prefix), else a plain "ok" page; POSTs answer from `post_routes`,
else "ok". A test adds the pages and routes it needs."""

import http.server
import threading
import time
from typing import Callable

# (status, body, content type)
Answer = tuple[int, bytes, str]


class Site:
    def __init__(self) -> None:
        self.hits: list[tuple[str, str, str, str]] = []
        self.pages: dict[str, bytes] = {}
        self.get_routes: dict[str, Callable[[str], Answer]] = {}
        self.post_routes: dict[str, Callable[[str], Answer]] = {}
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, answer: Answer) -> None:
                status, body, kind = answer
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 (http.server's name)
                site.hits.append(("GET", self.path, "", self.client_address[0]))
                self._answer(site._get(self.path, self.client_address[0]))

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                site.hits.append(("POST", self.path, body, self.client_address[0]))
                route = site.post_routes.get(self.path)
                self._answer(route(body) if route else (200, b"ok", "text/plain"))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _get(self, path: str, peer: str) -> Answer:
        if path == "/ip":
            return 200, peer.encode(), "text/plain"
        if path == "/geo":
            where = {"127.0.0.2": ("DE", "Europe/Berlin"), "127.0.0.3": ("JP", "Asia/Tokyo")}.get(peer)
            if where is None:
                return 404, b'{"error": "unknown address"}', "application/json"
            body = f'{{"ip": "{peer}", "country": "{where[0]}", "timezone": "{where[1]}"}}'
            return 200, body.encode(), "application/json"
        if path in self.pages:
            return 200, self.pages[path], "text/html"
        for prefix, route in self.get_routes.items():
            if path.startswith(prefix):
                return route(path)
        return 200, b"<html>ok</html>", "text/html"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def seen(self) -> list[str]:
        """Every GET path requested so far."""
        return [p for m, p, _, _ in list(self.hits) if m == "GET"]

    def posts(self, path: str) -> list[str]:
        """The bodies of the POSTs to `path`."""
        return [b for m, p, b, _ in list(self.hits) if m == "POST" and p == path]

    def posters(self, path: str) -> list[str]:
        """The address each POST to `path` came from (the exit's egress)."""
        return [ip for m, p, _, ip in list(self.hits) if m == "POST" and p == path]

    def wait_path(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while path not in self.seen():
            assert time.monotonic() < deadline, f"the browser never asked for {path}: {self.seen()}"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.shutdown()


if __name__ == "__main__":
    # Standalone for shell tests (scripts/test-package.sh): prints its port, serves until killed.
    standalone = Site()
    print(standalone.port, flush=True)
    threading.Event().wait()
