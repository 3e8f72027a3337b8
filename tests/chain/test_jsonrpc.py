"""The JSON-RPC client against a real HTTP node stand-in on 127.0.0.1: batching, per-call errors, retries of
transient failures and clean refusals of the rest."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chain.explorers.jsonrpc import JsonRpc, RpcFailure, http_web3
from chain.explorers.port import ExplorerError, ExplorerUnavailable
from tests.services import free_port


class Node:
    """Answers each POST with the next scripted (status, body); a body of None echoes results per request id."""

    def __init__(self):
        self.script: list[tuple[int, bytes | None]] = []
        self.received: list = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.received.append(request)
                status, body = node.script.pop(0) if node.script else (200, None)
                if body is None:
                    body = json.dumps(_results(request)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body[:1] in b"[{" else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _results(request):
    """eth_blockNumber answers 0x10; eth_fail answers a JSON-RPC error; anything else is a missing method."""
    def one(call):
        if call["method"] == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": call["id"], "result": "0x10"}
        if call["method"] == "eth_fail":
            return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32000, "message": "header not found"}}
        return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32601, "message": "the method does not exist"}}
    return [one(call) for call in request] if isinstance(request, list) else one(request)


@pytest.fixture
def node() -> Iterator[Node]:
    running = Node()
    yield running
    running.server.shutdown()
    running.server.server_close()


def client(url: str, sleeps: list[float] | None = None) -> JsonRpc:
    return JsonRpc(http_web3(url, connect_timeout=1, read_timeout=2), retries=2, backoff_seconds=0.3,
                   sleep=(sleeps if sleeps is not None else []).append)


def test_a_batch_is_one_round_trip_and_each_call_keeps_its_own_answer(node):
    rpc = client(node.url)
    answers = rpc.batch([("eth_blockNumber", []), ("eth_fail", []), ("eth_nothing", [])])
    assert answers[0] == "0x10" and rpc.round_trips == 1 and len(node.received) == 1
    assert answers[1] == RpcFailure(-32000, "header not found")
    assert answers[2] == RpcFailure(-32601, "the method does not exist")


def test_one_call_that_fails_raises_with_the_node_s_code(node):
    with pytest.raises(ExplorerError, match="header not found") as failed:
        client(node.url).call("eth_fail", [])
    assert failed.value.extra["code"] == -32000


def test_transient_http_failures_are_retried_with_backoff(node):
    node.script = [(503, b'{"error": "busy"}'), (429, b'{"error": "slow down"}')]
    sleeps: list[float] = []
    rpc = client(node.url, sleeps)
    assert rpc.call("eth_blockNumber", []) == "0x10"
    assert rpc.round_trips == 3 and sleeps == [0.3, 0.6]


def test_a_node_that_stays_down_is_unavailable_after_the_retries(node):
    node.script = [(503, b"{}")] * 3
    sleeps: list[float] = []
    with pytest.raises(ExplorerUnavailable):
        client(node.url, sleeps).call("eth_blockNumber", [])
    assert len(node.received) == 3 and sleeps == [0.3, 0.6]


def test_a_refusal_that_is_not_transient_is_not_retried(node):
    node.script = [(401, b'{"error": "bad key"}')]
    with pytest.raises(ExplorerError, match="HTTP 401"):
        client(node.url).call("eth_blockNumber", [])
    assert len(node.received) == 1


def test_an_answer_that_is_not_json_rpc_is_an_error_not_a_crash(node):
    node.script = [(200, b"<html>maintenance</html>")]
    with pytest.raises(ExplorerError, match="unreadable"):
        client(node.url).call("eth_blockNumber", [])
    assert len(node.received) == 1


def test_a_node_that_refuses_batches_says_so(node):
    node.script = [(200, b'{"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "batch disabled"}}')]
    with pytest.raises(ExplorerError, match="refused the batch: batch disabled"):
        client(node.url).batch([("eth_blockNumber", []), ("eth_blockNumber", [])])


def test_a_closed_port_is_unavailable_after_the_retries():
    sleeps: list[float] = []
    with pytest.raises(ExplorerUnavailable, match="did not answer"):
        client(f"http://127.0.0.1:{free_port()}", sleeps).call("eth_blockNumber", [])
    assert sleeps == [0.3, 0.6]
