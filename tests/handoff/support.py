"""Helpers of the hand-off tests: a signing key, a finished trace reaching an exchange, bundles unpacked."""
from __future__ import annotations

import base64
import io
import uuid
import zipfile
from datetime import UTC, datetime

from chain.models import Trace

SIGNING_SEED = base64.b64encode(bytes(range(32))).decode()
DEPOSIT = "0x" + "d1" * 20


def address(hop: int, index: int) -> str:
    """A made-up address of a hop."""
    return "0x" + f"{hop:02x}{index:02x}" * 10


def finished_trace(app, incident_id: str, *, depth: int = 3, exchange: str = "Binance",
                   deposit: str = DEPOSIT, fan_out: int = 2) -> str:
    """A done trace of the case: `fan_out` addresses per hop down to `depth`, the last hop at `exchange`."""
    root, tx_hash = address(0, 0), "0x" + uuid.uuid4().hex * 2
    nodes = [{"address": root, "hop": 0, "labels": []}]
    edges, previous = [], [root]
    for hop in range(1, depth + 1):
        current = [deposit] if hop == depth else [address(hop, i) for i in range(fan_out)]
        for index, target in enumerate(current):
            labels = [{"category": "exchange", "label": f"{exchange} 14"}] if target == deposit else []
            nodes.append({"address": target, "hop": hop, "labels": labels})
            edges.append({"from": previous[index % len(previous)], "to": target, "tx_hash": "0x" + f"{hop}{index}" * 32,
                          "amount": "1.5", "asset": "ETH", "hop": hop, "block_number": 100 + hop})
        previous = current
    findings = [{"address": deposit, "hop": depth, "category": "exchange", "label": f"{exchange} 14",
                 "entity": exchange, "advice": "ask the exchange to freeze the deposit"}]
    transaction = {"hash": tx_hash, "status": "confirmed", "confirmations": 20, "block_number": 100,
                   "timestamp": "2026-11-21T03:12:00Z", "from": "0x" + "aa" * 20, "to": root, "value": "3",
                   "asset": "ETH", "fee": "0.001", "token_transfers": []}
    trace_id = uuid.uuid4()
    with app.extensions["lockdesk"].sessions() as session:
        session.add(Trace(id=trace_id, incident_id=uuid.UUID(incident_id), chain="ethereum", tx_hash=tx_hash,
                          depth=depth, status="done", transaction=transaction,
                          graph={"nodes": nodes, "edges": edges}, findings=findings, requested_by="test",
                          finished_at=datetime.now(UTC)))
        session.commit()
    return str(trace_id)


def members(data: bytes) -> dict[str, bytes]:
    """Every file of a zip by its path."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    """A zip of these files, in this order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
