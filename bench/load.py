"""The load generator, run as its own process: threads, each with one keep-alive urllib3 connection.

`python -m bench.load` reads a job (JSON) on standard input and writes the measurements (JSON) on
standard output, so the clients never share a CPU-bound interpreter with the servers they measure.
It shares their cores, though: it speaks urllib3 directly, without `requests`' sessions, hooks and
cookie jar, to take less of them (0.65 against 1.0 ms of CPU per report, serially on PostgreSQL).
"""
from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError


def report_body(account_id: str) -> dict[str, Any]:
    """An owner's report of a stolen account."""
    return {"account_id": account_id, "kind": "stolen_account",
            "description": "I did not make the withdrawal at 03:12",
            "contact": {"email": "owner@example.com", "phone": "+15550001"},
            "last_legitimate_activity_at": "2026-11-20T22:00:00Z", "language": "en"}


@dataclass
class Tally:
    """What the clients saw (appended under a lock)."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    frozen: int = 0
    incidents: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int, answer: Any) -> None:
        """Count one answered request."""
        incident = answer.get("incident") if isinstance(answer, dict) else None
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] += 1
            if incident:
                self.incidents.append(incident["id"])
                self.frozen += incident.get("containment") == "frozen"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


JSON = {"Content-Type": "application/json"}
TIMEOUT = urllib3.Timeout(connect=10, read=60)


def _connection(url: str) -> urllib3.HTTPConnectionPool:
    """One keep-alive client of the server that `url` names."""
    parts = urlsplit(url)
    return urllib3.HTTPConnectionPool(parts.hostname, parts.port, maxsize=1, block=True, timeout=TIMEOUT,
                                      retries=False)


def _target(url: str) -> str:
    """The path and query of `url`, what the request line carries."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _request(connection: urllib3.HTTPConnectionPool, job: dict[str, Any], index: int) -> urllib3.BaseHTTPResponse:
    """Send the index-th request of the job: a report, a floor insert, or a GET of the URL."""
    target, headers = _target(job["url"]), job.get("headers") or {}
    if job["kind"] == "report":
        body = json.dumps(report_body(job["accounts"][index])).encode()
        return connection.urlopen("POST", target, body=body, headers={**JSON, **headers})
    if job["kind"] == "floor":
        return connection.urlopen("POST", target, body=b"{}", headers={**JSON, **headers})
    return connection.urlopen("GET", target, headers=headers)


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Send `count` requests from `clients` threads, each pulling the next index; measure each one."""
    count, clients = job["count"], job["clients"]
    tally, next_index, index_lock = Tally(), iter(range(count)), threading.Lock()
    deadline = time.perf_counter() + job.get("deadline_s", 1e9)  # stop issuing new requests after this

    def client() -> None:
        connection = _connection(job["url"])
        while True:
            with index_lock:
                index = next(next_index, None) if time.perf_counter() < deadline else None
            if index is None:
                return
            started = time.perf_counter()
            try:
                response = _request(connection, job, index)
                answer = json.loads(response.data) if job["kind"] == "report" and response.data else None
                tally.add(time.perf_counter() - started, response.status, answer)
            except (HTTPError, OSError, ValueError) as error:
                with tally.lock:
                    tally.errors.append(f"{type(error).__name__}: {error}"[:200])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return summary(tally, elapsed, keep_incidents=job.get("keep_incidents", False))


def summary(tally: Tally, elapsed: float, *, keep_incidents: bool) -> dict[str, Any]:
    """The numbers of one load run."""
    answered = len(tally.latencies)
    result = {"answered": answered, "elapsed_s": round(elapsed, 3),
              "per_second": round(answered / elapsed, 1) if elapsed else None,
              "p50_ms": round(percentile(tally.latencies, 0.50) * 1000, 2),
              "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 2),
              "mean_ms": round(statistics.fmean(tally.latencies) * 1000, 2) if tally.latencies else None,
              "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
              "frozen_in_answer": tally.frozen, "errors": len(tally.errors), "first_errors": tally.errors[:3]}
    if keep_incidents:
        result["incidents"] = tally.incidents
    return result


def main() -> None:
    """Read the job, run it, print the result."""
    job = json.load(sys.stdin)
    json.dump(run(job), sys.stdout)


if __name__ == "__main__":
    main()
