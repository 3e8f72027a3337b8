"""On a real anvil node: the issuer finding for a USDT-like token, and the cost of a warm re-trace."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from web3 import Web3

from chain import service
from chain.explorers.evm import EvmExplorer
from chain.stablecoins import Stablecoin
from tests.chain.anvil import Anvil, anvil_binary
from tests.chain.counting_proxy import CountingProxy
from tests.chain.evm_token import deployment_code, token_runtime, transfer_call
from tests.chain.scenario import MULE_C, SANCTIONED, impersonate, lay_out_theft, send_and_wait
from tests.services import require

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOLDER_1 = "0x0000000000000000000000000000000000e1e100"
HOLDER_2 = "0x0000000000000000000000000000000000e2e200"


def _trace(session, explorer, root, *, chain="ethereum", coins=None):
    trace = service.request_trace(session, chain=chain, tx_hash=root, depth=3, now=NOW)
    return service.run_trace(session, trace_id=trace.id, explorers={chain: explorer}, now=NOW,
                             min_amount=Decimal("0.001"), coins=coins or {})


@pytest.mark.anvil
def test_usdt_still_held_is_a_finding_naming_tether_and_the_balance(chain_session, anvil):
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    sender = w3.eth.accounts[3]
    deploy = w3.eth.send_transaction({"from": sender,
                                      "data": "0x" + deployment_code(token_runtime("USDT", 6)).hex()})
    token = w3.eth.wait_for_transaction_receipt(deploy)["contractAddress"].lower()
    impersonate(w3, HOLDER_1)
    root = send_and_wait(w3, sender, token, data=transfer_call(HOLDER_1, 1_000 * 10**6))
    send_and_wait(w3, HOLDER_1, token, data=transfer_call(HOLDER_2, 600 * 10**6))
    coins = {"ethereum": {token: Stablecoin("USDT", "tether")}}
    explorer = EvmExplorer.over_http(anvil.url, finality_depth=0)
    trace = _trace(chain_session, explorer, root, coins=coins)
    assert trace.status == "done", trace.error
    held = [(f["address"], f["hop"], f["issuer"], f["entity"], f["balance"], f["asset"])
            for f in trace.findings if f["category"] == "stablecoin"]
    assert held == [(HOLDER_1, 1, "tether", "Tether", "400", "USDT"),
                    (HOLDER_2, 2, "tether", "Tether", "600", "USDT")]
    letters = service.draft_issuer_requests(chain_session, trace_id=trace.id, now=NOW)
    assert [(letter.issuer, letter.language) for letter in letters] == [("tether", "en"), ("tether", "zh-CN")]
    assert f"{HOLDER_2}  600 USDT" in letters[0].text and root in letters[1].text


@pytest.mark.anvil
def test_the_same_token_unknown_to_the_issuer_table_gives_no_issuer_finding(chain_session, anvil):
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    sender = w3.eth.accounts[4]
    deploy = w3.eth.send_transaction({"from": sender,
                                      "data": "0x" + deployment_code(token_runtime("USDT", 6)).hex()})
    token = w3.eth.wait_for_transaction_receipt(deploy)["contractAddress"].lower()
    root = send_and_wait(w3, sender, token, data=transfer_call(HOLDER_1, 10**6))
    trace = _trace(chain_session, EvmExplorer.over_http(anvil.url, finality_depth=0), root)
    assert trace.status == "done" and not [f for f in trace.findings if f["category"] == "stablecoin"]


@pytest.fixture(scope="module")
def buried():
    """A theft on a node of its own, buried under 30 blocks, behind a proxy that counts requests."""
    binary = anvil_binary()
    if binary is None:
        require("anvil")
    node = Anvil(binary)
    theft = lay_out_theft(Web3(Web3.HTTPProvider(node.url)))
    node.rpc("anvil_mine", [hex(30)])
    proxy = CountingProxy(node.url)
    yield node, proxy, theft
    proxy.stop()
    node.stop()


@pytest.mark.anvil
def test_a_warm_retrace_under_an_unmoved_head_costs_one_round_trip_at_the_node(chain_session, buried):
    node, proxy, theft = buried
    cold = _trace(chain_session, EvmExplorer.over_http(proxy.url, finality_depth=12), theft.root)
    assert cold.status == "done", cold.error
    before = proxy.count
    warm = _trace(chain_session, EvmExplorer.over_http(proxy.url, finality_depth=12), theft.root)
    assert proxy.count - before == 1 == warm.round_trips
    assert warm.graph == cold.graph and warm.findings == cold.findings


@pytest.mark.anvil
def test_a_retrace_after_the_head_moved_finds_the_new_hop(chain_session, buried):
    node, proxy, theft = buried
    late_receiver = "0x" + secrets.token_hex(20)  # the node is shared by both databases' runs
    explorer = EvmExplorer.over_http(proxy.url, finality_depth=12)
    first = _trace(chain_session, explorer, theft.root)
    assert late_receiver not in {n["address"] for n in first.graph["nodes"]}
    w3 = Web3(Web3.HTTPProvider(node.url))
    impersonate(w3, MULE_C)
    late = send_and_wait(w3, MULE_C, late_receiver, 10**15)  # the head moves by one block, inside the non-final window
    again = _trace(chain_session, explorer, theft.root)
    hops = {n["address"]: n["hop"] for n in again.graph["nodes"]}
    assert hops[late_receiver] == 4 and hops[SANCTIONED] == 4
    assert late in {e["tx_hash"] for e in again.graph["edges"]}
    assert again.round_trips > 1  # the non-final tail of each level is asked again


BSC_BINANCE = "0x01c952174c24e1210d26961d456a77a39e1f0bb0"
BSC_GNOSIS_BRIDGE = "0x05185872898b6f94aa600177ef41b9334b1fa48b"


@pytest.mark.anvil
def test_a_chain_from_evm_rpc_urls_uses_its_own_labels_and_says_where_a_bridge_went(chain_session, anvil):
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    thief = "0x" + secrets.token_hex(20)
    impersonate(w3, thief)
    root = send_and_wait(w3, w3.eth.accounts[5], thief, 3 * 10**18)
    send_and_wait(w3, thief, BSC_BINANCE, 10**18)
    send_and_wait(w3, thief, BSC_GNOSIS_BRIDGE, 10**18)
    explorer = EvmExplorer.over_http(anvil.url, chain="bsc", native_asset="BNB", finality_depth=0)
    trace = _trace(chain_session, explorer, root, chain="bsc")
    assert trace.status == "done", trace.error
    found = {f["category"]: f for f in trace.findings}
    assert found["exchange"]["entity"] == "Binance" and found["exchange"]["address"] == BSC_BINANCE
    bridge = found["bridge"]
    assert (bridge["from_chain"], bridge["destination_chain"]) == ("bsc", "gnosis")
    deposit = next(e["tx_hash"] for e in trace.graph["edges"] if e["to"] == BSC_GNOSIS_BRIDGE)
    assert bridge["deposit_tx"] == deposit
    assert bridge["advice"] == ("crossed a bridge (Gnosis Chain: BSC-xDAI Omni Bridge) from bsc to gnosis "
                                f"at {deposit}: follow on gnosis")
    assert next(n for n in trace.graph["nodes"] if n["address"] == BSC_BINANCE)["received"] == {"BNB": "1"}
