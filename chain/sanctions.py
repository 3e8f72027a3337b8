"""Sanctioned digital-currency addresses (OFAC SDN), shipped per asset in chain/data/sanctions."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FOLDER = Path(__file__).parent / "data" / "sanctions"


@lru_cache(maxsize=1)
def sanctioned_addresses() -> tuple[tuple[str, str], ...]:
    """Every (address, asset) pair on the shipped OFAC lists (XBT means bitcoin)."""
    pairs = []
    for path in sorted(FOLDER.glob("ofac_*.txt")):
        asset = path.stem.removeprefix("ofac_")
        pairs += [(line.strip(), asset) for line in path.read_text(encoding="utf-8").splitlines()
                  if line.strip() and not line.startswith("#")]
    return tuple(pairs)


def is_sanctioned(address: str) -> bool:
    """Tell whether an address is on any shipped OFAC list (case-insensitive)."""
    return address.lower() in _lowered()


@lru_cache(maxsize=1)
def _lowered() -> frozenset[str]:
    """The shipped addresses lowercased, for membership tests."""
    return frozenset(address.lower() for address, _ in sanctioned_addresses())
