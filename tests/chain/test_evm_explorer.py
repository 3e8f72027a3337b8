"""The EVM adapter against web3's in-process tester, a real anvil node and a silent server."""
from __future__ import annotations

import socket
import threading
from decimal import Decimal

import pytest
from web3 import Web3

from chain.explorers import ExplorerUnavailable, TransactionNotFound
from chain.explorers.evm import EvmExplorer, NaiveEvmExplorer
from chain.explorers.jsonrpc import JsonRpc, http_web3
from tests.chain.evm_token import deployment_code, token_runtime, transfer_call
from tests.chain.scenario import KUCOIN, MULE_A, MULE_B, OKX, lay_out_theft


def _deploy(w3: Web3, symbol, decimals) -> str:
    """Deploy the hand-assembled token and return its address."""
    tx_hash = w3.eth.send_transaction({"from": w3.eth.accounts[0],
                                       "data": deployment_code(token_runtime(symbol, decimals))})
    return w3.eth.get_transaction_receipt(tx_hash)["contractAddress"].lower()


def test_value_transfer_is_read_with_status_fee_and_exact_value(tester_w3):
    sender, receiver = tester_w3.eth.accounts[:2]
    tx_hash = tester_w3.eth.send_transaction({"from": sender, "to": receiver,
                                              "value": 1_234_567_890_123_456_789})
    explorer = EvmExplorer(JsonRpc(tester_w3))
    tx = explorer.get_transaction(tx_hash.to_0x_hex())
    assert tx.status == "confirmed"
    assert tx.value == Decimal("1.234567890123456789")
    assert tx.from_address == sender.lower() and tx.to_address == receiver.lower()
    assert tx.confirmations == 1 and tx.block_number == 1
    assert tx.fee > 0 and tx.timestamp is not None


def test_erc20_transfer_log_is_decoded_in_token_units(tester_w3):
    token = _deploy(tester_w3, "USDX", 6)
    sender, receiver = tester_w3.eth.accounts[0], tester_w3.eth.accounts[3]
    tx_hash = tester_w3.eth.send_transaction({"from": sender, "to": Web3.to_checksum_address(token),
                                              "data": transfer_call(receiver, 2_500_001)})
    tx = EvmExplorer(JsonRpc(tester_w3)).get_transaction(tx_hash.to_0x_hex())
    (transfer,) = tx.token_transfers
    assert (transfer.token, transfer.symbol, transfer.amount, transfer.raw) == (
        token, "USDX", Decimal("2.500001"), 2_500_001)
    assert transfer.to_address == receiver.lower()


def test_token_without_symbol_or_decimals_stays_in_raw_units(tester_w3):
    token = _deploy(tester_w3, None, None)
    tx_hash = tester_w3.eth.send_transaction({
        "from": tester_w3.eth.accounts[0], "to": Web3.to_checksum_address(token),
        "data": transfer_call(tester_w3.eth.accounts[1], 777)})
    (transfer,) = EvmExplorer(JsonRpc(tester_w3)).get_transaction(
        tx_hash.to_0x_hex()).token_transfers
    assert transfer.symbol is None and transfer.amount == Decimal(777)


def test_unknown_hash_is_transaction_not_found(tester_w3):
    with pytest.raises(TransactionNotFound):
        EvmExplorer(JsonRpc(tester_w3)).get_transaction("0x" + "ab" * 32)


def test_history_falls_back_to_a_block_scan_on_a_plain_node(tester_w3):
    sender, first, second = tester_w3.eth.accounts[:3]
    tester_w3.eth.send_transaction({"from": sender, "to": first, "value": 5})
    tester_w3.eth.send_transaction({"from": first, "to": second, "value": 3})
    explorer = EvmExplorer(JsonRpc(tester_w3))
    history = explorer.outgoing_transfers([first], after_block=0,
                                          through_block=explorer.latest_block())
    assert explorer.history_method == "scan"
    assert [(t.to_address, t.amount) for t in history.transfers[first.lower()]] == [
        (second.lower(), Decimal("3E-18"))]


def _silent_server():
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    return listener


def test_a_node_that_hangs_fails_cleanly_after_its_timeout():
    listener = _silent_server()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    rpc = JsonRpc(http_web3(url, connect_timeout=0.5, read_timeout=0.3), retries=1,
                  sleep=lambda seconds: None)
    try:
        with pytest.raises(ExplorerUnavailable):
            EvmExplorer(rpc).get_transaction("0x" + "ab" * 32)
        assert rpc.round_trips == 2  # the first try and one retry
    finally:
        listener.close()


@pytest.fixture(scope="module")
def theft(anvil):
    """The theft played once on the session's anvil node."""
    return lay_out_theft(Web3(Web3.HTTPProvider(anvil.url)))


@pytest.mark.anvil
def test_anvil_transaction_costs_one_round_trip(anvil, theft):
    explorer = EvmExplorer.over_http(anvil.url)
    tx = explorer.get_transaction(theft.root)
    assert (tx.from_address, tx.to_address, tx.value) == (theft.exchange_hot, theft.thief,
                                                          Decimal(10))
    assert tx.timestamp is not None and tx.confirmations > 1
    assert explorer.round_trips == 1 and explorer.history_method == "ots"  # probed in the same batch


@pytest.mark.anvil
def test_anvil_history_uses_otterscan_and_batches_a_whole_hop(anvil, theft):
    explorer = EvmExplorer.over_http(anvil.url)
    head = explorer.latest_block()
    history = explorer.outgoing_transfers([MULE_A, MULE_B], after_block=0, through_block=head)
    assert explorer.history_method == "ots"
    assert [(t.to_address, t.amount, t.asset) for t in history.transfers[MULE_A]] == [
        (OKX, Decimal("5.9"), "ETH")]
    assert {(t.to_address, t.amount, t.asset) for t in history.transfers[MULE_B]} >= {
        (KUCOIN, Decimal("500"), "USDX")}
    # latest block + probe + one batch for both addresses + one batch of token metadata
    assert explorer.round_trips == 4


@pytest.mark.anvil
def test_naive_client_makes_one_call_per_lookup(anvil, theft):
    explorer = NaiveEvmExplorer(http_web3(anvil.url))
    explorer.get_transaction(theft.root)
    assert explorer.round_trips == 3


@pytest.mark.anvil
def test_pending_transaction_is_reported_pending_until_mined(anvil, theft):
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        tx_hash = w3.eth.send_transaction({"from": w3.eth.accounts[3],
                                           "to": w3.eth.accounts[4], "value": 1}).to_0x_hex()
        explorer = EvmExplorer.over_http(anvil.url)
        pending = explorer.get_transaction(tx_hash)
        assert (pending.status, pending.confirmations, pending.block_number) == ("pending", 0, None)
        w3.provider.make_request("evm_mine", [])
        assert explorer.get_transaction(tx_hash).status == "confirmed"
    finally:
        w3.provider.make_request("evm_setAutomine", [True])


@pytest.mark.anvil
def test_anvil_history_through_trace_filter_finds_what_otterscan_finds(anvil, theft):
    """Nodes with the trace namespace but no Otterscan (Nethermind, reth) are read through trace_filter."""
    by_ots, by_trace = EvmExplorer.over_http(anvil.url), EvmExplorer.over_http(anvil.url)
    by_trace.history_method = "trace"  # as the probe settles it on such a node
    head = by_ots.latest_block()
    expected = by_ots.outgoing_transfers([MULE_A, MULE_B], after_block=0, through_block=head)
    before = by_trace.round_trips
    found = by_trace.outgoing_transfers([MULE_A, MULE_B], after_block=0, through_block=head)
    for mule in (MULE_A, MULE_B):
        assert sorted((t.tx_hash, t.to_address, t.amount, t.asset) for t in found.transfers[mule]) == sorted(
            (t.tx_hash, t.to_address, t.amount, t.asset) for t in expected.transfers[mule])
    assert found.transfers[MULE_A] and found.transfers[MULE_B]
    assert by_trace.round_trips - before <= 2  # one batch of traces and logs, one of token metadata
