"""Risk-engine events: remembered by id, scored over a sliding window, acted on by thresholds."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit
from incidents.containment import request_freeze
from incidents.intake import find_open_incident, note_suspicion, open_or_attach, sla_due
from incidents.models import AnomalyEvent, ExchangeCommand
from incidents.outbox.calls import Claim
from incidents.suspicion import clamp_claim

DEFAULT_WEIGHTS: dict[str, int] = {
    "new_device_login": 20, "geo_velocity": 30, "withdrawal_spike": 40, "two_factor_disabled": 50,
    "two_factor_changed": 45, "password_reset": 25, "api_key_created": 25,
    "withdrawal_address_added": 30, "phone_changed": 40, "sim_swap": 60,
}
# How far in the future an event may lie and still count in the window (a sender's clock running ahead).
FUTURE_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class ScoringPolicy:
    """Event weights and the score thresholds that decide the action (configuration)."""

    weights: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    watch_threshold: int = 30
    freeze_threshold: int = 80
    window: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class AnomalyInput:
    """A verified webhook event."""

    event_id: str
    account_id: str
    type: str
    occurred_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnomalyOutcome:
    """The webhook's answer, and the freeze to dispatch once committed (a batch's freeze: its claim, when the
    batch wrote it already claimed for the caller)."""

    event_id: str
    action: str
    incident_id: Any
    duplicate: bool
    freeze_command: ExchangeCommand | None = None
    freeze_claim: Claim | None = None


def ingest_anomaly(session: Session, *, event: AnomalyInput, policy: ScoringPolicy,
                   sla_hours: int = 24, now: datetime | None = None) -> AnomalyOutcome:
    """Record an event once, score the account and watch, attach or freeze; one commit."""
    now = now or utcnow()
    row = AnomalyEvent(event_id=event.event_id, account_id=event.account_id, type=event.type,
                       occurred_at=event.occurred_at, details=event.details,
                       weight=policy.weights.get(event.type, 0), action="ignored", received_at=now)
    if not _claim(session, row):
        session.rollback()
        return _replay(session, event.event_id)
    row.score = _window_score(session, account_id=event.account_id, policy=policy, now=now)
    freeze = _act(session, row, policy, sla_hours, now)
    audit.record(session, actor="risk-engine", action="anomaly.received", subject_type="anomaly_event",
                 subject_id=row.id, incident_id=row.incident_id,
                 data={"event_id": event.event_id, "type": event.type, "weight": row.weight,
                       "score": row.score, "action": row.action}, now=now)
    session.commit()
    return AnomalyOutcome(event_id=event.event_id, action=row.action, incident_id=row.incident_id,
                          duplicate=False, freeze_command=freeze)


def _claim(session: Session, row: AnomalyEvent) -> bool:
    """Insert the event; False when its id was seen before (a concurrent sender included)."""
    if session.scalar(select(AnomalyEvent.id).where(AnomalyEvent.event_id == row.event_id)):
        return False
    try:
        with audit.savepoint(session):
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def _replay(session: Session, event_id: str) -> AnomalyOutcome:
    """The first answer given for an event id."""
    row = session.scalar(select(AnomalyEvent).where(AnomalyEvent.event_id == event_id))
    return AnomalyOutcome(event_id=event_id, action=row.action, incident_id=row.incident_id, duplicate=True)


def _window_score(session: Session, *, account_id: str, policy: ScoringPolicy, now: datetime) -> int:
    """Sum of the weights of the account's events inside the window ending now."""
    query = select(func.coalesce(func.sum(AnomalyEvent.weight), 0)).where(
        AnomalyEvent.account_id == account_id,
        AnomalyEvent.occurred_at >= now - policy.window,
        AnomalyEvent.occurred_at <= now + FUTURE_SLACK,
    )
    return int(session.scalar(query))


def _act(session: Session, row: AnomalyEvent, policy: ScoringPolicy, sla_hours: int,
         now: datetime) -> ExchangeCommand | None:
    """Decide ignore / watch / attach / freeze from the score and any open incident."""
    if row.weight == 0:
        return None
    incident = find_open_incident(session, account_id=row.account_id)
    if incident is None and row.score < policy.watch_threshold:
        return None
    if incident is None:
        attachment = open_or_attach(session, account_id=row.account_id, now=now,
                                    new_incident=watch_incident(row.score, row.occurred_at, sla_hours, now))
        incident, row.action = attachment.incident, "attached" if attachment.attached else "watch"
    else:
        row.action = "attached"
    row.incident_id = incident.id
    incident.risk_score = max(incident.risk_score, row.score)
    note_suspicion(incident, clamp_claim(row.occurred_at, received_at=now))
    if row.score < policy.freeze_threshold:
        return None
    freeze = request_freeze(session, incident, scope="full", actor="risk-engine",
                            reason=f"risk score {row.score} crossed {policy.freeze_threshold}", now=now)
    if freeze is not None:
        row.action = "frozen"
    return freeze


def watch_incident(score: int, occurred_at: datetime, sla_hours: int, now: datetime) -> dict:
    """The fields of a new incident opened by the risk engine for an event with this score and time."""
    return {"kind": "anomaly", "source": "anomaly", "severity": "high", "risk_score": score,
            "sla_due_at": sla_due(now, sla_hours), "queue": "risk",
            "first_suspicious_at": clamp_claim(occurred_at, received_at=now), "created_at": now, "updated_at": now}
