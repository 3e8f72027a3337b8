"""Background tracing: the worker runs queued traces, re-watches pending transactions, recovers dropped ones."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from app.extensions import runtime
from chain import service as chain_service
from chain.explorers.port import Explorer
from chain.stablecoins import SHIPPED, Stablecoin, stablecoins

log = logging.getLogger("lockdesk.tracing")


class TraceRunner:
    """Runs traces one at a time off the request path (network calls never hold a transaction)."""

    def __init__(self, sessions: sessionmaker[Session], explorers: Mapping[str, Explorer], *,
                 max_fan_out: int = 8, min_amount: Decimal = Decimal(0),
                 coins: Mapping[str, Mapping[str, Stablecoin]] = SHIPPED):
        self.sessions, self.explorers = sessions, explorers
        self.max_fan_out, self.min_amount, self.coins = max_fan_out, min_amount, coins

    def run_due(self, *, limit: int = 5) -> int:
        """Run up to `limit` due traces; the number run."""
        ran = 0
        for _ in range(limit):
            with self.sessions() as session:
                trace_id = chain_service.claim_next_trace(session)
                if trace_id is None:
                    break
                chain_service.run_trace(session, trace_id=trace_id, explorers=self.explorers,
                                        max_fan_out=self.max_fan_out, min_amount=self.min_amount,
                                        coins=self.coins)
            ran += 1
        return ran

    def __call__(self) -> int:
        """One worker tick's worth of tracing; failures are logged, never raised into the loop."""
        try:
            return self.run_due()
        except Exception:
            log.exception("tracing tick failed")
            return 0


def wake_tracer() -> None:
    """Tell the worker a trace is waiting."""
    dispatcher = runtime().ports.dispatcher
    if dispatcher is not None:
        dispatcher.wake()


def init_app(app: Flask) -> None:
    """The runner the worker calls each tick, over the explorers app/adapters.py put in the ports."""
    state = app.extensions["lockdesk"]
    state.ports.tracer = TraceRunner(state.sessions, state.ports.explorers,
                                     min_amount=Decimal(str(app.config.get("TRACE_MIN_AMOUNT", "0"))),
                                     coins=stablecoins(app.config.get("STABLECOIN_CONTRACTS")))
