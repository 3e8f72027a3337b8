"""A real HTTP server on 127.0.0.1 in the test process, answering from a route table."""
from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FIXTURES = Path(__file__).parent / "fixtures"
Answer = tuple[int, dict[str, str], bytes]


def fixture(name: str) -> bytes:
    """A recorded response body."""
    return (FIXTURES / name).read_bytes()


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that lets a client go away (time-out tests) without a traceback."""

    def handle_error(self, request, client_address):
        # A client that gave up mid-answer is expected in time-out tests; anything else still prints.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def start(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    """Serve from a daemon thread until `stop(server)`."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer) -> None:
    """Shut the server down and close its socket."""
    server.shutdown()
    server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    """Write one whole answer from a handler: the status, the headers, Content-Length and the body."""
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class HttpPeer:
    """Routes map a path to a callable(query) -> (status, headers, body); requests are logged."""

    def __init__(self, routes: dict[str, Callable[[dict], Answer]]):
        self.routes = routes
        self.requests: list[tuple[str, dict]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                peer.requests.append((url.path, query))
                route = peer.routes.get(url.path)
                status, headers, body = route(query) if route else (404, {}, b"Not Found")
                send(self, status, body, headers)

            def log_message(self, *args):
                return None

        self.server = start(QuietServer(("127.0.0.1", 0), Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Shut the server down."""
        stop(self.server)


def json_answer(body: bytes | dict | list, status: int = 200) -> Callable[[dict], Answer]:
    """A route that always gives the same JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda query: (status, {"Content-Type": "application/json"}, data)


def in_turn(*answers: Callable[[dict], Answer]) -> Callable[[dict], Answer]:
    """A route answering with each in turn, then repeating the last."""
    calls = iter(answers)
    last: list = []

    def route(query):
        last[:] = [next(calls, last[0] if last else answers[-1])]
        return last[0](query)
    return route
