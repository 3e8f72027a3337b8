"""Helpers for the exchange tests: a back-office account, a real HTTP back office, a recording fake."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.db import make_engine, make_sessionmaker
from exchange_sim.server import ExchangeServer
from exchange_sim import backoffice
from exchange_sim.models import BackofficeAccount, BackofficeRequest
from incidents.exchange.port import StateChange
from incidents.exchange.breaker import CircuitBreaker
from incidents.exchange.http import HttpExchange, HttpSettings

API_KEY = "test-exchange-key"
API_SECRET = "test-exchange-secret"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def open_account(session, account_id: str = "U1001", **overrides) -> BackofficeAccount:
    """An embedded-exchange account with a bound authenticator and phone."""
    fields = {"account_id": account_id, "email": "owner@example.com", "phone": "+15550001",
              "totp_secret": TOTP_SECRET, "totp_bound_at": datetime(2025, 1, 2, tzinfo=UTC),
              "phone_bound_at": datetime(2025, 1, 3, tzinfo=UTC), "anti_phishing_code": "BLUE-OWL",
              "active_sessions": 3, "active_api_keys": 2}
    fields.update(overrides)
    return backoffice.add_account(session, account=backoffice.NewAccount(**fields))


def backoffice_account(session, account_id: str) -> BackofficeAccount:
    """The account as the exchange now has it (ends the session's transaction: SQLite has one writer)."""
    session.rollback()
    account = session.get(BackofficeAccount, account_id, populate_existing=True)
    if account is not None:
        session.expunge(account)  # keep its loaded state: a rollback would expire it and reading would lock again
    session.rollback()
    return account


def keyed_writes(session, operation: str) -> int:
    """How many distinct idempotency keys the exchange saw for an operation."""
    session.rollback()
    count = session.scalar(select(func.count()).select_from(BackofficeRequest)
                           .where(BackofficeRequest.operation == operation))
    session.rollback()
    return count


@pytest.fixture
def exchange_server(database_url):
    """The HTTP back office on 127.0.0.1, over the test database, with its own engine (a remote peer)."""
    engine = make_engine(database_url)
    server = ExchangeServer(make_sessionmaker(engine), api_key=API_KEY, secret=API_SECRET).start()
    yield server
    server.stop()
    engine.dispose()


def http_exchange_settings(server: ExchangeServer, **extra) -> dict:
    """Application settings that point the `http` adapter at the back-office server."""
    return {"EXCHANGE_ADAPTER": "http", "EXCHANGE_API_BASE": server.url, "EXCHANGE_API_KEY": API_KEY,
            "EXCHANGE_API_SECRET": API_SECRET, "EXCHANGE_MAX_ATTEMPTS": 2, "EXCHANGE_BUDGET_SECONDS": 10.0,
            "EXCHANGE_BREAKER_FAILURES": 1000, **extra}


class RecordingExchange:
    """A fake exchange that confirms everything and counts calls per idempotency key."""

    def __init__(self):
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def freeze(self, account_id: str, *, scope: str, reason: str, reference: str,
               idempotency_key: str) -> StateChange:
        """Count and confirm."""
        with self._lock:
            self.calls[idempotency_key] += 1
        return StateChange(account_id=account_id, state="frozen", changed_at=datetime.now(UTC))


def client_for(server, *, secret: str = API_SECRET, attempts: int = 3, breaker: CircuitBreaker | None = None,
               read_timeout: float = 5.0) -> HttpExchange:
    """An adapter pointed at the server, pausing nowhere between retries."""
    settings = HttpSettings(base_url=server.url, api_key=API_KEY, secret=secret, max_attempts=attempts,
                            read_timeout=read_timeout)
    return HttpExchange(settings, breaker=breaker or CircuitBreaker(failure_threshold=100), sleep=lambda _s: None)
