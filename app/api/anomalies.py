"""POST /api/v1/anomalies: signed risk-engine webhooks."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, request
from marshmallow import Schema, fields, validate

from app.api.fields import ACCOUNT_ID, FullMatch, Timestamp
from app.api.parsing import Blueprint
from app.containment import dispatch_after_commit
from app.db import utcnow
from app.extensions import get_session
from app.observability import ANOMALIES
from incidents.anomalies import AnomalyInput, ScoringPolicy, ingest_anomaly
from incidents.signatures import verify

blp = Blueprint("anomalies", __name__, url_prefix="/api/v1",
                description="Risk-engine events, signed with X-Lockdesk-Signature")


class AnomalyIn(Schema):
    """A risk-engine event; unknown types are accepted and ignored."""

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    account_id = fields.String(required=True, validate=ACCOUNT_ID)
    type = fields.String(required=True, validate=FullMatch(r"^[a-z0-9_]{1,40}$"))
    occurred_at = Timestamp(required=True)
    details = fields.Dict(load_default=dict)


class AnomalyAnswerOut(Schema):
    """What was done with the event."""

    event_id = fields.String()
    action = fields.String(metadata={"enum": ["ignored", "watch", "attached", "frozen"]})
    incident_id = fields.UUID(allow_none=True)
    duplicate = fields.Boolean()


@blp.before_request
def check_signature() -> None:
    """Refuse unsigned, stale or wrongly signed events before reading the body."""
    secrets = current_app.config["ANOMALY_WEBHOOK_SECRETS"]
    verify(request.headers.get("X-Lockdesk-Signature"), request.get_data(), secrets=secrets, now=utcnow(),
           tolerance=current_app.config["WEBHOOK_TOLERANCE_SECONDS"])


def scoring_policy() -> ScoringPolicy:
    """Weights and thresholds from configuration."""
    config = current_app.config
    defaults = ScoringPolicy()
    return ScoringPolicy(weights={**defaults.weights, **config["ANOMALY_WEIGHTS"]},
                         watch_threshold=config["ANOMALY_WATCH_THRESHOLD"],
                         freeze_threshold=config["ANOMALY_FREEZE_THRESHOLD"],
                         window=timedelta(minutes=config["ANOMALY_WINDOW_MINUTES"]))


@blp.route("/anomalies", methods=["POST"])
@blp.arguments(AnomalyIn())
@blp.response(202, AnomalyAnswerOut)
@blp.alt_response(200, schema=AnomalyAnswerOut, description="An event id seen before: the first answer")
def post_anomaly(data):
    """Take a risk-engine event: score the account, then ignore, watch, attach or freeze."""
    session = get_session()
    outcome = ingest_anomaly(session, event=AnomalyInput(**data), policy=scoring_policy(),
                             sla_hours=current_app.config["SLA_HOURS"])
    dispatch_after_commit(None, outcome.freeze_command)
    ANOMALIES.labels(outcome.action).inc()
    return outcome, 200 if outcome.duplicate else 202
