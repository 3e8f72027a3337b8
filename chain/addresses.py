"""Address forms per chain: TRON base58check (0x41 prefix) and hex, canonical keys for lookups."""
from __future__ import annotations

import re

import base58

TRON_PREFIX = 0x41
TRON_BASE58 = re.compile(r"T[1-9A-HJ-NP-Za-km-z]{33}")
EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class AddressError(ValueError):
    """Text that is not an address of the chain it was given for."""


def tron_from_hex(text: str) -> str:
    """Base58check form of a TRON address given as 21 bytes hex (41…) or 20 bytes (0x…/bare)."""
    raw = text.lower().removeprefix("0x")
    if len(raw) == 40:
        raw = f"{TRON_PREFIX:02x}" + raw
    if len(raw) != 42 or not raw.startswith("41") or not re.fullmatch(r"[0-9a-f]{42}", raw):
        raise AddressError(f"{text!r} is not a TRON address in hex")
    return base58.b58encode_check(bytes.fromhex(raw)).decode()


def tron_to_hex(address: str) -> str:
    """The 21-byte hex form (41…) of a base58check TRON address, or AddressError."""
    if not TRON_BASE58.fullmatch(address or ""):
        raise AddressError("a TRON address is T followed by 33 base58 characters")
    try:
        raw = base58.b58decode_check(address)
    except ValueError as error:
        raise AddressError("the TRON address fails its base58 checksum") from error
    if len(raw) != 21 or raw[0] != TRON_PREFIX:
        raise AddressError("the TRON address does not carry the 0x41 prefix")
    return raw.hex()


def is_tron_address(text: str) -> bool:
    """Tell whether text is a well-formed base58check TRON address."""
    try:
        tron_to_hex(text)
    except AddressError:
        return False
    return True


def validate_address(chain: str, address: str) -> str:
    """The address in canonical form for its chain, or AddressError naming what is wrong."""
    text = (address or "").strip()
    if chain == "tron":
        tron_to_hex(text)
        return text
    if chain.startswith("bitcoin"):
        if not re.fullmatch(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}|(bc1|tb1)[0-9a-zA-Z]{8,87}", text):
            raise AddressError("not a bitcoin address")
        return canonical_address(text)
    if not EVM_ADDRESS.fullmatch(text):
        raise AddressError("an EVM address is 0x followed by 40 hexadecimal characters")
    return text.lower()


def canonical_address(address: str) -> str:
    """The key an address is compared by: hex and bech32 case-folded, base58 kept as is.

    Base58 (TRON, legacy bitcoin) is case-sensitive; folding it would merge distinct addresses
    and show addresses nobody can paste into an explorer.
    """
    text = address.strip()
    if text[:2].lower() == "0x" or text[:4].lower() in ("bc1q", "bc1p", "tb1q", "tb1p"):
        return text.lower()
    return text
