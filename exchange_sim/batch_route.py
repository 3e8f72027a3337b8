"""`POST /v1/accounts/freeze-batch` on the embedded exchange's HTTP back office (`exchange_sim.server`).

The body is checked whole (422 naming the item and field); each valid item is then frozen once per its own
idempotency key by `exchange_sim.backoffice_batch`, its 404 or 409 answered in its own result.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

from exchange_sim import backoffice_batch
from incidents.exchange.batch_wire import FREEZE_BATCH_PATH
from incidents.exchange.port import MAX_FREEZE_BATCH

_TEXT_LIMITS = {"account_id": 64, "idempotency_key": 255, "scope": 20, "reason": 500, "reference": 64}
_REQUIRED = ("account_id", "idempotency_key")


def add_freeze_batch(app: Flask) -> None:
    """Serve the freeze batch on the back-office app."""
    app.add_url_rule(FREEZE_BATCH_PATH, view_func=_post_freeze_batch, methods=["POST"])


def item_fault(index: int, item: Any) -> str | None:
    """Why one item cannot be taken (naming `items.<index>.<field>`), or None."""
    if not isinstance(item, dict):
        return f"items.{index} must be an object"
    for name in _REQUIRED:
        if not item.get(name):
            return f"items.{index}.{name} is required"
    for name, limit in _TEXT_LIMITS.items():
        value = item.get(name, "")
        if not isinstance(value, str) or len(value) > limit:
            return f"items.{index}.{name} must be text of at most {limit} characters"
    return None


def body_fault(body: Any) -> str | None:
    """Why the body cannot be taken, or None: `{"items": [1 to 500 items]}`."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_FREEZE_BATCH:
        return f"items must be a list of 1 to {MAX_FREEZE_BATCH} items"
    return next((fault for index, item in enumerate(items) if (fault := item_fault(index, item))), None)


def _post_freeze_batch():
    """Freeze each item's account once per key; one result per item, in order."""
    from exchange_sim.server import _error, _hold, _state  # the server registers this module: import late

    body = request.get_json(silent=True)
    fault = body_fault(body)
    if fault is not None:
        return _error(422, "validation", fault)
    state = _state()
    with state.sessions() as session:
        results = backoffice_batch.freeze_batch(session, items=body["items"])
    _hold(state.faults)
    return jsonify({"results": results})
