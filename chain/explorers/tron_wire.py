"""Small readers of TRON API answers: success flags and constant-call results."""
from __future__ import annotations

from typing import Any

from chain.explorers.evm_wire import _decode_decimals, _decode_symbol


def successful(tx: dict[str, Any], info: dict[str, Any]) -> bool:
    """A transaction that did what it asked: the contract result, and the VM receipt when run."""
    ret = (tx.get("ret") or [{}])[0].get("contractRet", "SUCCESS")
    receipt = (info.get("receipt") or {}).get("result", "SUCCESS")
    return ret == "SUCCESS" and receipt == "SUCCESS" and info.get("result") != "FAILED"


def constant_result(answer: Any) -> str | None:
    """The hex result of /wallet/triggerconstantcontract, None when the call was refused."""
    if not isinstance(answer, dict) or not (answer.get("result") or {}).get("result"):
        return None
    results = answer.get("constant_result") or []
    return str(results[0]) if results else None


def abi_symbol(result: str | None) -> str | None:
    """A symbol() result (ABI string or bytes32)."""
    return None if result is None else _decode_symbol("0x" + result)


def abi_decimals(result: str | None) -> int | None:
    """A decimals() result, None when absent or absurd (more than 77)."""
    return None if result is None else _decode_decimals("0x" + result)
