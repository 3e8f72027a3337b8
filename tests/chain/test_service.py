"""Trace use cases on a migrated database: validation first, then the real node, cache and letters."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from web3 import Web3

from app import create_app
from kernel.errors import InvalidInput
from chain import service
from chain.explorers.evm import EvmExplorer, NaiveEvmExplorer
from chain.explorers.jsonrpc import http_web3
from tests.chain.scenario import (
    DUST,
    KUCOIN,
    MULE_A,
    MULE_B,
    MULE_C,
    OKX,
    SANCTIONED,
    TORNADO_1_ETH,
    lay_out_theft,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD_HASH = "0x" + "ab" * 32


@pytest.mark.parametrize(("field", "values"), [
    ("tx_hash", {"tx_hash": "0x1234"}),
    ("tx_hash", {"tx_hash": "ab" * 32}),
    ("tx_hash", {"chain": "bitcoin", "tx_hash": GOOD_HASH}),
    ("depth", {"depth": 6}),
    ("chain", {"chain": "dogecoin"}),
])
def test_bad_requests_name_the_field_and_store_nothing(chain_session, field, values):
    arguments = {"chain": "ethereum", "tx_hash": GOOD_HASH, "depth": 2,
                 "configured_chains": {"ethereum", "bitcoin"}, **values}
    with pytest.raises(InvalidInput) as raised:
        service.request_trace(chain_session, now=NOW, **arguments)
    assert field in raised.value.extra["errors"]
    assert chain_session.query(service.Trace).count() == 0


def test_hash_is_stored_lowercase_and_queued(chain_session):
    trace = service.request_trace(chain_session, chain="Ethereum", tx_hash=GOOD_HASH.upper()
                                  .replace("0X", "0x"), depth=3, requested_by="agent-1", now=NOW)
    assert (trace.status, trace.tx_hash, trace.chain) == ("queued", GOOD_HASH, "ethereum")


def test_unconfigured_chain_fails_with_a_clear_error(chain_session):
    trace = service.request_trace(chain_session, chain="polygon", tx_hash=GOOD_HASH, depth=1,
                                  now=NOW)
    done = service.run_trace(chain_session, trace_id=trace.id, explorers={}, now=NOW)
    assert (done.status, done.error) == ("failed", "no explorer configured for chain polygon")


@pytest.fixture(scope="module")
def theft(anvil):
    """The theft played once on the session's anvil node."""
    return lay_out_theft(Web3(Web3.HTTPProvider(anvil.url)))


def _run(session, url, theft, explorer, root=None):
    trace = service.request_trace(session, chain="ethereum", tx_hash=root or theft.root, depth=3,
                                  now=NOW)
    return service.run_trace(session, trace_id=trace.id, explorers={"ethereum": explorer},
                             now=NOW, min_amount=Decimal("0.001"))


@pytest.mark.anvil
def test_depth_three_trace_finds_the_exchange_the_mixer_and_the_sanction(chain_session, anvil,
                                                                          theft):
    trace = _run(chain_session, anvil.url, theft, EvmExplorer.over_http(anvil.url,
                                                                         finality_depth=0))
    assert trace.status == "done", trace.error
    hops = {node["address"]: node["hop"] for node in trace.graph["nodes"]}
    assert hops[theft.thief] == 1 and hops[MULE_A] == hops[MULE_B] == 2
    assert hops[OKX] == hops[TORNADO_1_ETH] == hops[MULE_C] == 3
    assert hops[SANCTIONED] == 4 and DUST not in hops and KUCOIN not in hops  # USDX not stolen
    advice = {(f["address"], f["category"]): f["advice"] for f in trace.findings}
    assert advice[(OKX, "exchange")] == "reached exchange OKX: send it a freeze request"
    assert advice[(TORNADO_1_ETH, "mixer")].startswith("entered a mixer")
    assert advice[(SANCTIONED, "sanctioned")] == "sanctioned address: report, do not transact"
    okx = next(n for n in trace.graph["nodes"] if n["address"] == OKX)
    assert okx["taint"]["ETH"] == {"poison": "5.9", "haircut": "5.9", "fifo": "5.9"}
    # DESIGN §7: a cold trace within depth + 2 round trips (the node's history namespace is asked for
    # in the first batch)
    assert trace.transaction["value"] == "10" and trace.round_trips <= trace.depth + 2


@pytest.mark.anvil
def test_a_repeated_trace_costs_one_round_trip(chain_session, anvil, theft):
    first = _run(chain_session, anvil.url, theft, EvmExplorer.over_http(anvil.url,
                                                                         finality_depth=0))
    again = _run(chain_session, anvil.url, theft, EvmExplorer.over_http(anvil.url,
                                                                         finality_depth=0))
    assert again.round_trips == 1
    assert again.graph == first.graph and again.findings == first.findings


@pytest.mark.anvil
def test_the_naive_client_finds_the_same_graph_with_more_round_trips(chain_session, anvil, theft):
    # the naive client runs first and caches nothing (its finality lies beyond the chain)
    naive = _run(chain_session, anvil.url, theft,
                 NaiveEvmExplorer(http_web3(anvil.url), finality_depth=10**9))
    batched = _run(chain_session, anvil.url, theft, EvmExplorer.over_http(anvil.url,
                                                                          finality_depth=0))
    assert naive.graph == batched.graph
    assert naive.round_trips > batched.round_trips


@pytest.mark.anvil
def test_freeze_letters_go_to_each_exchange_reached_with_the_evidence(chain_session, anvil, theft):
    trace = _run(chain_session, anvil.url, theft, EvmExplorer.over_http(anvil.url,
                                                                         finality_depth=0))
    drafted = service.draft_freeze_requests(chain_session, trace_id=trace.id, now=NOW)
    assert [(letter.exchange, letter.language) for letter in drafted] == [("OKX", "en"), ("OKX", "zh-CN")]
    letters = {letter.exchange: letter.text for letter in drafted if letter.language == "en"}
    chinese = drafted[1].text
    assert "致：OKX 合规" in chinese and "紧急冻结请求" in chinese and theft.hashes["a->okx"] in chinese
    assert "5.9 ETH" in chinese and "To:" not in chinese and "Deposits at" not in chinese
    assert theft.root in letters["OKX"] and theft.hashes["a->okx"] in letters["OKX"]
    assert "5.9 ETH" in letters["OKX"]
    only_chinese = service.draft_freeze_requests(chain_session, trace_id=trace.id, now=NOW, languages=("zh-CN",))
    assert [(letter.exchange, letter.language, letter.text) for letter in only_chinese] == [("OKX", "zh-CN", chinese)]
    svg = service.get_trace_svg(chain_session, trace_id=trace.id)
    assert svg.startswith("<svg") and "OKX" in svg


@pytest.mark.anvil
def test_a_stolen_token_is_followed_to_the_exchange_in_token_units(chain_session, anvil, theft):
    trace = _run(chain_session, anvil.url, theft,
                 EvmExplorer.over_http(anvil.url, finality_depth=0), root=theft.hashes["root usdx"])
    assert trace.status == "done", trace.error
    (transfer,) = trace.transaction["token_transfers"]
    assert (transfer["symbol"], transfer["amount"]) == ("USDX", "500")
    advice = {(f["address"], f["category"]): f["advice"] for f in trace.findings}
    assert advice[(KUCOIN, "exchange")] == "reached exchange KuCoin: send it a freeze request"
    kucoin = next(n for n in trace.graph["nodes"] if n["address"] == KUCOIN)
    assert (kucoin["hop"], kucoin["received"]) == (3, {"USDX": "500"})


@pytest.mark.anvil
def test_the_trace_command_prints_where_the_money_went(settings, instance, monkeypatch, anvil, theft):
    """API.md's `flask trace CHAIN HASH [--depth N]`, against the node, as a support agent runs it."""
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    app = create_app({**settings, "ETH_RPC_URL": anvil.url, "EVM_FINALITY_DEPTH": 0, "TRACE_MIN_AMOUNT": "0.001"})
    try:
        result = app.test_cli_runner().invoke(args=["trace", "ethereum", theft.root.upper().replace("0X", "0x"),
                                                    "--depth", "3"])
    finally:
        app.extensions["lockdesk"].engine.dispose()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"ethereum {theft.root.lower()}: confirmed") and "10 ETH" in lines[0]
    assert any(line.split()[:1] == ["1"] and theft.thief in line for line in lines)  # the first hop
    assert f"hop 3 {OKX} [exchange] OKX" in result.output and "send it a freeze request" in result.output
    assert re.search(r"^\d+ round trips$", lines[-1])
