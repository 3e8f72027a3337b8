"""Deposit addresses at the embedded exchange: which account a deposit address belongs to."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict
from exchange_sim.models import BackofficeAccount, BackofficeDepositAddress
from incidents.exchange.port import AccountNotFound


def address_key(address: str) -> str:
    """How an address is looked up: EVM hex addresses in lower case (their checksum case is not part of them)."""
    return address.lower() if address.lower().startswith("0x") else address


def add_deposit_address(session: Session, *, address: str, chain: str, account_id: str,
                        now: datetime | None = None) -> BackofficeDepositAddress:
    """Give an account a deposit address; 404 for an unknown account, 409 for an address already given."""
    if session.get(BackofficeAccount, account_id) is None:
        raise AccountNotFound(f"no account {account_id}")
    if session.get(BackofficeDepositAddress, address_key(address)) is not None:
        raise Conflict(f"the address {address} already belongs to an account")
    row = BackofficeDepositAddress(address=address_key(address), chain=chain, account_id=account_id,
                                   created_at=now or utcnow())
    session.add(row)
    session.commit()
    return row


def describe_deposit_address(session: Session, *, address: str) -> dict[str, Any]:
    """GET /v1/deposit-addresses/{address}: its chain and account, or AccountNotFound (404)."""
    row = session.get(BackofficeDepositAddress, address_key(address))
    if row is None:
        raise AccountNotFound(f"no account has the deposit address {address}")
    return {"address": row.address, "chain": row.chain, "account_id": row.account_id}
