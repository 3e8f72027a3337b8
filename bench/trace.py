"""A depth-3 trace of a theft laid out on anvil: round trips and time, cold and warm, batched and naive."""
from __future__ import annotations

import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from web3 import Web3

from app.db import make_engine, make_sessionmaker
from bench.stack import Database
from chain import service
from chain.explorers.evm import EvmExplorer, NaiveEvmExplorer
from chain.explorers.jsonrpc import http_web3
from chain.models import ChainCache
from tests.chain.anvil import Anvil, anvil_binary
from tests.chain.scenario import lay_out_theft

DEPTH = 3


def _trace(session, root: str, explorer) -> tuple[int, float, int]:
    """Request and run one trace; its round trips, seconds and graph size."""
    trace = service.request_trace(session, chain="ethereum", tx_hash=root, depth=DEPTH)
    started = time.perf_counter()
    done = service.run_trace(session, trace_id=trace.id, explorers={"ethereum": explorer},
                             min_amount=Decimal("0.001"))
    seconds = time.perf_counter() - started
    if done.status != "done":
        raise RuntimeError(f"trace failed: {done.error}")
    return done.round_trips, seconds, len(done.graph["nodes"])


def measure_trace(folder: Path, *, runs: int) -> dict[str, Any]:
    """Cold (empty cache) and warm (same trace again) with the batching explorer; the naive client alike."""
    binary = anvil_binary()
    if binary is None:
        return {"skipped": "anvil is not installed and npm could not install it"}
    node = Anvil(binary)
    database = Database.create("sqlite", folder)
    engine = make_engine(database.url)
    try:
        theft = lay_out_theft(Web3(Web3.HTTPProvider(node.url)))
        with make_sessionmaker(engine)() as session:
            # One throwaway trace loads what a running worker holds anyway (labels, web3 imports).
            _trace(session, theft.root, EvmExplorer.over_http(node.url, finality_depth=0))
            samples = {"cold": [], "warm": [], "naive_cold": [], "naive_warm": []}
            for _ in range(runs):
                session.execute(delete(ChainCache))
                session.commit()
                # Explorers live as long as a worker: a fresh one per run, kept for the warm trace.
                batched = EvmExplorer.over_http(node.url, finality_depth=0)
                samples["cold"].append(_trace(session, theft.root, batched))
                samples["warm"].append(_trace(session, theft.root, batched))
                session.execute(delete(ChainCache))
                session.commit()
                naive = NaiveEvmExplorer(http_web3(node.url), finality_depth=10**9)
                samples["naive_cold"].append(_trace(session, theft.root, naive))
                samples["naive_warm"].append(_trace(session, theft.root, naive))
    finally:
        engine.dispose()
        node.stop()
    return summarise(samples)


def summarise(samples: dict[str, list[tuple[int, float, int]]]) -> dict[str, Any]:
    """Medians of round trips and milliseconds per case, with the depth + 2 target."""
    result: dict[str, Any] = {"depth": DEPTH, "runs": len(samples["cold"])}
    for name, runs in samples.items():
        result[name] = {"round_trips": statistics.median(r[0] for r in runs),
                        "ms": round(statistics.median(r[1] for r in runs) * 1000, 1),
                        "graph_nodes": runs[0][2]}
    result["cold_within_depth_plus_2"] = result["cold"]["round_trips"] <= DEPTH + 2
    result["speedup_cold_vs_naive"] = round(result["naive_cold"]["ms"] / result["cold"]["ms"], 2)
    return result
