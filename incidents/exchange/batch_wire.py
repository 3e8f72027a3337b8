"""The JSON of `POST /v1/accounts/freeze-batch`, both ways: what the adapters send and how they read the answer."""
from __future__ import annotations

from typing import Any

from incidents.exchange.port import FreezeItem, FreezeItemResult
from incidents.exchange.wire import state_change_from_json

FREEZE_BATCH_PATH = "/v1/accounts/freeze-batch"


def freeze_items_to_json(items: list[FreezeItem]) -> dict[str, Any]:
    """The request body: `{"items": [{account_id, scope, reason, reference, idempotency_key}, …]}`."""
    return {"items": [{"account_id": item.account_id, "scope": item.scope, "reason": item.reason,
                       "reference": item.reference, "idempotency_key": item.idempotency_key} for item in items]}


def freeze_results_from_json(body: dict[str, Any]) -> list[FreezeItemResult]:
    """The answer's `results`, in the order sent: 200 items carry their state change, others their error."""
    results = []
    for item in body["results"]:
        status = int(item["status"])
        change = state_change_from_json(item) if status == 200 else None
        results.append(FreezeItemResult(account_id=item["account_id"], idempotency_key=item["idempotency_key"],
                                        status=status, change=change,
                                        error=None if status == 200 else str(item.get("error") or status)))
    return results
