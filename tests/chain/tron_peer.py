"""A TronGrid stand-in over real HTTP: the endpoints the TRON adapter uses, answering TronGrid's shapes.

Shapes follow TronGrid's documentation and real answers: wallet API bodies with 41-prefixed hex
addresses (visible=false), receipts with fee/receipt/log (log addresses 20 bytes hex, topics without
0x), v1 listings with data/success/meta and a fingerprint while more pages follow, TRC-20 items with
token_info and base58 from/to. A laid-out theft is played into its ledger.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from chain.addresses import tron_to_hex
from tests.chain.http_peer import QuietServer, send, start, stop

TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
BASE_BLOCK, BASE_TIME = 66_000_000, 1_730_000_000_000  # ms


@dataclass
class Movement:
    """One transaction of the ledger: TRX (token None) or a TRC-20 transfer."""

    txid: str
    block: int
    signer: str
    sender: str
    to: str
    raw: int
    token: str | None = None
    called: str | None = None  # the contract the signer called (token or e.g. a bridge router)
    success: bool = True


@dataclass
class TronLedger:
    """Blocks, transactions, tokens and balances the peer answers from."""

    tokens: dict[str, tuple[str, int]] = field(default_factory=dict)
    moves: list[Movement] = field(default_factory=list)
    minted: dict[tuple[str, str], int] = field(default_factory=dict)
    solid_gap: int = 20  # the solidified head lies this far behind the newest transaction

    @property
    def last_block(self) -> int:
        return max((m.block for m in self.moves), default=BASE_BLOCK)

    @property
    def solid_head(self) -> int:
        return self.last_block + self.solid_gap

    @staticmethod
    def time_of(block: int) -> int:
        return BASE_TIME + (block - BASE_BLOCK) * 3000

    def add(self, signer: str, to: str, raw: int, *, token: str | None = None,
            sender: str | None = None, called: str | None = None, success: bool = True) -> str:
        """Play one transaction in the next block; its id."""
        block = self.last_block + 1
        txid = hashlib.sha256(f"{len(self.moves)}:{signer}:{to}:{raw}".encode()).hexdigest()
        self.moves.append(Movement(txid, block, signer, sender or signer, to, raw, token,
                                   called or token, success))
        return txid

    def balance(self, holder: str, token: str) -> int:
        got = sum(m.raw for m in self.moves if m.token == token and m.to == holder and m.success)
        sent = sum(m.raw for m in self.moves if m.token == token and m.sender == holder and m.success)
        return self.minted.get((holder, token), 0) + got - sent


def _hex(address: str) -> str:
    return tron_to_hex(address)


def transaction_json(move: Movement) -> dict:
    """/wallet/gettransactionbyid's shape (visible=false)."""
    stamp = TronLedger.time_of(move.block) - 2000
    if move.called is None:
        contract = {"parameter": {"value": {"amount": move.raw, "owner_address": _hex(move.signer),
                                            "to_address": _hex(move.to)},
                                  "type_url": "type.googleapis.com/protocol.TransferContract"},
                    "type": "TransferContract"}
    else:
        data = "a9059cbb" + _hex(move.to)[2:].rjust(64, "0") + format(move.raw, "064x")
        if move.sender != move.signer:
            data = "23b872dd" + _hex(move.sender)[2:].rjust(64, "0") + data[8:]
        contract = {"parameter": {"value": {"data": data, "owner_address": _hex(move.signer),
                                            "contract_address": _hex(move.called)},
                                  "type_url": "type.googleapis.com/protocol.TriggerSmartContract"},
                    "type": "TriggerSmartContract"}
    return {"ret": [{"contractRet": "SUCCESS" if move.success or move.called else "REVERT"}],
            "signature": ["5f" * 65], "txID": move.txid,
            "raw_data": {"contract": [contract], "ref_block_bytes": format(move.block % 65536, "04x"),
                         "ref_block_hash": move.txid[:16], "expiration": stamp + 60_000,
                         "fee_limit": 100_000_000 if move.called else None, "timestamp": stamp},
            "raw_data_hex": "0a02" + move.txid[:40]}


def info_json(move: Movement) -> dict:
    """/wallet/gettransactioninfobyid's shape: fee, block, receipt, Transfer log."""
    info = {"id": move.txid, "blockNumber": move.block, "blockTimeStamp": TronLedger.time_of(move.block)}
    if move.called is None:
        info.update({"fee": 1_100_000, "receipt": {"net_fee": 1_100_000}})
        return info
    info.update({"fee": 13_844_850, "contractResult": ["0" * 63 + "1" if move.success else ""],
                 "contract_address": _hex(move.called),
                 "receipt": {"energy_fee": 13_499_850, "energy_usage_total": 64_285,
                             "net_fee": 345_000,
                             "result": "SUCCESS" if move.success else "REVERT"}})
    if move.success:
        info["log"] = [{"address": _hex(move.token)[2:],
                        "topics": [TRANSFER_TOPIC, _hex(move.sender)[2:].rjust(64, "0"),
                                   _hex(move.to)[2:].rjust(64, "0")],
                        "data": format(move.raw, "064x")}]
    else:
        info["result"], info["resMessage"] = "FAILED", "5245564552542f6f70636f6465"
    return info


def block_json(number: int) -> dict:
    """/walletsolidity/getnowblock and /wallet/getblockbynum's header."""
    return {"blockID": format(number, "016x") + "ab" * 24,
            "block_header": {"raw_data": {"number": number, "timestamp": TronLedger.time_of(number),
                                          "txTrieRoot": "00" * 32, "parentHash": "cd" * 32,
                                          "witness_address": "41" + "ef" * 20, "version": 30},
                             "witness_signature": "12" * 65}}


class TronPeer:
    """The HTTP server; `faults` maps a path to answers (status, body) served before the real one."""

    def __init__(self, ledger: TronLedger, *, page_size_cap: int = 200):
        self.ledger, self.page_size_cap = ledger, page_size_cap
        self.requests: list[tuple[str, str, dict, dict]] = []  # method, path, query/body, headers
        self.faults: dict[str, list[tuple[int, bytes | float]]] = {}
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                self._answer("GET", url.path, {k: v[0] for k, v in parse_qs(url.query).items()})

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                self._answer("POST", urlparse(self.path).path, body)

            def _answer(self, method, path, arguments):
                peer.requests.append((method, path, arguments, dict(self.headers)))
                status, body = peer.route(method, path, arguments)
                send(self, status, body, {"Content-Type": "application/json; charset=utf-8"})

            def log_message(self, *args):
                return None

        self.server = start(QuietServer(("127.0.0.1", 0), Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        stop(self.server)

    def route(self, method: str, path: str, arguments: dict) -> tuple[int, bytes]:
        """A queued fault for the path first, then what TronGrid would answer."""
        queued = self.faults.get(path)
        if queued:
            status, body = queued.pop(0)
            if isinstance(body, float):
                time.sleep(body)
                return 200, b"{}"
            return status, body
        handler = {("POST", "/wallet/gettransactionbyid"): self._transaction,
                   ("POST", "/wallet/gettransactioninfobyid"): self._info,
                   ("POST", "/walletsolidity/getnowblock"): lambda a: block_json(self.ledger.solid_head),
                   ("POST", "/wallet/getblockbynum"): lambda a: block_json(int(a["num"])),
                   ("POST", "/wallet/triggerconstantcontract"): self._constant}.get((method, path))
        if handler is None and method == "GET" and path.startswith("/v1/accounts/"):
            handler = self._listing(path)
        if handler is None:
            return 404, b'{"Error": "Not Found"}'
        return 200, json.dumps(handler(arguments)).encode()

    def _move(self, txid: str) -> Movement | None:
        return next((m for m in self.ledger.moves if m.txid == txid), None)

    def _transaction(self, body: dict) -> dict:
        move = self._move(body.get("value", ""))
        return transaction_json(move) if move else {}

    def _info(self, body: dict) -> dict:
        move = self._move(body.get("value", ""))
        return info_json(move) if move and move.block <= self.ledger.last_block else {}

    def _constant(self, body: dict) -> dict:
        token, selector = body["contract_address"], body["function_selector"]
        known = self.ledger.tokens.get(token)
        envelope = {"transaction": {"ret": [{}], "visible": True, "txID": "77" * 32,
                                    "raw_data": {"contract": [], "timestamp": BASE_TIME}}}
        if known is None:
            return {"result": {"code": "CONTRACT_VALIDATE_ERROR",
                               "message": "536d61727420636f6e7472616374206973206e6f7420657869737421"}}
        symbol, decimals = known
        if selector == "decimals()":
            result = format(decimals, "064x")
        elif selector == "symbol()":
            text = symbol.encode().hex()
            result = format(32, "064x") + format(len(symbol), "064x") + text.ljust(64, "0")
        elif selector == "balanceOf(address)":
            holder = "41" + body["parameter"][-40:]
            owner = next((a for a in self._addresses() if _hex(a) == holder), None)
            result = format(self.ledger.balance(owner, token) if owner else 0, "064x")
        else:
            return {"result": {"code": "OTHER_ERROR", "message": ""}, **envelope}
        return {"result": {"result": True}, "energy_used": 535, "constant_result": [result],
                **envelope}

    def _addresses(self) -> set[str]:
        return {a for m in self.ledger.moves for a in (m.sender, m.to, m.signer)}

    def _listing(self, path: str):
        parts = path.strip("/").split("/")  # v1 accounts ADDRESS transactions [trc20]
        address, trc20 = parts[2], parts[-1] == "trc20"

        def answer(query: dict) -> dict:
            items = self._items(address, trc20, query)
            start = int(query.get("fingerprint") or 0)
            size = min(int(query.get("limit") or 20), self.page_size_cap)
            page = items[start:start + size]
            meta = {"at": BASE_TIME + 10**9, "page_size": len(page)}
            if start + size < len(items):
                meta["fingerprint"] = str(start + size)
                meta["links"] = {"next": f"{self.url}{path}?fingerprint={start + size}"}
            return {"data": page, "success": True, "meta": meta}
        return answer

    def _items(self, address: str, trc20: bool, query: dict) -> list[dict]:
        since = int(query.get("min_timestamp") or 0)
        moves = [m for m in self.ledger.moves if TronLedger.time_of(m.block) >= since
                 and m.block <= self.ledger.solid_head]
        if trc20:
            return [{"transaction_id": m.txid, "token_info": {
                        "symbol": self.ledger.tokens[m.token][0], "address": m.token,
                        "decimals": self.ledger.tokens[m.token][1], "name": self.ledger.tokens[m.token][0]},
                     "block_timestamp": TronLedger.time_of(m.block), "from": m.sender, "to": m.to,
                     "type": "Transfer", "value": str(m.raw)}
                    for m in moves if m.token and m.success and m.sender == address]
        items = []
        for m in moves:
            if m.signer != address:
                continue
            item = transaction_json(m)
            info = info_json(m)
            item.update({"blockNumber": m.block, "block_timestamp": TronLedger.time_of(m.block),
                         "energy_fee": info["receipt"].get("energy_fee", 0), "energy_usage": 0,
                         "energy_usage_total": info["receipt"].get("energy_usage_total", 0),
                         "internal_transactions": [], "net_fee": info["receipt"].get("net_fee", 0),
                         "net_usage": 0})
            item["ret"][0]["fee"] = info["fee"]
            items.append(item)
        return items
