"""A depth-3 TRON trace of a USDT theft against the TronGrid stand-in: round trips and time, cold and warm."""
from __future__ import annotations

import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from app.db import make_engine, make_sessionmaker
from bench.stack import Database
from chain import service
from chain.explorers.tron import TronExplorer
from chain.models import ChainCache
from tests.chain.tron_peer import TronPeer
from tests.chain.tron_scenario import lay_out_tron_theft

DEPTH = 3


def _trace(session, root: str, explorer: TronExplorer) -> tuple[int, float, int]:
    """Request and run one trace; its round trips, seconds and graph size."""
    trace = service.request_trace(session, chain="tron", tx_hash=root, depth=DEPTH)
    started = time.perf_counter()
    done = service.run_trace(session, trace_id=trace.id, explorers={"tron": explorer},
                             min_amount=Decimal(1))
    seconds = time.perf_counter() - started
    if done.status != "done":
        raise RuntimeError(f"trace failed: {done.error}")
    return done.round_trips, seconds, len(done.graph["nodes"])


def measure_tron_trace(folder: Path, *, runs: int) -> dict[str, Any]:
    """Cold (empty cache, fresh explorer) and warm (the same trace again) over real HTTP on 127.0.0.1."""
    theft = lay_out_tron_theft()
    peer = TronPeer(theft.ledger)
    database = Database.create("sqlite", folder)
    engine = make_engine(database.url)
    samples: dict[str, list[tuple[int, float, int]]] = {"cold": [], "warm": []}
    try:
        with make_sessionmaker(engine)() as session:
            _trace(session, theft.root, TronExplorer.over_http(peer.url))  # imports, label files
            for _ in range(runs):
                session.execute(delete(ChainCache))
                session.commit()
                explorer = TronExplorer.over_http(peer.url)
                samples["cold"].append(_trace(session, theft.root, explorer))
                samples["warm"].append(_trace(session, theft.root, explorer))
    finally:
        engine.dispose()
        peer.stop()
    result: dict[str, Any] = {"depth": DEPTH, "runs": runs, "api": "TronGrid stand-in over HTTP (tests/chain)"}
    for name, taken in samples.items():
        result[name] = {"round_trips": statistics.median(r[0] for r in taken),
                        "ms": round(statistics.median(r[1] for r in taken) * 1000, 1),
                        "graph_nodes": taken[0][2]}
    return result
