"""The account-control API's JSON, both ways: the one place its field names are spelled."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from incidents.exchange.port import (
    AccountSnapshot,
    Cancellation,
    DepositAddress,
    Factors,
    Revocation,
    SecurityEvent,
    SmsFactor,
    StateChange,
    TotpFactor,
    Withdrawal,
)


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """Read an ISO 8601 time; a missing zone means UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def account_from_json(body: dict[str, Any]) -> AccountSnapshot:
    """GET /v1/accounts/{id} → AccountSnapshot."""
    factors = body.get("factors") or {}
    totp = factors.get("totp") or {}
    sms = factors.get("sms") or {}
    return AccountSnapshot(
        account_id=body["account_id"], state=body["state"], email=body.get("email"),
        phone=body.get("phone"), anti_phishing_code=body.get("anti_phishing_code"),
        factors=Factors(totp=TotpFactor(secret=totp.get("secret"), bound_at=parse_time(totp.get("bound_at"))),
                        sms=SmsFactor(bound_at=parse_time(sms.get("bound_at")))),
        security_events=[SecurityEvent(kind=event["kind"], at=parse_time(event["at"]))
                         for event in body.get("security_events") or []],
    )


def state_change_from_json(body: dict[str, Any]) -> StateChange:
    """A freeze or unfreeze answer → StateChange."""
    return StateChange(account_id=body["account_id"], state=body["state"],
                       changed_at=parse_time(body["changed_at"]))


def revocation_from_json(body: dict[str, Any]) -> Revocation:
    """`{"revoked": n}` → Revocation."""
    return Revocation(revoked=int(body["revoked"]))


def cancellation_from_json(body: dict[str, Any]) -> Cancellation:
    """`{"cancelled": [ids]}` → Cancellation."""
    return Cancellation(cancelled=[str(item) for item in body["cancelled"]])


def withdrawals_from_json(body: dict[str, Any]) -> list[Withdrawal]:
    """`{"items": […]}` → withdrawals."""
    return [Withdrawal(id=str(item["id"]), chain=item["chain"], asset=item["asset"], amount=str(item["amount"]),
                       address=item["address"], tx_hash=item.get("tx_hash"), status=item["status"],
                       created_at=parse_time(item["created_at"]))
            for item in body.get("items") or []]


def deposit_address_from_json(body: dict[str, Any]) -> DepositAddress:
    """GET /v1/deposit-addresses/{address}."""
    return DepositAddress(address=body["address"], chain=body["chain"], account_id=body["account_id"])
