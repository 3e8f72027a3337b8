"""EVM JSON-RPC wire helpers: quantities, topics, ERC-20 logs and token metadata answers."""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from chain.explorers.jsonrpc import RpcFailure
from chain.explorers.port import ExplorerError, Transfer

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
SYMBOL_CALL = "0x95d89b41"
DECIMALS_CALL = "0x313ce567"


def as_int(value: Any) -> int:
    """An integer from a JSON-RPC quantity (hex string) or an already formatted int."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(value, 16) if str(value).startswith("0x") else int(value)


def as_hex(value: Any) -> str:
    """A lowercase 0x-hex string from bytes or a hex string."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def topic_address(topic: Any) -> str:
    """The address held in the low 20 bytes of a 32-byte log topic."""
    return "0x" + as_hex(topic)[-40:]


def units(raw: int, decimals: int) -> Decimal:
    """Exact conversion of base units to asset units (no float, no context rounding)."""
    return Decimal(raw).scaleb(-decimals)


def _padded(address: str) -> str:
    """An address as a 32-byte topic, for eth_getLogs filters."""
    return "0x" + "0" * 24 + address.lower()[2:]


def _ok(answer: Any, method: str) -> Any:
    """The result of one batch item, or an ExplorerError naming the method."""
    if isinstance(answer, RpcFailure):
        raise ExplorerError(f"{method} failed: {answer.message}", code=answer.code)
    return answer


def _is_transfer(log: dict) -> bool:
    """Tell whether a log is an ERC-20 Transfer (three topics; ERC-721 has four)."""
    topics = log.get("topics") or []
    return len(topics) == 3 and as_hex(topics[0]) == TRANSFER_TOPIC


def _tokens_in(logs: list) -> set[str]:
    """Token contracts that emitted Transfer logs."""
    return {as_hex(log["address"]) for log in logs if _is_transfer(log)}


def _unique(transfers: Iterable[Transfer]) -> list[Transfer]:
    """Drop duplicates met through two sources (same tx, same log, same edge)."""
    seen: dict[tuple, Transfer] = {}
    for transfer in transfers:
        key = (transfer.tx_hash, transfer.log_index, transfer.from_address, transfer.to_address,
               transfer.asset)
        seen.setdefault(key, transfer)
    return sorted(seen.values(), key=lambda t: (t.block_number, t.tx_hash, t.log_index))


def _decode_symbol(answer: Any) -> str | None:
    """An ABI string or bytes32 symbol, or None when the call failed or returned nothing."""
    if isinstance(answer, RpcFailure) or not answer or as_hex(answer) == "0x":
        return None
    data = bytes.fromhex(as_hex(answer)[2:])
    try:
        if len(data) >= 96:
            length = int.from_bytes(data[32:64], "big")
            return data[64:64 + length].decode("utf-8") or None
        return data.rstrip(b"\0").decode("utf-8") or None
    except (UnicodeDecodeError, ValueError):
        return None


def _decode_decimals(answer: Any) -> int | None:
    """A uint8 decimals value, or None when the token does not say."""
    if isinstance(answer, RpcFailure) or not answer or as_hex(answer) == "0x":
        return None
    value = int(as_hex(answer), 16)
    return value if value <= 77 else None
