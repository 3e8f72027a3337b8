"""The earliest suspicious activity of a case: one notion for the pages and for factor trust.

A reporter's or a risk engine's time is a claim: it may move the suspicion earlier, never later than the
moment the claim reached us, and never outside 2009 to now. The exchange's own records are evidence: a
factor or credential change, or a withdrawal, in the look-back window before we first heard of trouble
(`FACTOR_TRUST_DAYS`), and any pulled withdrawal a report names, whenever it was made.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.db import utcnow
from incidents.containment import latest_account_snapshot, pulled_withdrawals
from incidents.models import Incident
from verification.trust import MAX_TRUST_DAYS, as_security_event, earlier_by, within_credible

# Changes of who controls the account, as the exchange records them (API.md `security_events`).
CONTROL_CHANGES = frozenset({"two_factor_changed", "two_factor_disabled", "totp_bound", "totp_changed",
                             "totp_reset", "phone_changed", "phone_bound", "sim_swap", "password_reset",
                             "email_changed"})


@dataclass(frozen=True)
class Clue:
    """One suspicious moment and where we know it from (`source`, with the event kind or asset in `detail`)."""

    at: datetime
    source: str
    detail: str | None = None


def clamp_claim(claimed: datetime | None, *, received_at: datetime) -> datetime:
    """A claimed time as it may count: no later than its arrival, within 2009 to then (none: the arrival)."""
    return within_credible(claimed or received_at, now=received_at)


def earliest_clue(*, heard_at: datetime, claims: Iterable[Clue], control_changes: Iterable[Clue],
                  withdrawals: Iterable[tuple[Clue, bool]], look_back: timedelta, now: datetime) -> Clue:
    """The earliest of the claims and of the exchange's evidence; never after we first heard of trouble.

    `claims` are already clamped to their arrival; `withdrawals` pairs each with whether a report named it.
    """
    heard = within_credible(heard_at, now=now)
    window_start = earlier_by(heard, look_back)
    candidates = [Clue(heard, "case_opened")]
    candidates += [Clue(within_credible(clue.at, now=heard), clue.source, clue.detail) for clue in claims]
    changes = [_credible(clue, now) for clue in control_changes]
    candidates += [clue for clue in changes if window_start <= clue.at <= heard]
    pulled = [(_credible(clue, now), named) for clue, named in withdrawals]
    candidates += [clue for clue, named in pulled if (named or window_start <= clue.at) and clue.at <= heard]
    return min(candidates, key=lambda clue: clue.at)


def _credible(clue: Clue, now: datetime) -> Clue:
    """The clue with its time moved into 2009 to now (and made aware)."""
    return Clue(within_credible(clue.at, now=now), clue.source, clue.detail)


def earliest_suspicious_activity(session: Session, incident: Incident, *, look_back_days: int,
                                 now: datetime | None = None) -> Clue:
    """The incident's earliest suspicious moment from its reports, anomalies and the exchange's records."""
    now = now or utcnow()
    claims = [Clue(clamp_claim(report.last_legitimate_activity_at, received_at=report.created_at), "report")
              for report in incident.reports]
    claims += [Clue(clamp_claim(event.occurred_at, received_at=event.received_at), "anomaly", event.type)
               for event in incident.anomalies]
    if incident.first_suspicious_at is not None:
        claims.append(Clue(incident.first_suspicious_at, "case_opened"))
    snapshot = latest_account_snapshot(session, incident_id=incident.id)
    changes = [as_security_event(event) for event in (snapshot.security_events if snapshot else [])]
    named = {tx["hash"].lower() for report in incident.reports for tx in report.transactions}
    withdrawals = [(Clue(row.created_at, "withdrawal", f"{row.amount} {row.asset}"),
                    bool(row.tx_hash) and row.tx_hash.lower() in named)
                   for row in pulled_withdrawals(session, incident_id=incident.id)]
    return earliest_clue(
        heard_at=incident.created_at, claims=claims, now=now, withdrawals=withdrawals,
        control_changes=[Clue(event.at, "exchange_event", event.kind) for event in changes
                         if event.at is not None and event.kind in CONTROL_CHANGES],
        look_back=timedelta(days=min(max(look_back_days, 0), MAX_TRUST_DAYS)))
