"""`GET /_calls` on the embedded exchange's HTTP back office: how many calls of each kind it served.

The call log keeps only the newest calls; these counters keep every call since the start, so the bench
can tell how many exchange calls a wave of freezes cost (a freeze batch counts once).
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from flask import Flask, current_app, jsonify, request


@dataclass
class CallCounts:
    """Calls served, by kind (thread-safe)."""

    counts: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str) -> None:
        """Count one call."""
        with self._lock:
            self.counts[kind] += 1

    def snapshot(self) -> dict[str, int]:
        """The counts so far."""
        with self._lock:
            return dict(self.counts)


def add_call_counts(app: Flask) -> None:
    """Count every authenticated call the back office serves, and answer `GET /_calls` with the counts."""
    app.extensions["backoffice_call_counts"] = CallCounts()
    app.before_request(_count)
    app.add_url_rule("/_calls", view_func=_get_calls, methods=["GET"])


def call_kind() -> str:
    """The kind of this call: its method and route, a keyed write's operation spelled out
    (`POST /v1/accounts/{id}/freeze`, `POST /v1/accounts/freeze-batch`, `GET /v1/accounts/{id}`)."""
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    operation = (request.view_args or {}).get("operation", "")
    path = (rule.replace("<path:operation>", operation).replace("<account_id>", "{id}")
            .replace("<address>", "{address}"))
    return f"{request.method} {path}"


def _count() -> None:
    """Count an API call (after the guard let it through); the test and bench hooks (`/_…`) are not counted."""
    if not request.path.startswith("/_"):
        current_app.extensions["backoffice_call_counts"].add(call_kind())


def _get_calls():
    """GET /_calls: `{"total": n, "by_kind": {kind: n}}`."""
    counts = current_app.extensions["backoffice_call_counts"].snapshot()
    return jsonify({"total": sum(counts.values()), "by_kind": counts})
