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

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Conflict, utcnow
from incidents.exchange.models import (
    BackofficeAccount,
    BackofficeRequest,
    BackofficeSecurityEvent,
    BackofficeWithdrawal,
)
from incidents.exchange.port import AccountNotFound, ExchangeRejected
from incidents.exchange.wire import format_time

FREEZE_SCOPES = ("full", "withdrawals")


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
    _account(session, withdrawal.account_id)
    row = BackofficeWithdrawal(
        id=withdrawal.withdrawal_id, account_id=withdrawal.account_id, chain=withdrawal.chain,
        asset=withdrawal.asset, amount=withdrawal.amount, address=withdrawal.address,
        tx_hash=withdrawal.tx_hash, status=withdrawal.status, created_at=withdrawal.created_at or now or utcnow())
    session.add(row)
    session.commit()
    return row


def describe_account(session: Session, *, account_id: str) -> dict[str, Any]:
    """GET /v1/accounts/{id}: the account with its factors and security events."""
    account = _account(session, account_id)
    events = session.scalars(select(BackofficeSecurityEvent).where(BackofficeSecurityEvent.account_id == account_id)
                             .order_by(BackofficeSecurityEvent.at, BackofficeSecurityEvent.id))
    return {
        "account_id": account.id, "state": account.state, "email": account.email, "phone": account.phone,
        "anti_phishing_code": account.anti_phishing_code,
        "factors": {"totp": {"secret": account.totp_secret, "bound_at": format_time(account.totp_bound_at)},
                    "sms": {"bound_at": format_time(account.phone_bound_at)}},
        "security_events": [{"kind": event.kind, "at": format_time(event.at)} for event in events],
    }


def list_withdrawals(session: Session, *, account_id: str, since: datetime | None) -> dict[str, Any]:
    """GET /v1/accounts/{id}/withdrawals?since=: oldest first."""
    _account(session, account_id)
    query = select(BackofficeWithdrawal).where(BackofficeWithdrawal.account_id == account_id)
    if since is not None:
        query = query.where(BackofficeWithdrawal.created_at >= since)
    rows = session.scalars(query.order_by(BackofficeWithdrawal.created_at, BackofficeWithdrawal.id))
    return {"items": [_withdrawal_json(row) for row in rows]}


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
    response = OPERATIONS[operation](session, _account(session, account_id, lock=True), body, now)
    session.add(BackofficeRequest(idempotency_key=idempotency_key, operation=operation, account_id=account_id,
                                  response=response, created_at=now))
    try:
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
    seen = session.get(BackofficeRequest, key, with_for_update=True)
    if seen is None:
        return None
    if seen.operation != operation or seen.account_id != account_id:
        raise ExchangeRejected(f"idempotency key {key} was used for another request")
    seen.replays += 1
    return seen.response


def _account(session: Session, account_id: str, *, lock: bool = False) -> BackofficeAccount:
    """The account row; AccountNotFound when the exchange has none."""
    account = session.get(BackofficeAccount, account_id, with_for_update=lock)
    if account is None:
        raise AccountNotFound(f"no account {account_id} at the exchange")
    return account


def _freeze(session: Session, account: BackofficeAccount, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Freeze the account; freezing a frozen account changes nothing."""
    scope = body.get("scope", "full")
    if scope not in FREEZE_SCOPES:
        raise ExchangeRejected(f"scope must be one of {', '.join(FREEZE_SCOPES)}")
    if account.state != "frozen":
        account.state, account.freeze_scope, account.changed_at = "frozen", scope, now
        account.freezes += 1
        session.add(BackofficeSecurityEvent(account_id=account.id, kind="account_frozen", at=now))
    return _state_json(account)


def _unfreeze(session: Session, account: BackofficeAccount, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Lift the freeze and hold withdrawals for the cool-down."""
    if account.state == "frozen":
        hours = int(body.get("withdrawal_cooldown_hours", 24))
        account.state, account.freeze_scope, account.changed_at = "active", None, now
        account.withdrawals_held_until = now + timedelta(hours=hours)
        session.add(BackofficeSecurityEvent(account_id=account.id, kind="account_unfrozen", at=now))
    return _state_json(account)


def _revoke_sessions(_session: Session, account: BackofficeAccount, _body: dict, now: datetime) -> dict[str, Any]:
    """Sign every session out."""
    revoked, account.active_sessions = account.active_sessions, 0
    return {"revoked": revoked}


def _revoke_api_keys(_session: Session, account: BackofficeAccount, _body: dict, now: datetime) -> dict[str, Any]:
    """Revoke every API key."""
    revoked, account.active_api_keys = account.active_api_keys, 0
    return {"revoked": revoked}


def _cancel_pending(session: Session, account: BackofficeAccount, _body: dict, now: datetime) -> dict[str, Any]:
    """Cancel the withdrawals not yet broadcast."""
    pending = list(session.scalars(select(BackofficeWithdrawal).where(
        BackofficeWithdrawal.account_id == account.id, BackofficeWithdrawal.status == "pending")
        .order_by(BackofficeWithdrawal.created_at, BackofficeWithdrawal.id)))
    for row in pending:
        row.status = "cancelled"
    return {"cancelled": [row.id for row in pending]}


def _state_json(account: BackofficeAccount) -> dict[str, Any]:
    """A freeze or unfreeze answer."""
    return {"account_id": account.id, "state": account.state, "changed_at": format_time(account.changed_at)}


def _withdrawal_json(row: BackofficeWithdrawal) -> dict[str, Any]:
    """One withdrawal as the API shows it."""
    return {"id": row.id, "chain": row.chain, "asset": row.asset, "amount": row.amount, "address": row.address,
            "tx_hash": row.tx_hash, "status": row.status, "created_at": format_time(row.created_at)}


OPERATIONS: dict[str, Callable[[Session, BackofficeAccount, dict[str, Any], datetime], dict[str, Any]]] = {
    "freeze": _freeze,
    "unfreeze": _unfreeze,
    "revoke_sessions": _revoke_sessions,
    "revoke_api_keys": _revoke_api_keys,
    "cancel_pending_withdrawals": _cancel_pending,
}
