"""JSON-RPC over a web3.py provider: batched in one HTTP round trip when the provider can."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import MethodUnavailable, Web3Exception, Web3RPCError

from chain.explorers.port import ExplorerError, ExplorerUnavailable

TRANSIENT_HTTP_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RpcFailure:
    """The error a node returned for one call of a batch."""

    code: int
    message: str


def http_web3(url: str, *, connect_timeout: float = 3.0, read_timeout: float = 15.0) -> Web3:
    """A Web3 over HTTP with explicit timeouts and web3's own retries off (we retry)."""
    provider = HTTPProvider(url, request_kwargs={"timeout": (connect_timeout, read_timeout)},
                            exception_retry_configuration=None)
    return Web3(provider)


class JsonRpc:
    """Send JSON-RPC calls through web3, one batch per round trip, and count the trips."""

    def __init__(self, w3: Web3, *, is_batching: bool = True, retries: int = 2,
                 backoff_seconds: float = 0.3, sleep: Callable[[float], None] = time.sleep):
        self.w3 = w3
        self.is_batching = is_batching
        self.round_trips = 0
        self._retries = retries
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._is_http = isinstance(w3.provider, HTTPProvider)

    def call(self, method: str, params: list[Any]) -> Any:
        """Make one call; raise ExplorerError if the node answered with an error."""
        result = self.batch([(method, params)])[0]
        if isinstance(result, RpcFailure):
            raise ExplorerError(f"{method} failed: {result.message}", code=result.code)
        return result

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Return each call's result (or an RpcFailure) in order, in as few round trips as possible."""
        if not calls:
            return []
        if self._is_http and self.is_batching and len(calls) > 1:
            return self._with_retries(lambda: self._http_batch(calls))
        return [self._with_retries(lambda c=c: self._single(*c)) for c in calls]

    def _http_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """One HTTP POST carrying every call (web3's provider-level batch)."""
        self.round_trips += 1
        responses = self.w3.provider.make_batch_request(list(calls))
        if not isinstance(responses, list):
            error = responses.get("error") or {}
            raise ExplorerError(f"the node refused the batch: {error.get('message', responses)}")
        return [_unwrap(response) for response in responses]

    def _single(self, method: str, params: list[Any]) -> Any:
        """One call on its own; through the middleware so in-process providers work too."""
        self.round_trips += 1
        if self._is_http:
            return _unwrap(self.w3.provider.make_request(method, params))
        try:
            return self.w3.manager.request_blocking(method, params)
        except MethodUnavailable as exc:
            return RpcFailure(-32601, str(exc))
        except Web3RPCError as exc:
            return RpcFailure(_code_of(exc), str(exc))
        except Exception as exc:  # in-process providers raise their own types (eth-tester reverts)
            return RpcFailure(-32000, str(exc))

    def _with_retries(self, send: Callable[[], Any]) -> Any:
        """Retry transient transport failures with exponential backoff, then give up cleanly."""
        for attempt in range(self._retries + 1):
            try:
                return send()
            except (requests.Timeout, requests.ConnectionError) as exc:
                failure = exc
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status not in TRANSIENT_HTTP_STATUSES:
                    raise ExplorerError(f"the node answered HTTP {status}") from exc
                failure = exc
            except (ValueError, Web3Exception) as exc:
                raise ExplorerError(f"the node sent an unreadable answer: {exc}") from exc
            if attempt < self._retries:
                self._sleep(self._backoff * 2 ** attempt)
        raise ExplorerUnavailable(f"the node did not answer: {type(failure).__name__}") from failure


def _unwrap(response: dict[str, Any]) -> Any:
    """Turn one JSON-RPC response object into its result or an RpcFailure."""
    if response.get("error"):
        error = response["error"]
        if isinstance(error, dict):
            return RpcFailure(int(error.get("code", 0)), str(error.get("message", "")))
        return RpcFailure(0, str(error))
    return response.get("result")


def _code_of(exc: Web3RPCError) -> int:
    """The JSON-RPC error code carried by a web3 exception, 0 when absent."""
    response = getattr(exc, "rpc_response", None) or {}
    error = response.get("error") if isinstance(response, dict) else None
    return int(error.get("code", 0)) if isinstance(error, dict) else 0
