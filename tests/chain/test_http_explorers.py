"""Esplora and Etherscan adapters against a real local HTTP server serving recorded shapes."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chain.explorers import ExplorerError, ExplorerUnavailable, TransactionNotFound
from chain.explorers.esplora import EsploraExplorer
from chain.explorers.etherscan import EtherscanClient
from chain.explorers.http import HttpClient
from chain.labels import shipped_index
from chain.tracing import TraceBounds, trace_funds
from tests.chain.http_peer import HttpPeer, fixture, in_turn, json_answer
from tests.services import free_port

ROOT = "a1" * 32
THIEF = "bc1qthief0000000000000000000000000000000000"
MULE = "bc1qmule00000000000000000000000000000000000"
SANCTIONED = "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h"
ETH_THIEF = "0x" + "11" * 20


def _text(body: str, status: int = 200):
    return lambda query: (status, {"Content-Type": "text/plain"}, body.encode())


@pytest.fixture
def peer():
    server = HttpPeer({})
    yield server
    server.stop()


def _client(peer, **options) -> HttpClient:
    return HttpClient(peer.url, sleep=lambda seconds: None, read_timeout=2, **options)


def _esplora(peer) -> EsploraExplorer:
    peer.routes.update({
        f"/tx/{ROOT}": json_answer(fixture("esplora_tx.json")),
        "/blocks/tip/height": _text("880009"),
        f"/address/{THIEF}/txs": json_answer(fixture("esplora_address_txs.json")),
    })
    return EsploraExplorer(_client(peer))


def test_esplora_transaction_has_outputs_fee_and_confirmations(peer):
    tx = _esplora(peer).get_transaction(ROOT)
    assert (tx.status, tx.confirmations, tx.block_number) == ("confirmed", 10, 880000)
    assert (tx.to_address, tx.value, tx.fee) == (THIEF, Decimal("1.2"), Decimal("0.0001"))
    assert tx.outputs == ((THIEF, Decimal("1.2")),)  # the change back to the sender is not moved


def test_esplora_funds_are_followed_to_a_sanctioned_address(peer):
    explorer = _esplora(peer)
    root = explorer.get_transaction(ROOT)
    flow = trace_funds(root, lambda addresses, after: explorer.outgoing_transfers(
        addresses, after_block=after, through_block=880009).transfers,
        bounds=TraceBounds(depth=1), labels_of=shipped_index("bitcoin").labels_of)
    received = {e.transfer.to_address: e.transfer.amount for e in flow.edges if e.hop == 2}
    assert received == {MULE: Decimal("0.7"), SANCTIONED: Decimal("0.49995")}
    assert flow.nodes[SANCTIONED].labels[0]["category"] == "sanctioned"


def test_esplora_429_is_retried_after_the_wait_the_server_asks(peer):
    waits = []
    explorer = EsploraExplorer(HttpClient(peer.url, sleep=waits.append, backoff_seconds=0.1))
    peer.routes["/blocks/tip/height"] = in_turn(
        lambda q: (429, {"Retry-After": "2"}, b"Too Many Requests"), _text("880009"))
    assert explorer.latest_block() == 880009
    assert waits == [2.0] and explorer.round_trips == 2


def test_esplora_unknown_transaction_is_not_found(peer):
    with pytest.raises(TransactionNotFound):
        _esplora(peer).get_transaction("ff" * 32)


def test_esplora_that_keeps_failing_is_unavailable(peer):
    peer.routes["/blocks/tip/height"] = _text("upstream down", 503)
    explorer = EsploraExplorer(_client(peer, retries=2))
    with pytest.raises(ExplorerUnavailable):
        explorer.latest_block()
    assert explorer.round_trips == 3


def _etherscan(peer, route) -> EtherscanClient:
    peer.routes["/api"] = route
    return EtherscanClient(HttpClient(peer.url + "/api", sleep=lambda s: None,
                                      min_interval=1 / 3), api_key="k")


def test_etherscan_outgoing_native_and_token_transfers(peer):
    answers = {"txlist": fixture("etherscan_txlist.json"),
               "tokentx": fixture("etherscan_tokentx.json")}
    client = _etherscan(peer, lambda q: (200, {}, answers[q["action"]]))
    found = client.outgoing([ETH_THIEF], 18_999_999, 19_000_100, "ETH")
    assert [(t.to_address, t.amount, t.asset) for t in found] == [
        ("0x6cc5f688a315f3dc28a7781717a9a798a59fda7b", Decimal("2.5"), "ETH"),
        ("0x" + "44" * 20, Decimal(1500), "USDT")]
    query = peer.requests[0][1]
    assert (query["startblock"], query["offset"], query["apikey"]) == ("19000000", "1000", "k")


def test_etherscan_no_transactions_is_an_empty_history(peer):
    client = _etherscan(peer, json_answer(fixture("etherscan_empty.json")))
    assert client.outgoing([ETH_THIEF], 0, 10, "ETH") == []


def test_etherscan_status_zero_errors_become_ours(peer):
    client = _etherscan(peer, json_answer(fixture("etherscan_invalid_key.json")))
    with pytest.raises(ExplorerError, match="Invalid API Key"):
        client.outgoing([ETH_THIEF], 0, 10, "ETH")
    limited = _etherscan(peer, json_answer(fixture("etherscan_rate_limited.json")))
    with pytest.raises(ExplorerUnavailable):
        limited.outgoing([ETH_THIEF], 0, 10, "ETH")


def test_etherscan_client_spaces_calls_to_three_per_second(peer):
    waits: list[float] = []
    now = [100.0]
    client = EtherscanClient(HttpClient(peer.url + "/api", sleep=waits.append,
                                        clock=lambda: now[0], min_interval=1 / 3))
    peer.routes["/api"] = json_answer(fixture("etherscan_empty.json"))
    client.outgoing([ETH_THIEF], 0, 10, "ETH")
    assert len(peer.requests) == 2 and waits == [pytest.approx(1 / 3)]


def test_fixture_shapes_carry_the_real_field_names():
    row = json.loads(fixture("etherscan_tokentx.json"))["result"][0]
    assert {"tokenDecimal", "tokenSymbol", "contractAddress", "timeStamp"} <= set(row)


def test_a_refusal_that_is_not_transient_is_an_error_at_once(peer):
    peer.routes["/blocks/tip/height"] = _text("invalid API key", 403)
    client = _client(peer)
    with pytest.raises(ExplorerError, match="HTTP 403 for /blocks/tip/height: invalid API key"):
        client.get("/blocks/tip/height")
    assert client.round_trips == 1


def test_a_body_that_is_not_json_is_an_error_not_a_crash(peer):
    peer.routes["/tx/x"] = _text("<html>rate limited by the CDN</html>")
    with pytest.raises(ExplorerError, match="non-JSON"):
        _client(peer).get_json("/tx/x")


def test_an_unreadable_retry_after_falls_back_to_the_backoff(peer):
    waits = []
    client = HttpClient(peer.url, sleep=waits.append, backoff_seconds=0.1)
    peer.routes["/blocks/tip/height"] = in_turn(
        lambda q: (429, {"Retry-After": "Fri, 31 Dec 1999 23:59:59 GMT"}, b"slow down"), _text("880009"))
    assert client.get("/blocks/tip/height").text == "880009" and waits == [0.1]


def test_an_explorer_that_does_not_answer_is_unavailable_after_the_retries():
    waits = []
    client = HttpClient(f"http://127.0.0.1:{free_port()}", sleep=waits.append, backoff_seconds=0.1, retries=2)
    with pytest.raises(ExplorerUnavailable, match="ConnectionError"):
        client.get("/blocks/tip/height")
    assert client.round_trips == 3 and waits == [0.1, 0.2]
