"""The `http` exchange adapter: a signed REST client with timeouts, bounded retries and a circuit breaker."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter

from app.db import utcnow
from incidents.exchange import wire
from incidents.exchange.breaker import CircuitBreaker
from incidents.exchange.port import (
    AccountNotFound,
    AccountSnapshot,
    Cancellation,
    ExchangeRejected,
    ExchangeUnavailable,
    Revocation,
    StateChange,
    Withdrawal,
)
from incidents.exchange.signing import sign

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpSettings:
    """Where the exchange is, how we authenticate, and how long we are willing to wait."""

    base_url: str
    api_key: str
    secret: str
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 3
    budget_seconds: float = 10.0
    backoff_seconds: float = 0.2


class HttpExchange:
    """ExchangePort over the account-control REST API; one keep-alive connection per worker thread."""

    def __init__(self, settings: HttpSettings, *, breaker: CircuitBreaker | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Callable[[], datetime] = utcnow):
        self._settings = settings
        self._breaker = breaker or CircuitBreaker()
        self._clock, self._sleep, self._wall_clock = clock, sleep, wall_clock
        self._local = threading.local()

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker guarding this exchange."""
        return self._breaker

    def get_account(self, account_id: str) -> AccountSnapshot:
        """GET /v1/accounts/{id}."""
        return wire.account_from_json(self._request("GET", _account_path(account_id)))

    def freeze(self, account_id: str, *, scope: str, reason: str, reference: str,
               idempotency_key: str) -> StateChange:
        """POST /v1/accounts/{id}/freeze."""
        body = {"scope": scope, "reason": reason, "reference": reference}
        answer = self._request("POST", _account_path(account_id, "/freeze"), body=body, key=idempotency_key)
        return wire.state_change_from_json(answer)

    def unfreeze(self, account_id: str, *, reason: str, reference: str, withdrawal_cooldown_hours: int,
                 idempotency_key: str) -> StateChange:
        """POST /v1/accounts/{id}/unfreeze."""
        body = {"reason": reason, "reference": reference, "withdrawal_cooldown_hours": withdrawal_cooldown_hours}
        answer = self._request("POST", _account_path(account_id, "/unfreeze"), body=body, key=idempotency_key)
        return wire.state_change_from_json(answer)

    def revoke_sessions(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """POST /v1/accounts/{id}/sessions/revoke."""
        answer = self._request("POST", _account_path(account_id, "/sessions/revoke"), body={}, key=idempotency_key)
        return wire.revocation_from_json(answer)

    def revoke_api_keys(self, account_id: str, *, idempotency_key: str) -> Revocation:
        """POST /v1/accounts/{id}/api-keys/revoke."""
        answer = self._request("POST", _account_path(account_id, "/api-keys/revoke"), body={}, key=idempotency_key)
        return wire.revocation_from_json(answer)

    def cancel_pending_withdrawals(self, account_id: str, *, idempotency_key: str) -> Cancellation:
        """POST /v1/accounts/{id}/withdrawals/cancel-pending."""
        path = _account_path(account_id, "/withdrawals/cancel-pending")
        return wire.cancellation_from_json(self._request("POST", path, body={}, key=idempotency_key))

    def list_withdrawals(self, account_id: str, *, since: datetime) -> list[Withdrawal]:
        """GET /v1/accounts/{id}/withdrawals?since=."""
        path = _account_path(account_id, "/withdrawals") + "?" + urlencode({"since": wire.format_time(since)})
        return wire.withdrawals_from_json(self._request("GET", path))

    def close(self) -> None:
        """Close this thread's connection."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def _request(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                 key: str | None = None) -> dict[str, Any]:
        """Send a signed request, retrying 429/5xx/timeouts within the attempt and time budget."""
        deadline = self._clock() + self._settings.budget_seconds
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        for attempt in range(1, self._settings.max_attempts + 1):
            try:
                return self._attempt(method, path, raw, key, deadline)
            except ExchangeUnavailable as error:
                wait = self._retry_wait(error, attempt)
                if attempt == self._settings.max_attempts or self._clock() + wait >= deadline:
                    raise
                self._sleep(wait)
        raise ExchangeUnavailable("no attempt left")  # unreachable: the loop returns or raises

    def _attempt(self, method: str, path: str, raw: bytes, key: str | None, deadline: float) -> dict[str, Any]:
        """One call through the breaker; vendor errors become ours."""
        self._breaker.before_call()
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise ExchangeUnavailable("time budget spent")
        timeout = (min(self._settings.connect_timeout, remaining), min(self._settings.read_timeout, remaining))
        try:
            response = self._session().request(method, self._settings.base_url.rstrip("/") + path, data=raw or None,
                                               headers=self._headers(method, path, raw, key), timeout=timeout)
        except requests.RequestException as error:
            self._breaker.record_failure()
            raise ExchangeUnavailable(f"{method} {path}: {type(error).__name__}") from error
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: requests.Response) -> dict[str, Any]:
        """Turn the response into JSON or into one of our errors."""
        if response.status_code in RETRYABLE_STATUSES:
            self._breaker.record_failure()
            raise ExchangeUnavailable(f"{method} {path}: HTTP {response.status_code}",
                                      retry_after=_retry_after(response.headers.get("Retry-After")))
        self._breaker.record_success()
        if response.status_code == 404:
            raise AccountNotFound(f"{method} {path}: HTTP 404 {_excerpt(response)}")
        if response.status_code >= 400:
            raise ExchangeRejected(f"{method} {path}: HTTP {response.status_code} {_excerpt(response)}")
        try:
            return response.json()
        except ValueError as error:
            raise ExchangeUnavailable(f"{method} {path}: the answer is not JSON") from error

    def _headers(self, method: str, path: str, raw: bytes, key: str | None) -> dict[str, str]:
        """X-Api-Key, X-Timestamp, X-Signature and, on POSTs, Idempotency-Key."""
        timestamp = wire.format_time(self._wall_clock())
        headers = {"X-Api-Key": self._settings.api_key, "X-Timestamp": timestamp, "Accept": "application/json",
                   "X-Signature": sign(self._settings.secret, timestamp=timestamp, method=method, path=path,
                                       body=raw)}
        if raw:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def _retry_wait(self, error: ExchangeUnavailable, attempt: int) -> float:
        """Retry-After when the exchange gave one, else a short doubling pause."""
        if error.retry_after is not None:
            return error.retry_after
        return self._settings.backoff_seconds * 2 ** (attempt - 1)

    def _session(self) -> requests.Session:
        """This thread's session: a pool of one keep-alive connection."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session


def _account_path(account_id: str, suffix: str = "") -> str:
    """The path of an account resource, its id escaped."""
    return f"/v1/accounts/{quote(account_id, safe='@+')}{suffix}"


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max((parsedate_to_datetime(value) - utcnow()).total_seconds(), 0.0)
        except (TypeError, ValueError):
            return None


def _excerpt(response: requests.Response) -> str:
    """The start of an error body, for the command's last_error."""
    return response.text[:200]
