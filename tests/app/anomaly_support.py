"""Risk-engine events for the API tests: a body, its signed post, and counting what was stored."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import signed_anomaly


def event(event_id="evt-1", account_id="U2002", type_="new_device_login", occurred_at=None, **details):
    """A risk-engine event body, occurring now unless told."""
    from datetime import UTC, datetime

    occurred = occurred_at or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"event_id": event_id, "account_id": account_id, "type": type_, "occurred_at": occurred,
            "details": details}


def post(client, body, **sign_options):
    """POST one event to the webhook, signed like a risk engine would sign it."""
    raw, headers = signed_anomaly(body, **sign_options)
    return client.post("/api/v1/anomalies", data=raw, headers=headers)


def stored(session, model) -> int:
    """How many rows of a model are stored."""
    return session.scalar(select(func.count()).select_from(model))
