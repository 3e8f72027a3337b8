"""The `local` exchange adapter: the embedded back office, reached through its own sessions.

The exchange is conceptually a remote system, so each call runs in a session and transaction of
its own, never in the caller's: a freeze the back office committed stays committed whatever the
caller's transaction does next, as it would at a real exchange.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from exchange_sim import backoffice, backoffice_batch, deposits
from incidents.exchange import wire
from incidents.exchange.batch_wire import freeze_items_to_json, freeze_results_from_json
from incidents.exchange.port import (
    AccountNotFound,
    AccountSnapshot,
    Cancellation,
    DepositAddress,
    ExchangeUnavailable,
    FreezeItem,
    FreezeItemResult,
    Revocation,
    StateChange,
    Withdrawal,
)

T = TypeVar("T")


class LocalExchange:
    """ExchangePort over the embedded back office tables."""

    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions

    def get_account(self, account_id: str) -> AccountSnapshot:
        """The account's state, contacts, factors and security events."""
        return self._read(lambda s: wire.account_from_json(backoffice.describe_account(s, account_id=account_id)))

    def freeze(self, account_id: str, *, scope: str, reason: str, reference: str,
               idempotency_key: str) -> StateChange:
        """Freeze the account once per key."""
        body = {"scope": scope, "reason": reason, "reference": reference}
        return wire.state_change_from_json(self._write("freeze", account_id, idempotency_key, body))

    def freeze_batch(self, items: list[FreezeItem]) -> list[FreezeItemResult]:
        """Freeze several accounts in one back-office transaction, each once per key."""
        if not items:
            return []
        body = freeze_items_to_json(items)
        return freeze_results_from_json({"results": self._read(
            lambda s: backoffice_batch.freeze_batch(s, items=body["items"]))})

    def unfreeze(self, account_id: str, *, reason: str, reference: str, withdrawal_cooldown_hours: int,
                 idempotency_key: str) -> StateChange:
        """Lift the freeze once per key."""
        body = {"reason": reason, "reference": reference, "withdrawal_cooldown_hours": withdrawal_cooldown_hours}
        return wire.state_change_from_json(self._write("unfreeze", account_id, idempotency_key, body))

    def revoke_sessions(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """Sign every session out."""
        return wire.revocation_from_json(self._write("revoke_sessions", account_id, idempotency_key, {}))

    def revoke_api_keys(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """Revoke every API key."""
        return wire.revocation_from_json(self._write("revoke_api_keys", account_id, idempotency_key, {}))

    def cancel_pending_withdrawals(self, account_id: str, *, idempotency_key: str) -> Cancellation:
        """Cancel the withdrawals not yet broadcast."""
        answer = self._write("cancel_pending_withdrawals", account_id, idempotency_key, {})
        return wire.cancellation_from_json(answer)

    def list_withdrawals(self, account_id: str, *, since: datetime) -> list[Withdrawal]:
        """The account's withdrawals since a time."""
        return self._read(lambda s: wire.withdrawals_from_json(
            backoffice.list_withdrawals(s, account_id=account_id, since=since)))

    def find_deposit_address(self, address: str) -> DepositAddress | None:
        """The account owning a deposit address, None when there is none."""
        def look_up(session: Session) -> DepositAddress | None:
            try:
                return wire.deposit_address_from_json(deposits.describe_deposit_address(session, address=address))
            except AccountNotFound:
                return None
        return self._read(look_up)

    def _write(self, operation: str, account_id: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """One keyed write in a transaction of its own."""
        return self._read(lambda s: backoffice.perform(s, operation=operation, account_id=account_id,
                                                       idempotency_key=key, body=body))

    def _read(self, call: Callable[[Session], T]) -> T:
        """Run a call in a fresh session; a locked or unreachable database reads as an unavailable exchange."""
        try:
            with self._sessions() as session:
                return call(session)
        except OperationalError as error:
            raise ExchangeUnavailable(f"back office database: {error.orig}") from error
