"""A polite HTTP client for explorer APIs: timeouts, client-side rate limit, retries, our errors."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from chain.explorers.port import ExplorerError, ExplorerUnavailable, TransactionNotFound

TRANSIENT = {429, 500, 502, 503, 504}


class HttpClient:
    """JSON over HTTP from one base URL, at most one request per `min_interval` seconds."""

    def __init__(self, base_url: str, *, session: requests.Session | None = None,
                 connect_timeout: float = 3.0, read_timeout: float = 15.0, retries: int = 3,
                 backoff_seconds: float = 0.5, min_interval: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, headers: dict[str, str] | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff_seconds
        self.min_interval = min_interval
        self.sleep = sleep
        self.clock = clock
        self.round_trips = 0
        self.headers = dict(headers or {})
        self._last_sent: float | None = None

    def get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        """GET with retries on timeouts, 429 (honouring Retry-After) and 5xx answers."""
        return self.request("GET", path, params=params)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None) -> requests.Response:
        """One logical request, retried on timeouts, 429 (honouring Retry-After) and 5xx answers."""
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2 ** attempt
            try:
                response = self._send(method, path, params, body)
            except (requests.Timeout, requests.ConnectionError) as exc:
                failure: str = type(exc).__name__
            else:
                if response.status_code == 404:
                    raise TransactionNotFound(f"{path} not found at the explorer")
                if response.status_code not in TRANSIENT:
                    if response.status_code >= 400:
                        raise ExplorerError(f"the explorer answered HTTP {response.status_code} "
                                            f"for {path}: {response.text[:200]}")
                    return response
                failure = f"HTTP {response.status_code}"
                wait = max(wait, _retry_after(response))
            if attempt < self.retries:
                self.sleep(wait)
        raise ExplorerUnavailable(f"the explorer did not answer {path}: {failure}")

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET and decode JSON, an ExplorerError when the body is not JSON."""
        return self._decoded(self.get(path, params), path)

    def post_json(self, path: str, body: Any) -> Any:
        """POST a JSON body and decode the JSON answer (TRON's wallet API reads with POST)."""
        return self._decoded(self.request("POST", path, body=body), path)

    @staticmethod
    def _decoded(response: requests.Response, path: str) -> Any:
        """The JSON body, an ExplorerError when it is not JSON."""
        try:
            return response.json()
        except ValueError as exc:
            raise ExplorerError(f"the explorer sent non-JSON for {path}") from exc

    def _send(self, method: str, path: str, params: dict[str, Any] | None,
              body: Any) -> requests.Response:
        """One request, spaced out to respect the client-side rate limit."""
        if self._last_sent is not None and self.min_interval:
            gap = self.min_interval - (self.clock() - self._last_sent)
            if gap > 0:
                self.sleep(gap)
        self._last_sent = self.clock()
        self.round_trips += 1
        return self.session.request(method, f"{self.base_url}{path}", params=params, json=body,
                                    headers=self.headers, timeout=self.timeout)


def _retry_after(response: requests.Response) -> float:
    """Seconds the server asked us to wait (Retry-After in seconds), 0 when absent or unreadable."""
    try:
        return float(response.headers.get("Retry-After", 0))
    except ValueError:
        return 0.0
