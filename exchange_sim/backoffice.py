"""The embedded exchange back office: accounts, withdrawals and deduplicated writes, in JSON shapes.

Both the `local` adapter and the HTTP back-office server drive these functions, so the two speak
the same API. Every write is keyed: a repeated idempotency key returns the first answer and
changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Row, Select, Update, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict
from exchange_sim.reads import without_transaction
from exchange_sim.models import BackofficeAccount, BackofficeRequest, BackofficeSecurityEvent, BackofficeWithdrawal
from incidents.exchange.port import MAX_COOLDOWN_HOURS, AccountNotFound, ExchangeRejected
from incidents.exchange.wire import format_time

FREEZE_SCOPES = ("full", "withdrawals")

# The reads and keyed writes run Core statements built once here: no unit of work, SQLAlchemy reuses
# their cache keys and compiled forms, and each reads only the columns it needs (the encrypted TOTP
# secret is read, and decrypted, by GET account alone).
ACCOUNTS = BackofficeAccount.__table__
EVENTS = BackofficeSecurityEvent.__table__
WITHDRAWALS = BackofficeWithdrawal.__table__
REQUESTS = BackofficeRequest.__table__
THE_ACCOUNT = ACCOUNTS.c.id == bindparam("account")
STATE_COLUMNS = (ACCOUNTS.c.id, ACCOUNTS.c.state, ACCOUNTS.c.changed_at)
NOW = bindparam("now", type_=ACCOUNTS.c.changed_at.type)

ACCOUNT = select(ACCOUNTS).where(THE_ACCOUNT)
ACCOUNT_LOCKED = select(ACCOUNTS.c.id).where(THE_ACCOUNT).with_for_update()
STATE_LOCKED = select(*STATE_COLUMNS).where(THE_ACCOUNT).with_for_update()
EVENTS_OF_ACCOUNT = (select(EVENTS.c.kind, EVENTS.c.at).where(EVENTS.c.account_id == bindparam("account"))
                     .order_by(EVENTS.c.at, EVENTS.c.id))
# A repeated key: count the replay and lock the row in the same statement that reads the first answer.
REPLAY = (update(REQUESTS).where(REQUESTS.c.idempotency_key == bindparam("key"))
          .values(replays=REQUESTS.c.replays + 1)
          .returning(REQUESTS.c.operation, REQUESTS.c.account_id, REQUESTS.c.response))
RECORD_REQUEST = insert(REQUESTS)
RECORD_EVENT = insert(EVENTS)
FREEZE = (update(ACCOUNTS).where(THE_ACCOUNT, ACCOUNTS.c.state != "frozen")
          .values(state="frozen", freeze_scope=bindparam("scope"), freezes=ACCOUNTS.c.freezes + 1, changed_at=NOW)
          .returning(*STATE_COLUMNS))
UNFREEZE = (update(ACCOUNTS).where(THE_ACCOUNT, ACCOUNTS.c.state == "frozen")
            .values(state="active", freeze_scope=None, changed_at=NOW,
                    withdrawals_held_until=bindparam("held_until", type_=ACCOUNTS.c.withdrawals_held_until.type))
            .returning(*STATE_COLUMNS))
COUNTERS = {counter: (select(counter).where(THE_ACCOUNT).with_for_update(),
                      update(ACCOUNTS).where(THE_ACCOUNT).values({counter: 0}))
            for counter in (ACCOUNTS.c.active_sessions, ACCOUNTS.c.active_api_keys)}
CANCEL_PENDING = (update(WITHDRAWALS).where(WITHDRAWALS.c.account_id == bindparam("account"),
                                            WITHDRAWALS.c.status == "pending")
                  .values(status="cancelled").returning(WITHDRAWALS.c.id, WITHDRAWALS.c.created_at))


def _withdrawals_of_account(*, since: bool) -> Select:
    """The account outer-joined to its withdrawals (since :since, if asked), oldest first.

    No row means no account; a row of NULL withdrawal columns means none in the window.
    """
    joined = WITHDRAWALS.c.account_id == ACCOUNTS.c.id
    if since:
        joined &= WITHDRAWALS.c.created_at >= bindparam("since", type_=WITHDRAWALS.c.created_at.type)
    return (select(ACCOUNTS.c.id.label("owner"), WITHDRAWALS).select_from(ACCOUNTS.outerjoin(WITHDRAWALS, joined))
            .where(THE_ACCOUNT).order_by(WITHDRAWALS.c.created_at, WITHDRAWALS.c.id))


WITHDRAWALS_OF_ACCOUNT = {since: _withdrawals_of_account(since=since) for since in (False, True)}


@dataclass(frozen=True)
class NewAccount:
    """An account to open in the back office."""

    account_id: str
    email: str
    phone: str
    totp_secret: str
    totp_bound_at: datetime | None = None
    phone_bound_at: datetime | None = None
    anti_phishing_code: str | None = None
    active_sessions: int = 1
    active_api_keys: int = 0


@dataclass(frozen=True)
class NewWithdrawal:
    """A withdrawal to record for an account."""

    withdrawal_id: str
    account_id: str
    chain: str
    asset: str
    amount: str
    address: str
    tx_hash: str | None = None
    status: str = "completed"
    created_at: datetime | None = None


def add_account(session: Session, *, account: NewAccount, now: datetime | None = None) -> BackofficeAccount:
    """Open an account with its factors and their bind events; 409 if the id is taken."""
    now = now or utcnow()
    if session.get(BackofficeAccount, account.account_id) is not None:
        raise Conflict(f"account {account.account_id} already exists")
    row = BackofficeAccount(
        id=account.account_id, email=account.email, phone=account.phone, totp_secret=account.totp_secret,
        totp_bound_at=account.totp_bound_at or now, phone_bound_at=account.phone_bound_at or now,
        anti_phishing_code=account.anti_phishing_code, active_sessions=account.active_sessions,
        active_api_keys=account.active_api_keys, created_at=now, changed_at=now)
    session.add(row)
    session.flush()
    session.add_all([BackofficeSecurityEvent(account_id=row.id, kind="totp_bound", at=row.totp_bound_at),
                     BackofficeSecurityEvent(account_id=row.id, kind="phone_bound", at=row.phone_bound_at)])
    session.commit()
    return row


def add_withdrawal(session: Session, *, withdrawal: NewWithdrawal,
                   now: datetime | None = None) -> BackofficeWithdrawal:
    """Record a withdrawal of an existing account."""
    _account_row(session, ACCOUNT_LOCKED, withdrawal.account_id)
    row = BackofficeWithdrawal(
        id=withdrawal.withdrawal_id, account_id=withdrawal.account_id, chain=withdrawal.chain,
        asset=withdrawal.asset, amount=withdrawal.amount, address=withdrawal.address,
        tx_hash=withdrawal.tx_hash, status=withdrawal.status, created_at=withdrawal.created_at or now or utcnow())
    session.add(row)
    session.commit()
    return row


def add_security_event(session: Session, *, account_id: str, kind: str,
                       at: datetime | None = None) -> BackofficeSecurityEvent:
    """Record a change the owner made at the exchange (a new password, authenticator or phone; now unless told)."""
    _account_row(session, ACCOUNT_LOCKED, account_id)
    event = BackofficeSecurityEvent(account_id=account_id, kind=kind, at=at or utcnow())
    session.add(event)
    session.commit()
    return event


def describe_account(session: Session, *, account_id: str) -> dict[str, Any]:
    """GET /v1/accounts/{id}: the account with its factors and security events."""
    with without_transaction(session):
        account = _account_row(session, ACCOUNT, account_id)
        events = session.execute(EVENTS_OF_ACCOUNT, {"account": account_id}).all()
    return {
        "account_id": account.id, "state": account.state, "email": account.email, "phone": account.phone,
        "anti_phishing_code": account.anti_phishing_code,
        "factors": {"totp": {"secret": account.totp_secret, "bound_at": format_time(account.totp_bound_at)},
                    "sms": {"bound_at": format_time(account.phone_bound_at)}},
        "security_events": [{"kind": event.kind, "at": format_time(event.at)} for event in events],
    }


def list_withdrawals(session: Session, *, account_id: str, since: datetime | None) -> dict[str, Any]:
    """GET /v1/accounts/{id}/withdrawals?since=: oldest first, in one query."""
    with without_transaction(session):
        rows = session.execute(WITHDRAWALS_OF_ACCOUNT[since is not None],
                               {"account": account_id, "since": since}).all()
    if not rows:
        raise AccountNotFound(f"no account {account_id} at the exchange")
    return {"items": [_withdrawal_json(row) for row in rows if row.id is not None]}


def perform(session: Session, *, operation: str, account_id: str, idempotency_key: str,
            body: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Apply one keyed write exactly once and commit; a repeated key answers as the first time."""
    if operation not in OPERATIONS:
        raise ExchangeRejected(f"unknown operation {operation}")
    now = now or utcnow()
    first = _replay(session, operation, account_id, idempotency_key)
    if first is not None:
        session.commit()
        return first
    response = OPERATIONS[operation](session, account_id, body, now)
    try:
        session.execute(RECORD_REQUEST, {"idempotency_key": idempotency_key, "operation": operation,
                                         "account_id": account_id, "response": response, "created_at": now})
        session.commit()
    except IntegrityError:
        # Another caller with the same key won the race: its answer is the answer.
        session.rollback()
        return perform(session, operation=operation, account_id=account_id, idempotency_key=idempotency_key,
                       body=body, now=now)
    return response


def count_requests(session: Session, *, account_id: str, operation: str) -> int:
    """How many distinct keyed writes of this kind the account received."""
    return session.scalar(select(func.count()).select_from(BackofficeRequest).where(
        BackofficeRequest.account_id == account_id, BackofficeRequest.operation == operation))


def _replay(session: Session, operation: str, account_id: str, key: str) -> dict[str, Any] | None:
    """The first answer for this key, if the key was seen; a key reused for another request is refused."""
    seen = session.execute(REPLAY, {"key": key}).first()
    if seen is None:
        return None
    if seen.operation != operation or seen.account_id != account_id:
        session.rollback()
        raise ExchangeRejected(f"idempotency key {key} was used for another request")
    return seen.response


def _account_row(session: Session, query: Select, account_id: str) -> Row:
    """The account's row as `query` reads it; AccountNotFound when the exchange has none."""
    row = session.execute(query, {"account": account_id}).first()
    if row is None:
        raise AccountNotFound(f"no account {account_id} at the exchange")
    return row


def _change_state(session: Session, change: Update, account_id: str, event: str, now: datetime,
                  **values: Any) -> dict[str, Any]:
    """Apply a state change (an UPDATE … RETURNING that matches only when it applies) and record its event."""
    changed = session.execute(change, {"account": account_id, "now": now, **values}).first()
    if changed is None:
        return _state_json(_account_row(session, STATE_LOCKED, account_id))
    session.execute(RECORD_EVENT, {"account_id": account_id, "kind": event, "at": now})
    return _state_json(changed)


def _freeze(session: Session, account_id: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Freeze the account; freezing a frozen account changes nothing."""
    scope = body.get("scope", "full")
    if scope not in FREEZE_SCOPES:
        raise ExchangeRejected(f"scope must be one of {', '.join(FREEZE_SCOPES)}")
    return _change_state(session, FREEZE, account_id, "account_frozen", now, scope=scope)


def _unfreeze(session: Session, account_id: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Lift the freeze and hold withdrawals for the cool-down; unfreezing an active account changes nothing."""
    hours = body.get("withdrawal_cooldown_hours", 24)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= MAX_COOLDOWN_HOURS:
        raise ExchangeRejected(f"withdrawal_cooldown_hours must be a whole number from 0 to {MAX_COOLDOWN_HOURS}")
    held_until = now + timedelta(hours=hours)
    return _change_state(session, UNFREEZE, account_id, "account_unfrozen", now, held_until=held_until)


def _revoke_sessions(session: Session, account_id: str, _body: dict, _now: datetime) -> dict[str, Any]:
    """Sign every session out."""
    return {"revoked": _zero(session, ACCOUNTS.c.active_sessions, account_id)}


def _revoke_api_keys(session: Session, account_id: str, _body: dict, _now: datetime) -> dict[str, Any]:
    """Revoke every API key."""
    return {"revoked": _zero(session, ACCOUNTS.c.active_api_keys, account_id)}


def _zero(session: Session, counter: Column, account_id: str) -> int:
    """Set one of the account's counters to zero; how many it counted."""
    read, reset = COUNTERS[counter]
    count = _account_row(session, read, account_id)[0]
    if count:
        session.execute(reset, {"account": account_id})
    return count


def _cancel_pending(session: Session, account_id: str, _body: dict, _now: datetime) -> dict[str, Any]:
    """Cancel the withdrawals not yet broadcast, oldest first."""
    _account_row(session, ACCOUNT_LOCKED, account_id)
    cancelled = session.execute(CANCEL_PENDING, {"account": account_id})
    return {"cancelled": [row.id for row in sorted(cancelled, key=lambda row: (row.created_at, row.id))]}


def _state_json(account: Row) -> dict[str, Any]:
    """A freeze or unfreeze answer."""
    return {"account_id": account.id, "state": account.state, "changed_at": format_time(account.changed_at)}


def _withdrawal_json(row: Row) -> dict[str, Any]:
    """One withdrawal as the API shows it."""
    return {"id": row.id, "chain": row.chain, "asset": row.asset, "amount": row.amount, "address": row.address,
            "tx_hash": row.tx_hash, "status": row.status, "created_at": format_time(row.created_at)}


OPERATIONS: dict[str, Callable[[Session, str, dict[str, Any], datetime], dict[str, Any]]] = {
    "freeze": _freeze,
    "unfreeze": _unfreeze,
    "revoke_sessions": _revoke_sessions,
    "revoke_api_keys": _revoke_api_keys,
    "cancel_pending_withdrawals": _cancel_pending,
}
