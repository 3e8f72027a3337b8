"""An HTTP proxy in front of a JSON-RPC node that counts the requests reaching the node."""
from __future__ import annotations

import urllib.request
from http.server import BaseHTTPRequestHandler

from tests.chain.http_peer import QuietServer, send, start, stop


class CountingProxy:
    """Forwards every POST to `target` and counts them (one HTTP request = one round trip)."""

    def __init__(self, target: str):
        self.count = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.count += 1
                request = urllib.request.Request(target, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as answer:
                    data = answer.read()
                send(self, 200, data, {"Content-Type": "application/json"})

            def log_message(self, *args):
                return None

        self.server = start(QuietServer(("127.0.0.1", 0), Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Shut the proxy down."""
        stop(self.server)
