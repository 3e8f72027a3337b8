"""A webhook subscriber over a real socket for the outbound webhook tests."""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import ClassVar


class Subscriber(BaseHTTPRequestHandler):
    """Records each signed event; answers with the next scripted status (200 once the script runs out)."""

    received: ClassVar[list] = []
    script: ClassVar[list[int]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        status = type(self).script.pop(0) if type(self).script else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *_args):
        return
