"""POST /api/v1/anomalies/batch: up to 1,000 signed risk-engine events in one request (a wave of accounts)."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from app.api.anomalies import AnomalyAnswerOut, AnomalyIn, check_signature, scoring_policy
from app.api.parsing import Blueprint
from app.db import utcnow
from app.containment import freeze_claimer, send_batch_after_commit
from app.extensions import get_session
from app.observability import ANOMALIES
from incidents.anomalies import AnomalyInput
from incidents.anomaly_batch import MAX_BATCH_EVENTS, ingest_batch

# The one JSON body above the edge's 64 KiB: a thousand events with their details (app.edge reads this).
MAX_BATCH_BODY_BYTES = 1024 * 1024

blp = Blueprint("anomaly_batch", __name__, url_prefix="/api/v1",
                description="Risk-engine events in batches, signed with X-Lockdesk-Signature like single events")
blp.before_request(check_signature)


class AnomalyBatchIn(Schema):
    """Up to 1,000 events, each as `POST /anomalies` takes it."""

    events = fields.List(fields.Nested(AnomalyIn), required=True,
                         validate=validate.Length(min=1, max=MAX_BATCH_EVENTS,
                                                  error=f"must hold 1 to {MAX_BATCH_EVENTS} events"))


class AnomalyBatchOut(Schema):
    """One answer per event, in the order sent."""

    results = fields.List(fields.Nested(AnomalyAnswerOut))


def body_limit(limit: int):
    """Mark a view whose JSON body may be larger than the edge's default (up to `limit` bytes)."""
    def mark(view):
        view.max_body_bytes = limit
        return view
    return mark


@blp.route("/anomalies/batch", methods=["POST"])
@blp.arguments(AnomalyBatchIn())
@blp.response(202, AnomalyBatchOut)
@body_limit(MAX_BATCH_BODY_BYTES)
def post_anomaly_batch(data):
    """Take up to 1,000 events: each scored and acted on exactly as if sent alone, answered in order.

    One invalid event refuses the whole batch (422 naming `events.<index>.<field>`) and stores nothing.
    """
    outcomes = ingest_batch(get_session(), events=[AnomalyInput(**event) for event in data["events"]],
                            policy=scoring_policy(), sla_hours=current_app.config["SLA_HOURS"], now=utcnow(),
                            lease=freeze_claimer())
    send_batch_after_commit(outcomes)  # the freezes go to the exchange in batches of 500, not waited for
    for outcome in outcomes:
        ANOMALIES.labels(outcome.action).inc()
    return {"results": outcomes}
