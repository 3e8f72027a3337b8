"""A Twilio-shaped SMS vendor over a real socket, for the SMS gateway tests."""
from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

SID, TOKEN, FROM = "AC0123456789abcdef0123456789abcdef", "auth-token-for-tests", "+15005550006"


class FakeTwilio(BaseHTTPRequestHandler):
    """Checks what Twilio checks: basic auth, the Messages path, the form fields."""

    received: list[dict] = []
    answer_status = 201

    def do_POST(self):  # noqa: N802 (http.server's naming)
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._reply(401, {"code": 20003, "message": "Authenticate"})
        if self.path != f"/2010-04-01/Accounts/{SID}/Messages.json":
            return self._reply(404, {"code": 20404, "message": "The requested resource was not found"})
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._reply(400, {"code": 21000, "message": "form expected"})
        length = int(self.headers["Content-Length"])
        form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
        if set(form) != {"To", "From", "Body"}:
            return self._reply(400, {"code": 21604, "message": "A 'To' phone number is required."})
        type(self).received.append(form)
        status = type(self).answer_status
        return self._reply(status, {"sid": "SM" + "0" * 32, "status": "queued"} if status < 300
                           else {"code": 21211, "message": "Invalid 'To' Phone Number"})

    def _reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Keep test output quiet."""
