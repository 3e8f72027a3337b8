"""The exchange's account-control API as a port: what Lockdesk asks of it and what it answers."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from kernel.errors import DomainError

# The longest withdrawal hold an unfreeze may ask for (the wire's `withdrawal_cooldown_hours`): 30 days.
MAX_COOLDOWN_HOURS = 24 * 30
# The most items one `POST /v1/accounts/freeze-batch` may carry.
MAX_FREEZE_BATCH = 500


class ExchangeError(DomainError):
    """The exchange could not do what was asked."""

    status, slug, title = 502, "exchange-error", "Exchange error"
    is_retryable = False


class ExchangeUnavailable(ExchangeError):
    """The exchange did not answer in time or answered 429/5xx; try again later, same key."""

    status, slug, title = 503, "exchange-unavailable", "Exchange unavailable"
    is_retryable = True

    def __init__(self, detail: str, *, retry_after: float | None = None):
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class ExchangeRejected(ExchangeError):
    """The exchange refused the request (a 4xx other than 429); repeating it will not help."""

    status, slug, title = 502, "exchange-rejected", "Exchange rejected the request"


class AccountNotFound(ExchangeRejected):
    """The exchange knows no such account."""

    status, slug, title = 404, "exchange-account-not-found", "Account unknown to the exchange"


@dataclass(frozen=True)
class SecurityEvent:
    """Something the exchange saw happen to the account's security settings."""

    kind: str
    at: datetime


@dataclass(frozen=True)
class TotpFactor:
    """The authenticator bound to the account (secret as the exchange keeps it)."""

    secret: str | None
    bound_at: datetime | None


@dataclass(frozen=True)
class SmsFactor:
    """The phone bound for SMS codes."""

    bound_at: datetime | None


@dataclass(frozen=True)
class Factors:
    """The account's second factors."""

    totp: TotpFactor
    sms: SmsFactor


@dataclass(frozen=True)
class AccountSnapshot:
    """The account as the exchange sees it, kept as evidence for the factor trust rule."""

    account_id: str
    state: str
    email: str | None
    phone: str | None
    anti_phishing_code: str | None
    factors: Factors
    security_events: list[SecurityEvent] = field(default_factory=list)


@dataclass(frozen=True)
class StateChange:
    """The account's state after a freeze or unfreeze."""

    account_id: str
    state: str
    changed_at: datetime


@dataclass(frozen=True)
class FreezeItem:
    """One account of a freeze batch, keyed like a single freeze."""

    account_id: str
    scope: str
    reason: str
    reference: str
    idempotency_key: str


@dataclass(frozen=True)
class FreezeItemResult:
    """The exchange's answer to one item of a freeze batch: 200 with the state change, or 404 / 409 with why."""

    account_id: str
    idempotency_key: str
    status: int
    change: StateChange | None = None
    error: str | None = None


@dataclass(frozen=True)
class Revocation:
    """How many sessions or API keys were revoked."""

    revoked: int


@dataclass(frozen=True)
class Cancellation:
    """The pending withdrawals that were cancelled."""

    cancelled: list[str]


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawal of the account, with the hash that lets it be traced on chain."""

    id: str
    chain: str
    asset: str
    amount: str
    address: str
    tx_hash: str | None
    status: str
    created_at: datetime


@dataclass(frozen=True)
class DepositAddress:
    """The account a deposit address belongs to."""

    address: str
    chain: str
    account_id: str


class ExchangePort(Protocol):
    """The exchange's account-control API; every write carries an idempotency key."""

    def get_account(self, account_id: str) -> AccountSnapshot:
        """The account's state, contacts, factors and security events."""
        ...

    def freeze(self, account_id: str, *, scope: str, reason: str, reference: str,
               idempotency_key: str) -> StateChange:
        """Freeze the account (scope `full` or `withdrawals`)."""
        ...

    def freeze_batch(self, items: list[FreezeItem]) -> list[FreezeItemResult]:
        """Freeze several accounts in one call; one result per item, in order, each item idempotent on its key.
        At most MAX_FREEZE_BATCH items (the dispatcher chunks larger waves)."""
        ...

    def unfreeze(self, account_id: str, *, reason: str, reference: str, withdrawal_cooldown_hours: int,
                 idempotency_key: str) -> StateChange:
        """Lift the freeze; withdrawals stay held for the cool-down."""
        ...

    def revoke_sessions(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """Sign every session of the account out."""
        ...

    def revoke_api_keys(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """Revoke every API key of the account."""
        ...

    def cancel_pending_withdrawals(self, account_id: str, *, idempotency_key: str) -> Cancellation:
        """Cancel the withdrawals not yet broadcast."""
        ...

    def list_withdrawals(self, account_id: str, *, since: datetime) -> list[Withdrawal]:
        """The account's withdrawals created at or after `since`, oldest first."""
        ...

    def find_deposit_address(self, address: str) -> DepositAddress | None:
        """The account owning a deposit address, None when the exchange gave nobody that address."""
        ...
