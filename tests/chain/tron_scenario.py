"""A USDT theft on TRON: split across mules into an exchange wallet, a sanctioned address, a bridge."""
from __future__ import annotations

from dataclasses import dataclass, field

import base58

from tests.chain.tron_peer import TronLedger

USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
BINANCE = "TAzsQ9Gx8eqFNFSKbeXrbi45CuVPHzA8wr"  # Binance wallet on DefiLlama's proof-of-reserves list
SANCTIONED = "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"  # OFAC SDN (TRX)
ALLBRIDGE = "TAC21biCBL9agjuUyzd4gZr356zRgJq61b"  # Allbridge Core: USDT pool
USDT_UNIT = 10**6
TRX = 10**6


def address(seed: int) -> str:
    """A well-formed TRON address of nobody in particular."""
    return base58.b58encode_check(bytes([0x41]) + seed.to_bytes(20, "big")).decode()


HOT, THIEF = address(0x40), address(0x7E1F)
MULE_A, MULE_B, MULE_C = address(0xA1), address(0xB2), address(0xC3)
DUST, SWEEPER, ROUTER, FRIEND = address(0xD0), address(0x5E), address(0xB41D), address(0xF1)


@dataclass
class TronTheft:
    """The ledger and the transaction ids of the theft."""

    ledger: TronLedger
    root: str = ""
    hashes: dict[str, str] = field(default_factory=dict)


def lay_out_tron_theft() -> TronTheft:
    """10,000 USDT leave the exchange's hot wallet for the thief and are split three hops deep."""
    ledger = TronLedger(tokens={USDT: ("USDT", 6)}, minted={(HOT, USDT): 1_000_000 * USDT_UNIT})
    theft = TronTheft(ledger)
    put = theft.hashes
    put["fuel"] = ledger.add(FRIEND, THIEF, 100 * TRX)
    theft.root = ledger.add(HOT, THIEF, 10_000 * USDT_UNIT, token=USDT)
    put["thief->a"] = ledger.add(THIEF, MULE_A, 6_000 * USDT_UNIT, token=USDT)
    put["thief->b"] = ledger.add(THIEF, MULE_B, 3_999 * USDT_UNIT, token=USDT)
    put["thief->dust"] = ledger.add(THIEF, DUST, USDT_UNIT // 2, token=USDT)
    put["thief->a trx"] = ledger.add(THIEF, MULE_A, 20 * TRX)
    put["failed"] = ledger.add(MULE_A, FRIEND, 10 * USDT_UNIT, token=USDT, success=False)
    put["a->binance"] = ledger.add(MULE_A, BINANCE, 5_000 * USDT_UNIT, token=USDT)
    put["b->sanctioned"] = ledger.add(MULE_B, SANCTIONED, 1_000 * USDT_UNIT, token=USDT)
    put["b->bridge"] = ledger.add(MULE_B, ALLBRIDGE, 2_000 * USDT_UNIT, token=USDT, called=ROUTER)
    put["b->c"] = ledger.add(MULE_B, MULE_C, 999 * USDT_UNIT, token=USDT)
    put["c->friend trx"] = ledger.add(MULE_C, FRIEND, 5 * TRX)
    put["sweep c"] = ledger.add(SWEEPER, SWEEPER, 499 * USDT_UNIT, token=USDT, sender=MULE_C)
    return theft
