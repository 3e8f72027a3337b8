"""The explorer port: what the tracer needs from a chain, and the shapes it comes back in."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from kernel.errors import DomainError

TxStatus = Literal["pending", "confirmed", "failed"]


def amount_text(amount: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros ("0", "5.9")."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class ExplorerError(DomainError):
    """A chain data source failed in a way the caller can act on."""

    status, slug, title = 502, "explorer-error", "Chain explorer error"


class ExplorerUnavailable(ExplorerError):
    """The node or explorer API did not answer in time, or answered with a server error."""

    status, slug, title = 503, "explorer-unavailable", "Chain explorer unavailable"


class TransactionNotFound(ExplorerError):
    """The chain does not know this transaction hash (yet, or at all)."""

    status, slug, title = 404, "transaction-not-found", "Transaction not found"


@dataclass(frozen=True)
class TokenTransfer:
    """One token movement inside a transaction (an ERC-20 Transfer log)."""

    token: str
    symbol: str | None
    from_address: str
    to_address: str
    amount: Decimal
    raw: int

    def to_json(self) -> dict[str, Any]:
        """Render as the API shape (amounts as decimal strings)."""
        return {"token": self.token, "symbol": self.symbol, "from": self.from_address,
                "to": self.to_address, "amount": amount_text(self.amount), "raw": str(self.raw)}


@dataclass(frozen=True)
class Transaction:
    """A transaction as the tracer sees it; value and fee in the chain's native units."""

    hash: str
    status: TxStatus
    confirmations: int
    block_number: int | None
    timestamp: datetime | None
    from_address: str | None
    to_address: str | None
    value: Decimal
    asset: str
    fee: Decimal | None
    token_transfers: tuple[TokenTransfer, ...] = ()
    outputs: tuple[tuple[str, Decimal], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Render as the API shape."""
        return {
            "hash": self.hash, "status": self.status, "confirmations": self.confirmations,
            "block_number": self.block_number,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "from": self.from_address, "to": self.to_address, "value": amount_text(self.value),
            "asset": self.asset, "fee": None if self.fee is None else amount_text(self.fee),
            "token_transfers": [t.to_json() for t in self.token_transfers],
            "outputs": [[address, amount_text(amount)] for address, amount in self.outputs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transaction:
        """Rebuild from `to_json` output (the chain cache stores that)."""
        return cls(
            hash=data["hash"], status=data["status"], confirmations=data["confirmations"],
            block_number=data["block_number"],
            timestamp=datetime.fromisoformat(data["timestamp"]) if data["timestamp"] else None,
            from_address=data["from"], to_address=data["to"], value=Decimal(data["value"]),
            asset=data["asset"], fee=None if data["fee"] is None else Decimal(data["fee"]),
            token_transfers=tuple(
                TokenTransfer(t["token"], t["symbol"], t["from"], t["to"], Decimal(t["amount"]),
                              int(t["raw"]))
                for t in data["token_transfers"]),
            outputs=tuple((address, Decimal(amount)) for address, amount in data.get("outputs", [])),
        )


@dataclass(frozen=True)
class Transfer:
    """One edge of the money flow: `amount` of `asset` moved from one address to another."""

    tx_hash: str
    from_address: str
    to_address: str
    amount: Decimal
    asset: str
    block_number: int
    timestamp: datetime | None = None
    log_index: int = -1
    token: str | None = None  # the token contract; None for the native asset

    def to_json(self) -> dict[str, Any]:
        """Render for the cache and the API."""
        data = asdict(self)
        data["amount"] = str(self.amount)
        data["timestamp"] = self.timestamp.isoformat() if self.timestamp else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transfer:
        """Rebuild from `to_json` output."""
        stamp = data.get("timestamp")
        return cls(data["tx_hash"], data["from_address"], data["to_address"],
                   Decimal(data["amount"]), data["asset"], data["block_number"],
                   datetime.fromisoformat(stamp) if stamp else None, data.get("log_index", -1),
                   data.get("token"))


@dataclass
class History:
    """Outgoing transfers of some addresses, complete up to and including `through_block`."""

    through_block: int
    transfers: dict[str, list[Transfer]] = field(default_factory=dict)
    # Addresses whose listing hit the explorer's page bound: what they hold is not complete.
    partial: set[str] = field(default_factory=set)


class Explorer(Protocol):
    """A source of chain data for one chain; every call counts its network round trips."""

    chain: str
    native_asset: str
    round_trips: int
    finality_depth: int  # blocks behind the head after which data is treated as immutable

    def get_transaction(self, tx_hash: str) -> Transaction:
        """Fetch one transaction with its status, confirmations and token transfers."""

    def latest_block(self) -> int:
        """Return the current head block number."""

    def outgoing_transfers(self, addresses: Sequence[str], *, after_block: int,
                           through_block: int) -> History:
        """Return every address's outgoing transfers in blocks (after_block, through_block]."""
