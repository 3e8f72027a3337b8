"""The TRON adapter against a TronGrid stand-in over real HTTP: decoded fields, history, faults."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chain.explorers.http import HttpClient
from chain.explorers.port import ExplorerError, ExplorerUnavailable, TransactionNotFound
from chain.explorers.tron import TronExplorer
from tests.chain.tron_peer import BASE_BLOCK, TronLedger, TronPeer
from tests.chain.tron_scenario import (
    ALLBRIDGE,
    BINANCE,
    FRIEND,
    HOT,
    MULE_A,
    MULE_B,
    MULE_C,
    SWEEPER,
    THIEF,
    USDT,
    address,
    lay_out_tron_theft,
)


@pytest.fixture
def theft():
    return lay_out_tron_theft()


@pytest.fixture
def peer(theft):
    server = TronPeer(theft.ledger)
    yield server
    server.stop()


def _explorer(peer, waits=None, **options) -> TronExplorer:
    client = HttpClient(peer.url, sleep=(waits.append if waits is not None else lambda s: None),
                        backoff_seconds=0.1, read_timeout=options.pop("read_timeout", 5.0),
                        headers={"TRON-PRO-API-KEY": "key-1"})
    return TronExplorer(client, **options)


def test_a_usdt_transfer_is_decoded_field_by_field(peer, theft):
    tx = _explorer(peer).get_transaction(theft.root)
    assert (tx.hash, tx.status, tx.block_number) == (theft.root, "confirmed", BASE_BLOCK + 2)
    assert tx.confirmations == theft.ledger.solid_head - tx.block_number + 1
    assert tx.timestamp == datetime.fromtimestamp(TronLedger.time_of(BASE_BLOCK + 2) / 1000, UTC)
    assert (tx.from_address, tx.to_address) == (HOT, USDT)  # the call goes to the token contract
    assert (tx.value, tx.asset, tx.fee) == (Decimal(0), "TRX", Decimal("13.84485"))  # energy + bandwidth
    (transfer,) = tx.token_transfers
    assert (transfer.token, transfer.symbol, transfer.from_address, transfer.to_address) == (
        USDT, "USDT", HOT, THIEF)
    assert (transfer.amount, transfer.raw) == (Decimal("10000"), 10_000 * 10**6)  # 6 decimals


def test_a_trx_transfer_carries_its_value_and_bandwidth_fee(peer, theft):
    tx = _explorer(peer).get_transaction(theft.hashes["fuel"])
    assert (tx.from_address, tx.to_address, tx.value, tx.fee) == (FRIEND, THIEF, Decimal(100),
                                                                   Decimal("1.1"))
    assert tx.token_transfers == ()


def test_a_reverted_call_is_failed_and_moves_nothing(peer, theft):
    tx = _explorer(peer).get_transaction(theft.hashes["failed"])
    assert (tx.status, tx.token_transfers) == ("failed", ())


def test_the_api_key_goes_in_tronpro_header_and_reads_use_the_solidified_block(peer, theft):
    explorer = _explorer(peer)
    assert explorer.latest_block() == theft.ledger.solid_head
    method, path, _, headers = peer.requests[-1]
    assert (method, path, headers["TRON-PRO-API-KEY"]) == ("POST", "/walletsolidity/getnowblock", "key-1")


def test_an_unknown_transaction_is_not_found(peer):
    with pytest.raises(TransactionNotFound):
        _explorer(peer).get_transaction("ab" * 32)


def test_a_transaction_not_yet_in_a_block_is_pending(peer, theft):
    peer.faults["/wallet/gettransactioninfobyid"] = [(200, b"{}")]
    tx = _explorer(peer).get_transaction(theft.root)
    assert (tx.status, tx.confirmations, tx.block_number, tx.fee) == ("pending", 0, None, None)


def test_history_lists_trx_and_trc20_sent_after_the_arrival_and_leaves_out_failures(peer, theft):
    explorer = _explorer(peer)
    head = explorer.latest_block()
    history = explorer.outgoing_transfers([THIEF, MULE_A, MULE_B], after_block=BASE_BLOCK + 2,
                                          through_block=head)
    thief = [(t.to_address, t.amount, t.asset) for t in history.transfers[THIEF]]
    assert thief == [(MULE_A, Decimal(6000), "USDT"), (MULE_B, Decimal(3999), "USDT"),
                     (address(0xD0), Decimal("0.5"), "USDT"), (MULE_A, Decimal(20), "TRX")]
    assert [t.to_address for t in history.transfers[MULE_A]] == [BINANCE]  # the reverted call is not
    bridge = next(t for t in history.transfers[MULE_B] if t.to_address == ALLBRIDGE)
    assert (bridge.tx_hash, bridge.token, bridge.block_number) == (
        theft.hashes["b->bridge"], USDT, next(m.block for m in theft.ledger.moves
                                              if m.txid == theft.hashes["b->bridge"]))
    assert all(t.timestamp is not None for ts in history.transfers.values() for t in ts)
    assert history.partial == set()


def test_a_transfer_another_account_signed_is_placed_in_its_block_with_one_more_request(peer, theft):
    explorer = _explorer(peer)
    head = explorer.latest_block()
    before = explorer.round_trips
    history = explorer.outgoing_transfers([MULE_C], after_block=BASE_BLOCK, through_block=head)
    (sweep,) = [t for t in history.transfers[MULE_C] if t.to_address == SWEEPER]
    assert sweep.block_number == theft.ledger.last_block and sweep.amount == Decimal(499)
    # the time of the first block asked about, two listings, and the sweep's receipt
    assert [path for _, path, _, _ in peer.requests[before:]] == [
        "/wallet/getblockbynum", f"/v1/accounts/{MULE_C}/transactions",
        f"/v1/accounts/{MULE_C}/transactions/trc20", "/wallet/gettransactioninfobyid"]


def test_history_pages_follow_the_fingerprint_and_stop_at_the_bound(peer, theft):
    for n in range(7):
        theft.ledger.add(MULE_C, address(0x1000 + n), 10**6)
    explorer = _explorer(peer, page_size=3, max_pages=2)
    head = explorer.latest_block()
    history = explorer.outgoing_transfers([MULE_C], after_block=BASE_BLOCK, through_block=head)
    assert MULE_C in history.partial  # 8 TRX transfers, at most 2 pages of 3 read
    assert len([t for t in history.transfers[MULE_C] if t.asset == "TRX"]) == 6
    fingerprints = [q.get("fingerprint") for _, p, q, _ in peer.requests
                    if p == f"/v1/accounts/{MULE_C}/transactions"]
    assert fingerprints == [None, "3"]
    whole = _explorer(peer, page_size=3, max_pages=5).outgoing_transfers(
        [MULE_C], after_block=BASE_BLOCK, through_block=head)
    assert whole.partial == set() and len([t for t in whole.transfers[MULE_C] if t.asset == "TRX"]) == 8


def test_balances_are_read_with_the_constant_call_in_token_units(peer, theft):
    balances = _explorer(peer).token_balances([(MULE_A, USDT), (MULE_C, USDT), (THIEF, USDT)])
    assert balances == {(MULE_A, USDT): Decimal(1000), (MULE_C, USDT): Decimal(500),
                        (THIEF, USDT): Decimal("0.5")}
    body = next(b for m, p, b, _ in peer.requests if b.get("function_selector") == "balanceOf(address)")
    assert body["parameter"] == "0" * 24 + "a1".rjust(40, "0") and body["visible"] is True


def test_a_token_with_absurd_decimals_keeps_raw_units(peer, theft):
    junk = address(0x7070)
    theft.ledger.tokens[junk] = ("JUNK", 200)
    txid = theft.ledger.add(MULE_A, FRIEND, 12345, token=junk)
    (transfer,) = _explorer(peer).get_transaction(txid).token_transfers
    assert (transfer.symbol, transfer.amount, transfer.raw) == ("JUNK", Decimal(12345), 12345)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_transient_answer_is_retried_with_backoff(peer, theft, status):
    waits = []
    peer.faults["/wallet/gettransactionbyid"] = [(status, b'{"Error": "busy"}')] * 2
    tx = _explorer(peer, waits).get_transaction(theft.root)
    assert tx.status == "confirmed" and waits == [0.1, 0.2]


def test_an_api_that_keeps_failing_is_unavailable_after_the_retries(peer, theft):
    waits = []
    peer.faults["/walletsolidity/getnowblock"] = [(503, b"")] * 4
    with pytest.raises(ExplorerUnavailable, match="HTTP 503"):
        _explorer(peer, waits).latest_block()
    assert waits == [0.1, 0.2, 0.4]


def test_a_non_json_answer_is_refused_by_name(peer, theft):
    peer.faults["/wallet/gettransactionbyid"] = [(200, b"<html>maintenance</html>")]
    with pytest.raises(ExplorerError, match="non-JSON for /wallet/gettransactionbyid"):
        _explorer(peer).get_transaction(theft.root)


def test_an_api_that_does_not_answer_in_time_is_retried_then_unavailable(peer, theft):
    peer.faults["/walletsolidity/getnowblock"] = [(200, 0.5)] * 4
    with pytest.raises(ExplorerUnavailable, match="ReadTimeout"):
        _explorer(peer, read_timeout=0.1).latest_block()


def test_a_listing_the_api_refuses_is_an_explorer_error(peer, theft):
    peer.faults[f"/v1/accounts/{THIEF}/transactions"] = [(200, b'{"success": false, "error": "bad"}')]
    with pytest.raises(ExplorerError, match="refused"):
        _explorer(peer).outgoing_transfers([THIEF], after_block=BASE_BLOCK, through_block=BASE_BLOCK + 50)
