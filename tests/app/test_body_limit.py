"""Over 64 KiB is 413 whatever the transfer encoding: a chunked body is refused, never cut short (item 9)."""
from __future__ import annotations

import io
import json
import socket
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.edge import MAX_BODY_BYTES
from incidents.models import Report
from tests.factories import report_body

VALID = json.dumps(report_body("U1001")).encode()
PADDED = VALID + b" " * (1024 * 1024)  # valid JSON, then a mebibyte of spaces
LONG = json.dumps(report_body("U1001", description="x" * 3000, transactions=[
    {"chain": "ethereum", "hash": "0x" + f"{i:064x}"} for i in range(1000)])).encode()  # JSON past 64 KiB


@pytest.fixture
def server(app):
    """The application on a real threaded HTTP server on loopback (it sets wsgi.input_terminated)."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()


def post_chunked(port: int, body: bytes, chunk: int = 8192) -> tuple[int, bytes]:
    """POST /api/v1/reports with Transfer-Encoding: chunked over a socket; the status and the answer's body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        try:
            for start in range(0, len(body), chunk):
                part = body[start:start + chunk]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        reader = sock.makefile("rb")
        status = int(reader.readline().split(b" ", 2)[1])
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, reader.read(length)  # the server may keep reading the rest: do not wait for it to close


def reports(app) -> int:
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Report))


def test_a_small_chunked_report_is_taken_over_http(app, server):
    status, _ = post_chunked(server, VALID, chunk=100)
    assert status == 201


@pytest.mark.parametrize("body", [PADDED, LONG], ids=["json-then-a-mebibyte-of-spaces", "json-past-64-kib"])
def test_a_chunked_body_over_64_kib_is_413_over_http(app, server, body):
    assert len(body) > MAX_BODY_BYTES
    status, content = post_chunked(server, body)
    assert status == 413, content[:300]
    assert json.loads(content)["type"] == "/problems/payload-too-large"
    assert reports(app) == 0


def test_a_chunked_body_of_exactly_64_kib_is_read_whole(app, server):
    exact = VALID + b" " * (MAX_BODY_BYTES - len(VALID))
    status, _ = post_chunked(server, exact)
    assert status == 201


@pytest.mark.parametrize("body", [PADDED, LONG], ids=["json-then-a-mebibyte-of-spaces", "json-past-64-kib"])
def test_a_streamed_body_over_64_kib_is_413_in_the_test_client(app, client, body):
    response = client.post("/api/v1/reports", input_stream=io.BytesIO(body),
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert reports(app) == 0


def test_a_declared_length_over_64_kib_is_413(app, client):
    response = client.post("/api/v1/reports", data=PADDED, content_type="application/json")
    assert response.status_code == 413
