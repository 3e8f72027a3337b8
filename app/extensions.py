"""Extensions created unbound and attached in the factory, and the per-request database session."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.ports import Ports

limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")


@dataclass
class Runtime:
    """What the application holds for its lifetime: the engine, the session factory, the ports."""

    engine: Engine
    sessions: sessionmaker[Session]
    ports: Ports = field(default_factory=Ports)


def runtime() -> Runtime:
    """The running application's Runtime."""
    return current_app.extensions["lockdesk"]


def get_session() -> Session:
    """The request's database session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = runtime().sessions()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session (rolling back anything uncommitted)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def report_account_key() -> str:
    """Rate-limit key for the public report endpoint: the account the report names."""
    body = request.get_json(silent=True)
    account = body.get("account_id") if isinstance(body, dict) else None
    return f"report-account:{account}"
