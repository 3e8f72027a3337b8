"""Stand-ins for the outside vendors of a production stack on one machine: an SMTP server and a
Twilio-compatible SMS API, each writing what it is given as JSON lines (`python -m deploy.vendors`).

Lockdesk talks to them exactly as to the real ones (SMTP_URL, SMS_GATEWAY=twilio with TWILIO_API_BASE),
so production mode runs unchanged; nothing leaves the machine.
"""
from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

_write_lock = threading.Lock()


def append_line(path: Path, entry: dict) -> None:
    """Add one JSON line to a record file."""
    with _write_lock, path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"received_at": datetime.now(UTC).isoformat(), **entry}, ensure_ascii=False) + "\n")


class MailRecorder:
    """An aiosmtpd handler keeping each accepted message as a line."""

    def __init__(self, path: Path):
        self.path = path

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's naming)
        """Accept and record one message."""
        message = message_from_bytes(envelope.content, policy=default_policy)
        body = message.get_body(("plain",))
        append_line(self.path, {"from": envelope.mail_from, "to": envelope.rcpt_tos, "subject": message["Subject"],
                                "text": body.get_content() if body else ""})
        return "250 Message accepted"


def sms_handler(path: Path, account_sid: str) -> type[BaseHTTPRequestHandler]:
    """Twilio's Messages endpoint for one account: records each text and answers like Twilio."""

    class TwilioMessages(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            if self.path != f"/2010-04-01/Accounts/{account_sid}/Messages.json":
                return self._reply(404, {"code": 20404, "message": "The requested resource was not found"})
            length = int(self.headers.get("Content-Length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            if not form.get("To") or not form.get("Body"):
                return self._reply(400, {"code": 21604, "message": "A 'To' phone number is required."})
            append_line(path, {"to": form["To"], "from": form.get("From"), "body": form["Body"]})
            return self._reply(201, {"sid": f"SM{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}", "status": "queued"})

        def _reply(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            """The record file is the log."""

    return TwilioMessages


def main() -> None:
    """Serve both until SIGTERM or SIGINT."""
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--sms-port", type=int, required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    smtp = Controller(MailRecorder(args.folder / "mail.jsonl"), hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    sms = ThreadingHTTPServer(("127.0.0.1", args.sms_port), sms_handler(args.folder / "sms.jsonl", args.account_sid))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=sms.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print(f"vendors: smtp on 127.0.0.1:{args.smtp_port}, sms on 127.0.0.1:{args.sms_port}", flush=True)
    stop.wait()
    sms.shutdown()
    smtp.stop()


if __name__ == "__main__":
    main()
