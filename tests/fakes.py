"""In-memory fakes of every port (exchange, SMS, mail, explorer, file storage), for fast unit tests of the rules.

They are never the only test of an adapter: the real adapters run against real peers in the integration tests.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from incidents.exchange.port import (
    AccountNotFound,
    AccountSnapshot,
    Cancellation,
    DepositAddress,
    ExchangeUnavailable,
    Factors,
    Revocation,
    SmsFactor,
    StateChange,
    TotpFactor,
    Withdrawal,
)
from incidents.mail import EmailMessage, MailReceipt
from verification.sms import SmsReceipt


@dataclass
class FakeExchange:
    """The exchange port over a dict of accounts; `unavailable` makes the next calls fail as retryable."""

    states: dict[str, str] = field(default_factory=lambda: {"U1001": "active"})
    withdrawals: dict[str, list[Withdrawal]] = field(default_factory=dict)
    unavailable: int = 0
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    done: dict[str, StateChange] = field(default_factory=dict)

    def _call(self, operation: str, account_id: str, key: str | None = None) -> None:
        """Log a call, then fail it if a failure is owed or the account is unknown."""
        self.calls.append((operation, account_id, key))
        if self.unavailable > 0:
            self.unavailable -= 1
            raise ExchangeUnavailable("the fake exchange is down", retry_after=1.0)
        if account_id not in self.states:
            raise AccountNotFound(f"no account {account_id}")

    def _change(self, account_id: str, state: str, key: str) -> StateChange:
        """Move an account once per idempotency key."""
        if key not in self.done:
            self.states[account_id] = state
            self.done[key] = StateChange(account_id=account_id, state=state, changed_at=datetime.now(UTC))
        return self.done[key]

    def get_account(self, account_id: str) -> AccountSnapshot:
        """The account as the exchange describes it."""
        self._call("get_account", account_id)
        return AccountSnapshot(account_id=account_id, state=self.states[account_id], email="owner@example.com",
                               phone="+15550001", anti_phishing_code="BLUE-HERON",
                               factors=Factors(totp=TotpFactor(secret=None, bound_at=None), sms=SmsFactor(None)))

    def freeze(self, account_id: str, *, scope: str, reason: str, reference: str,
               idempotency_key: str) -> StateChange:
        """Freeze the account (once per key)."""
        self._call("freeze", account_id, idempotency_key)
        return self._change(account_id, "frozen", idempotency_key)

    def unfreeze(self, account_id: str, *, reason: str, reference: str, withdrawal_cooldown_hours: int,
                 idempotency_key: str) -> StateChange:
        """Lift the freeze (once per key)."""
        self._call("unfreeze", account_id, idempotency_key)
        return self._change(account_id, "active", idempotency_key)

    def revoke_sessions(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """Revoke the account's sessions."""
        self._call("revoke_sessions", account_id, idempotency_key)
        return Revocation(revoked=1)

    def revoke_api_keys(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """Revoke the account's API keys."""
        self._call("revoke_api_keys", account_id, idempotency_key)
        return Revocation(revoked=0)

    def cancel_pending_withdrawals(self, account_id: str, *, idempotency_key: str) -> Cancellation:
        """Cancel the account's pending withdrawals."""
        self._call("cancel_pending_withdrawals", account_id, idempotency_key)
        return Cancellation(cancelled=[])

    def list_withdrawals(self, account_id: str, *, since: datetime) -> list[Withdrawal]:
        """The account's withdrawals since a time."""
        self._call("list_withdrawals", account_id)
        return [item for item in self.withdrawals.get(account_id, []) if item.created_at >= since]

    def find_deposit_address(self, address: str) -> DepositAddress | None:
        """No deposit addresses are known to the fake."""
        return None


@dataclass
class FakeSms:
    """The SMS port: remembers every text."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, *, to: str, body: str) -> SmsReceipt:
        """Keep the text."""
        self.sent.append((to, body))
        return SmsReceipt(gateway="fake", message_id=str(len(self.sent)))


@dataclass
class FakeMailer:
    """The mail port: remembers every message."""

    sent: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage) -> MailReceipt:
        """Keep the message."""
        self.sent.append(message)
        return MailReceipt(transport="fake", message_id=str(len(self.sent)))


@dataclass
class FakeExplorer:
    """The explorer port for one chain over a dict of transactions."""

    chain: str = "ethereum"
    native_asset: str = "ETH"
    finality_depth: int = 12
    head: int = 1000
    transactions: dict = field(default_factory=dict)
    round_trips: int = 0

    def get_transaction(self, tx_hash: str):
        """A known transaction, or KeyError."""
        self.round_trips += 1
        return self.transactions[tx_hash]

    def latest_block(self) -> int:
        """The head block."""
        self.round_trips += 1
        return self.head

    def outgoing_transfers(self, addresses: Sequence[str], *, after_block: int, through_block: int):
        """No transfers in the fake's blocks."""
        from chain.explorers.port import History

        self.round_trips += 1
        return History(transfers={address: [] for address in addresses}, through_block=through_block)


@dataclass
class FakeBlobStore:
    """The file-storage port in memory."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, data: bytes) -> None:
        """Store bytes under a key."""
        self.blobs[key] = data

    def get(self, key: str) -> bytes:
        """The bytes under a key, or KeyError."""
        return self.blobs[key]

    def delete(self, key: str) -> None:
        """Forget a key."""
        self.blobs.pop(key, None)

    def exists(self, key: str) -> bool:
        """Whether a key is stored."""
        return key in self.blobs
