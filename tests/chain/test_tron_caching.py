"""TRON data is cached once the solidified block covers it, and not before."""
from __future__ import annotations

from decimal import Decimal

from chain import service
from chain.explorers.tron import TronExplorer
from chain.models import ChainCache
from tests.chain.tron_peer import TronPeer
from tests.chain.tron_scenario import THIEF, USDT, USDT_UNIT, address, lay_out_tron_theft


def _run(session, explorer, root):
    queued = service.request_trace(session, chain="tron", tx_hash=root, depth=1)
    return service.run_trace(session, trace_id=queued.id, explorers={"tron": explorer},
                             min_amount=Decimal(1))


def test_a_transaction_above_the_solidified_block_is_not_cached_until_it_is_solid(chain_session):
    theft = lay_out_tron_theft()
    fresh = theft.ledger.add(THIEF, address(0xF5), 5 * USDT_UNIT, token=USDT)
    theft.ledger.solid_gap = -1  # the newest block is not solidified yet
    peer = TronPeer(theft.ledger)
    try:
        explorer = TronExplorer.over_http(peer.url)
        first = _run(chain_session, explorer, fresh)
        assert (first.transaction["status"], first.transaction["confirmations"]) == ("confirmed", 0)
        assert chain_session.query(ChainCache).filter_by(key=f"tx:{fresh}").count() == 0
        theft.ledger.solid_gap = 20  # solidified now
        second = _run(chain_session, explorer, fresh)
        assert second.transaction["confirmations"] == 21
        assert chain_session.query(ChainCache).filter_by(key=f"tx:{fresh}").count() == 1
        asked = len(peer.requests)
        _run(chain_session, explorer, fresh)
        assert "/wallet/gettransactionbyid" not in [path for _, path, _, _ in peer.requests[asked:]]
    finally:
        peer.stop()
