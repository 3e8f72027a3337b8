"""The back office's freeze batch: many keyed freezes in one transaction, each as if it had been sent alone.

Every item is idempotent on its own key, in the same table as single freezes, so a batch retried item by
item with the same keys (or a single freeze retried as part of a batch) never freezes an account twice.
An unknown account (404) or a refused item (409: a bad scope, a key used for another request) is that
item's result alone. The writes are set-based: one read of the keys, one locking read of the accounts,
one UPDATE per scope, one INSERT of the events and one of the request records. Should a concurrent
caller record one of the keys first, the batch is rolled back and done item by item instead.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from exchange_sim import backoffice
from exchange_sim.backoffice import ACCOUNTS, FREEZE_SCOPES, RECORD_EVENT, RECORD_REQUEST, REQUESTS
from incidents.exchange.port import AccountNotFound, ExchangeRejected
from incidents.exchange.wire import format_time

_SEEN_KEYS = (select(REQUESTS.c.idempotency_key, REQUESTS.c.operation, REQUESTS.c.account_id, REQUESTS.c.response)
              .where(REQUESTS.c.idempotency_key.in_(bindparam("keys", expanding=True)))
              .order_by(REQUESTS.c.idempotency_key).with_for_update())
_COUNT_REPLAYS = (update(REQUESTS).where(REQUESTS.c.idempotency_key.in_(bindparam("keys", expanding=True)))
                  .values(replays=REQUESTS.c.replays + 1))
_ACCOUNTS_LOCKED = (select(ACCOUNTS.c.id, ACCOUNTS.c.state, ACCOUNTS.c.changed_at)
                    .where(ACCOUNTS.c.id.in_(bindparam("ids", expanding=True)))
                    .order_by(ACCOUNTS.c.id).with_for_update())
_FREEZE_MANY = (update(ACCOUNTS).where(ACCOUNTS.c.id.in_(bindparam("ids", expanding=True)), ACCOUNTS.c.state != "frozen")
                .values(state="frozen", freeze_scope=bindparam("scope"), freezes=ACCOUNTS.c.freezes + 1,
                        changed_at=bindparam("now", type_=ACCOUNTS.c.changed_at.type))
                .returning(ACCOUNTS.c.id))


def freeze_batch(session: Session, *, items: list[dict[str, Any]], now: datetime | None = None) -> list[dict[str, Any]]:
    """Freeze the items' accounts, each once per key, and commit; one result per item, in order."""
    now = now or utcnow()
    try:
        results = _all_at_once(session, items, now)
        session.commit()
    except IntegrityError:  # a concurrent caller recorded one of the keys first: its answer is the answer
        session.rollback()
        results = [_alone(session, item, now) for item in items]
    return results


def _all_at_once(session: Session, items: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The set-based batch, in the caller's transaction."""
    keys = sorted({item["idempotency_key"] for item in items})
    seen = {row.idempotency_key: row for row in session.execute(_SEEN_KEYS, {"keys": keys})}
    if seen:
        session.execute(_COUNT_REPLAYS, {"keys": sorted(seen)})
    results: list[dict[str, Any] | None] = [None] * len(items)
    first_of_key: dict[str, int] = {}
    fresh: list[int] = []
    for index, item in enumerate(items):
        key = item["idempotency_key"]
        if key in seen:
            results[index] = _replayed(item, seen[key])
        elif key in first_of_key:
            continue  # answered as the first item with this key, once that one is known
        elif item.get("scope", "full") not in FREEZE_SCOPES:
            first_of_key[key] = index
            results[index] = _refused(item, 409, f"scope must be one of {', '.join(FREEZE_SCOPES)}")
        else:
            first_of_key[key] = index
            fresh.append(index)
    _freeze_fresh(session, items, fresh, results, now)
    for index, item in enumerate(items):
        if results[index] is None:
            first = items[first_of_key[item["idempotency_key"]]]
            same = first["account_id"] == item["account_id"]
            results[index] = ({**results[first_of_key[item["idempotency_key"]]]} if same else _refused(
                item, 409, f"idempotency key {item['idempotency_key']} was used for another request"))
    return results


def _freeze_fresh(session: Session, items: list[dict[str, Any]], fresh: list[int],
                  results: list[dict[str, Any] | None], now: datetime) -> None:
    """Freeze the accounts of the items whose keys are new; record their events and answers."""
    if not fresh:
        return
    accounts = {row.id: row for row in session.execute(
        _ACCOUNTS_LOCKED, {"ids": sorted({items[index]["account_id"] for index in fresh})})}
    scope_of: dict[str, str] = {}
    for index in fresh:
        account_id = items[index]["account_id"]
        if account_id in accounts and accounts[account_id].state != "frozen":
            scope_of.setdefault(account_id, items[index].get("scope", "full"))
    changed: set[str] = set()
    for scope in sorted(set(scope_of.values())):
        ids = sorted(account for account, wanted in scope_of.items() if wanted == scope)
        changed.update(session.scalars(_FREEZE_MANY, {"ids": ids, "scope": scope, "now": now}))
    if changed:
        session.execute(RECORD_EVENT, [{"account_id": account, "kind": "account_frozen", "at": now}
                                       for account in sorted(changed)])
    records = []
    for index in fresh:
        item = items[index]
        account = accounts.get(item["account_id"])
        if account is None:
            results[index] = _refused(item, 404, f"no account {item['account_id']} at the exchange")
            continue
        changed_at = now if account.id in changed else account.changed_at
        response = {"account_id": account.id, "state": "frozen" if account.id in changed else account.state,
                    "changed_at": format_time(changed_at)}
        records.append({"idempotency_key": item["idempotency_key"], "operation": "freeze",
                        "account_id": account.id, "response": response, "created_at": now})
        results[index] = {"idempotency_key": item["idempotency_key"], "status": 200, **response}
    if records:
        session.execute(RECORD_REQUEST, records)


def _replayed(item: dict[str, Any], seen) -> dict[str, Any]:
    """A key seen before: its first answer, or 409 when it was used for another request."""
    if seen.operation != "freeze" or seen.account_id != item["account_id"]:
        return _refused(item, 409, f"idempotency key {item['idempotency_key']} was used for another request")
    return {"idempotency_key": item["idempotency_key"], "status": 200, **seen.response}


def _alone(session: Session, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One item as a single keyed freeze (its own transaction)."""
    body = {name: item[name] for name in ("scope", "reason", "reference") if name in item}
    try:
        response = backoffice.perform(session, operation="freeze", account_id=item["account_id"],
                                      idempotency_key=item["idempotency_key"], body=body, now=now)
    except AccountNotFound as error:
        session.rollback()
        return _refused(item, 404, error.detail)
    except ExchangeRejected as error:
        session.rollback()
        return _refused(item, 409, error.detail)
    return {"idempotency_key": item["idempotency_key"], "status": 200, **response}


def _refused(item: dict[str, Any], status: int, detail: str) -> dict[str, Any]:
    """An item the exchange did not freeze, and why."""
    return {"account_id": item["account_id"], "idempotency_key": item["idempotency_key"], "status": status,
            "state": None, "changed_at": None, "error": detail}
