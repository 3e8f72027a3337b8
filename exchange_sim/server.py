"""A real HTTP back office for the embedded exchange: the account-control API over the back-office tables.

It checks X-Api-Key and the X-Signature HMAC, honours Idempotency-Key, and can inject faults
(fail the next N calls, answer slowly, pretend accounts are unknown, hold a write's answer) so the
`http` adapter and the outbox are tested against a real peer. Tests start it in a thread with
`ExchangeServer`; `flask exchange serve` (the bench's peer) runs it under gunicorn with `serve_exchange`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request
from gunicorn.app.base import BaseApplication
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import WSGIRequestHandler, make_server

from app.db import make_engine, make_sessionmaker, utcnow
from kernel.errors import Conflict, DomainError
from app.heap import freeze_startup_objects
from exchange_sim import backoffice, deposits
from exchange_sim.batch_route import add_freeze_batch
from exchange_sim.call_counts import add_call_counts
from exchange_sim.faults import CALL_LOG_LIMIT, Call, CallLog, Faults  # noqa: F401 - the server's interface
from incidents.exchange.port import AccountNotFound
from incidents.exchange.signing import is_valid
from incidents.exchange.wire import parse_time

WRITES = {"freeze": "freeze", "unfreeze": "unfreeze", "sessions/revoke": "revoke_sessions",
          "api-keys/revoke": "revoke_api_keys", "withdrawals/cancel-pending": "cancel_pending_withdrawals"}
HOLD_LIMIT_SECONDS = 120
# A request holds a connection only while it touches the database, never while an injected delay sleeps,
# so a few connections serve many threads; PostgreSQL's default allows 100 for the whole bench.
POOL_CONNECTIONS = 10


def create_exchange_app(sessions: sessionmaker[Session], *, api_key: str, secret: str,
                        faults: Faults | None = None, calls: CallLog | None = None) -> Flask:
    """The back-office WSGI application."""
    app = Flask("exchange_backoffice")
    app.extensions["backoffice"] = _Backoffice(sessions, api_key, secret, faults or Faults(), calls or CallLog())
    app.before_request(_guard)
    app.register_error_handler(DomainError, _domain_error)
    app.add_url_rule("/v1/accounts/<account_id>", view_func=_get_account, methods=["GET"])
    app.add_url_rule("/v1/accounts/<account_id>/withdrawals", view_func=_get_withdrawals, methods=["GET"])
    app.add_url_rule("/v1/accounts/<account_id>/<path:operation>", view_func=_post_write, methods=["POST"])
    app.add_url_rule("/v1/deposit-addresses/<address>", view_func=_get_deposit_address, methods=["GET"])
    app.add_url_rule("/_faults", view_func=_post_faults, methods=["POST"])
    add_freeze_batch(app)
    add_call_counts(app)
    return app


@dataclass
class _Backoffice:
    """What the back-office app holds."""

    sessions: sessionmaker[Session]
    api_key: str
    secret: str
    faults: Faults
    calls: CallLog


def _state() -> _Backoffice:
    """The running back office."""
    from flask import current_app

    return current_app.extensions["backoffice"]


def _signed_path() -> str:
    """The path with query exactly as the client sent it (what the signature covers)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw
    query = request.query_string.decode()
    return request.path + (f"?{query}" if query else "")


def _guard() -> Response | None:
    """Log the call, authenticate it, then apply any injected fault."""
    state = _state()
    port = request.environ.get("REMOTE_PORT")
    state.calls.add(Call(request.method, _signed_path(), request.headers.get("Idempotency-Key"),
                         int(port) if port else None))
    if not _authentic(state):
        return _error(401, "unauthorized", "missing or invalid API key or signature")
    if request.path == "/_faults":
        return None
    return _inject(state.faults)


def _authentic(state: _Backoffice) -> bool:
    """X-Api-Key matches and X-Signature is the HMAC of this request, timestamped within 300 s."""
    if request.headers.get("X-Api-Key") != state.api_key:
        return False
    return is_valid(state.secret, signature=request.headers.get("X-Signature", ""),
                    timestamp=request.headers.get("X-Timestamp", ""), method=request.method,
                    path=_signed_path(), body=request.get_data(cache=True), now=utcnow())


def _inject(faults: Faults) -> Response | None:
    """Answer slowly, fail, or pretend the account is unknown, as configured."""
    if faults.delay_seconds:
        time.sleep(faults.delay_seconds)
    status = faults.take_failure()
    if status is not None:
        response = _error(status, "injected", f"injected failure {status}")
        if faults.retry_after is not None:
            response.headers["Retry-After"] = faults.retry_after
        return response
    if faults.missing_accounts:
        return _error(404, "not-found", "no such account")
    return None


def _get_account(account_id: str):
    """GET /v1/accounts/{id}."""
    with _state().sessions() as session:
        return jsonify(backoffice.describe_account(session, account_id=account_id))


def _get_deposit_address(address: str):
    """GET /v1/deposit-addresses/{address}: the account it belongs to, or 404."""
    with _state().sessions() as session:
        return jsonify(deposits.describe_deposit_address(session, address=address))


def _get_withdrawals(account_id: str):
    """GET /v1/accounts/{id}/withdrawals?since=."""
    since = parse_time(request.args.get("since"))
    with _state().sessions() as session:
        return jsonify(backoffice.list_withdrawals(session, account_id=account_id, since=since))


def _post_write(account_id: str, operation: str):
    """POST a keyed write: freeze, unfreeze, revocations, cancellation."""
    if operation not in WRITES:
        return _error(404, "not-found", "no such operation")
    key = request.headers.get("Idempotency-Key")
    if not key or len(key) > 255:
        return _error(400, "idempotency-key", "Idempotency-Key is required on POST (1-255 characters)")
    state = _state()
    with state.sessions() as session:
        answer = backoffice.perform(session, operation=WRITES[operation], account_id=account_id,
                                    idempotency_key=key, body=request.get_json(silent=True) or {})
    _hold(state.faults)
    return jsonify(answer)


def _hold(faults: Faults) -> None:
    """When told to, signal that a write committed and wait before answering (a crash window for tests)."""
    if faults.hold_writes:
        faults.write_applied.set()
        faults.release.wait(HOLD_LIMIT_SECONDS)


def _post_faults():
    """POST /_faults: change injected faults from another process (bench, subprocess tests)."""
    body = request.get_json(silent=True) or {}
    allowed = {"fail_next", "fail_status", "retry_after", "delay_seconds", "missing_accounts"}
    try:
        _state().faults.configure(**{name: value for name, value in body.items() if name in allowed})
    except ValueError as error:
        return _error(422, "validation", str(error))
    return jsonify({"ok": True})


def _domain_error(error: DomainError):
    """Unknown accounts 404, duplicates 409, other refusals 422."""
    if isinstance(error, AccountNotFound):
        return _error(404, "not-found", error.detail)
    return _error(409 if isinstance(error, Conflict) else 422, error.slug, error.detail)


def _error(status: int, code: str, detail: str) -> Response:
    """A JSON error answer."""
    response = jsonify({"error": code, "detail": detail})
    response.status_code = status
    return response


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1, so a client's pooled connection is kept across calls, as a real exchange would."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code="-", size="-") -> None:
        """Keep quiet: the server's own call log records what tests and the bench need."""


class ExchangeServer:
    """The back office served by werkzeug on 127.0.0.1 in a background thread of this process (tests)."""

    def __init__(self, sessions: sessionmaker[Session], *, api_key: str, secret: str, host: str = "127.0.0.1",
                 port: int = 0):
        self.faults = Faults()
        self.calls = CallLog()
        app = create_exchange_app(sessions, api_key=api_key, secret=secret, faults=self.faults, calls=self.calls)
        self._server = make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the `http` adapter."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ExchangeServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="exchange-backoffice", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release any held answer."""
        self.faults.release.set()
        self._server.shutdown()
        self._server.server_close()


class _Gunicorn(BaseApplication):
    """gunicorn driven from code: the settings given, the WSGI app built by `load` in the worker."""

    def __init__(self, load: Callable[[], Flask], settings: dict[str, Any]):
        self._load, self._settings = load, settings
        super().__init__()

    def load_config(self) -> None:
        """Apply our settings, nothing from the command line or a config file."""
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        """The back-office app of this worker."""
        return self._load()


def serve_exchange(database_url: str, *, api_key: str, secret: str, host: str, port: int, threads: int) -> None:
    """Serve the back office with gunicorn until stopped.

    One worker process with `threads` gthread threads, so the injected faults and the call log stay one
    shared object that `/_faults` changes; HTTP/1.1 connections are kept alive between calls.
    """
    def load() -> Flask:
        # No ping per checkout (a round trip per call): a connection the database dropped fails one call
        # with a 500, which the client retries, and SQLAlchemy then replaces the pool's connections.
        engine = make_engine(database_url, pool_size=min(threads, POOL_CONNECTIONS), max_overflow=0,
                             pool_pre_ping=False)
        return create_exchange_app(make_sessionmaker(engine), api_key=api_key, secret=secret)

    _Gunicorn(load, {"bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread", "threads": threads,
                     "keepalive": 75, "graceful_timeout": 5, "loglevel": "warning",
                     "proc_name": "lockdesk-exchange",
                     "post_worker_init": lambda _worker: freeze_startup_objects()}).run()
