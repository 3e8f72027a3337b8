"""Address history from an Etherscan-compatible API (txlist, tokentx), for nodes without ots_/trace_."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chain.explorers.http import HttpClient
from chain.explorers.port import ExplorerError, ExplorerUnavailable, Transfer

PAGE_SIZE = 1000  # the API's maximum records per page
MAX_PAGES = 10  # page * offset may not pass 10,000 records
CALLS_PER_SECOND = 3  # the free tier's limit


class EtherscanClient:
    """txlist/tokentx with paging; errors that arrive as HTTP 200 + status "0" become ours."""

    def __init__(self, http: HttpClient, *, api_key: str | None = None,
                 chain_id: int | None = None):
        self.http = http
        self.api_key = api_key
        self.chain_id = chain_id

    @classmethod
    def for_url(cls, api_url: str, api_key: str | None = None, **options: Any) -> EtherscanClient:
        """A client spacing its calls to 3 per second."""
        return cls(HttpClient(api_url, min_interval=1 / CALLS_PER_SECOND), api_key=api_key,
                   **options)

    @property
    def round_trips(self) -> int:
        """HTTP requests made so far."""
        return self.http.round_trips

    def outgoing(self, addresses: Sequence[str], after_block: int, through_block: int,
                 native_asset: str) -> list[Transfer]:
        """Outgoing native and token transfers of each address in (after_block, through_block]."""
        found: list[Transfer] = []
        for address in addresses:
            found += [_native(row, native_asset) for row in
                      self._pages("txlist", address, after_block + 1, through_block)
                      if row["from"].lower() == address and row.get("isError", "0") == "0"
                      and int(row["value"]) > 0]
            found += [_token(row) for row in
                      self._pages("tokentx", address, after_block + 1, through_block)
                      if row["from"].lower() == address]
        return found

    def _pages(self, action: str, address: str, start: int, end: int) -> list[dict[str, Any]]:
        """Every record of one action, 1,000 per page."""
        rows: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._call({"module": "account", "action": action, "address": address,
                                "startblock": start, "endblock": end, "page": page,
                                "offset": PAGE_SIZE, "sort": "asc"})
            rows += batch
            if len(batch) < PAGE_SIZE:
                break
        return rows

    def _call(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """One API call; "No transactions found" is an empty list, other status 0 an error."""
        if self.api_key:
            params["apikey"] = self.api_key
        if self.chain_id is not None:
            params["chainid"] = self.chain_id
        body = self.http.get_json("", params)
        if str(body.get("status")) == "1":
            return body.get("result") or []
        message, result = str(body.get("message", "")), body.get("result")
        if message.startswith("No transactions found") or result == []:
            return []
        if "rate limit" in str(result).lower():
            raise ExplorerUnavailable(f"the explorer API is rate limiting us: {result}")
        raise ExplorerError(f"the explorer API refused {params['action']}: {message} {result}")


def _stamp(row: dict[str, Any]) -> datetime | None:
    """The row's time, when present."""
    return datetime.fromtimestamp(int(row["timeStamp"]), UTC) if row.get("timeStamp") else None


def _native(row: dict[str, Any], asset: str) -> Transfer:
    """A txlist row as a native-asset edge (wei to ether)."""
    return Transfer(row["hash"].lower(), row["from"].lower(), row["to"].lower(),
                    Decimal(int(row["value"])).scaleb(-18), asset, int(row["blockNumber"]),
                    _stamp(row))


def _token(row: dict[str, Any]) -> Transfer:
    """A tokentx row as a token edge in token units."""
    decimals = int(row.get("tokenDecimal") or 0)
    return Transfer(row["hash"].lower(), row["from"].lower(), row["to"].lower(),
                    Decimal(int(row["value"])).scaleb(-decimals),
                    row.get("tokenSymbol") or row["contractAddress"].lower(),
                    int(row["blockNumber"]), _stamp(row), int(row.get("logIndex") or 0),
                    row["contractAddress"].lower())
