"""Stablecoins whose issuers can freeze them at an address: which contracts, which issuer."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chain.addresses import AddressError, canonical_address, validate_address

ISSUERS = {"tether": "Tether", "circle": "Circle"}


@dataclass(frozen=True)
class Stablecoin:
    """A token contract on one chain, its symbol and the issuer that can freeze it."""

    symbol: str
    issuer: str  # "tether" | "circle"

    @property
    def issuer_name(self) -> str:
        """The issuer as people name it."""
        return ISSUERS[self.issuer]


# The issuers' own contracts (not bridged copies: a bridge's wrapped USDT is frozen by nobody at Tether).
# BNB Smart Chain has neither: its "USDT" and "USDC" are Binance-Peg tokens that Binance issues.
SHIPPED: dict[str, dict[str, Stablecoin]] = {
    "ethereum": {"0xdac17f958d2ee523a2206206994597c13d831ec7": Stablecoin("USDT", "tether"),
                 "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48": Stablecoin("USDC", "circle")},
    "tron": {"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t": Stablecoin("USDT", "tether"),
             "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8": Stablecoin("USDC", "circle")},
    "avalanche": {"0x9702230a8ea53601f5cd2dc00fdbc13d4df4a8c7": Stablecoin("USDT", "tether"),
                  "0xb97ef9ef8734c71904d8002f8b6bc66dd9c48a6e": Stablecoin("USDC", "circle")},
    "arbitrum": {"0xaf88d065e77c8cc2239327c5edb3a432268e5831": Stablecoin("USDC", "circle")},
    "polygon": {"0x3c499c542cef5e3811e1192ce70d8cc03d5c3359": Stablecoin("USDC", "circle")},
}


def stablecoins(extra: Any = None) -> dict[str, dict[str, Stablecoin]]:
    """The shipped contracts plus STABLECOIN_CONTRACTS ({chain: {contract: {"symbol", "issuer"}}})."""
    table = {chain: dict(coins) for chain, coins in SHIPPED.items()}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except ValueError as error:
            raise ValueError("STABLECOIN_CONTRACTS must be a JSON object") from error
    if not isinstance(extra or {}, Mapping):
        raise ValueError("STABLECOIN_CONTRACTS must be a JSON object")
    for chain, coins in (extra or {}).items():
        for contract, coin in dict(coins).items():
            if coin.get("issuer") not in ISSUERS or not coin.get("symbol"):
                raise ValueError(f"STABLECOIN_CONTRACTS: {contract} needs a symbol and an issuer "
                                 f"({', '.join(ISSUERS)})")
            try:
                key = validate_address(chain, contract)
            except AddressError as error:
                raise ValueError(f"STABLECOIN_CONTRACTS: {contract}: {error}") from error
            table.setdefault(chain, {})[canonical_address(key)] = Stablecoin(coin["symbol"],
                                                                              coin["issuer"])
    return table
