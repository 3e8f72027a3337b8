"""The test peers stay quiet when a client gives up, and still report real handler errors."""
from __future__ import annotations

import socket
import time
from http.server import BaseHTTPRequestHandler

from tests.chain.http_peer import QuietServer


def _serve_one(handler_body) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            handler_body(self)

        def log_message(self, *args):
            return None

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False  # wait for the handler so its error output is captured
    client = socket.create_connection(server.server_address)
    client.sendall(b"GET / HTTP/1.0\r\n\r\n")
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()  # the client gives up before the answer (as a read time-out does)
    server.handle_request()
    server.server_close()


def _write_after_client_left(handler) -> None:
    time.sleep(0.2)
    for _ in range(50):
        handler.wfile.write(b"x" * 65536)
        handler.wfile.flush()


def test_a_client_that_went_away_prints_no_traceback(capfd):
    _serve_one(_write_after_client_left)
    assert "Traceback" not in capfd.readouterr().err


def test_a_real_handler_error_still_prints_its_traceback(capfd):
    def broken(handler):
        raise KeyError("no such route")

    _serve_one(broken)
    assert "KeyError: 'no such route'" in capfd.readouterr().err
