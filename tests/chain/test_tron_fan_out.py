"""A TRON theft split across far more mules than the fan-out bound: followed to the bound, and said so."""
from __future__ import annotations

from decimal import Decimal

from chain import service
from chain.explorers.tron import TronExplorer
from tests.chain.tron_peer import TronPeer
from tests.chain.tron_scenario import THIEF, USDT, USDT_UNIT, address, lay_out_tron_theft


def test_a_split_into_forty_mules_is_bounded_and_the_trace_says_where_it_stopped(chain_session):
    theft = lay_out_tron_theft()
    for n in range(40):
        theft.ledger.add(THIEF, address(0x9000 + n), (10 + n) * USDT_UNIT, token=USDT)
    peer = TronPeer(theft.ledger)
    try:
        queued = service.request_trace(chain_session, chain="tron", tx_hash=theft.root, depth=1)
        trace = service.run_trace(chain_session, trace_id=queued.id, max_fan_out=8,
                                  explorers={"tron": TronExplorer.over_http(peer.url)},
                                  min_amount=Decimal(1))
    finally:
        peer.stop()
    assert trace.status == "done", trace.error
    assert len([n for n in trace.graph["nodes"] if n["hop"] == 2]) == 8
    (stopped,) = [f for f in trace.findings if f["category"] == "stopped"]
    # 2 mules of the theft and 40 more, above the 1 USDT floor; 8 followed
    assert (stopped["address"], stopped["hop"], stopped["cut"]) == (THIEF, 1, 34)
    assert stopped["label"] == "34 more tainted transfers not followed (at most 8 per address)"
