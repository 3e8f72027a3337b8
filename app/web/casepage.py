"""What a case page shows, gathered from the domains: the owner's redacted case and the staff's whole one."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casefile import reporter_view, staff_view
from app.web.chain_words import trace_svg
from chain.models import Trace
from chain.service import list_traces
from incidents import audit, ownership, review
from incidents.access import Principal
from incidents.containment import latest_account_snapshot, pulled_withdrawals
from incidents.models import Incident
from incidents.queue import get_incident
from incidents.reopening import ReopenedNote, last_reopening
from incidents.suspicion import Clue, earliest_suspicious_activity
from incidents.take_back import may_take_back
from verification.models import OtpFactor, TotpThrottle, Verification


@dataclass
class TracedTransaction:
    """A transaction named in a report, with its newest trace if there is one."""

    chain: str
    hash: str
    trace: Trace | None = None


@dataclass
class OwnerCase:
    """The owner's case page: the redacted view, the verification and the owner's own transactions."""

    view: dict[str, Any]
    verification: Verification | None
    transactions: list[TracedTransaction]
    unfreeze_request: Any = None
    unfreeze_url: str | None = None
    suspicion: Clue | None = None
    # When the account's authenticator takes codes again after too many wrong ones (None: it is not locked).
    totp_locked_until: datetime | None = None
    # Staff reopened the case after it was closed (None: never, or it ended again since).
    reopened: ReopenedNote | None = None
    # Another link or browser proved ownership; this one has not (yet).
    proven_elsewhere: bool = False
    # This holder may take the report back: they verified, or nobody else is on the case.
    can_take_back: bool = True

    @property
    def is_ended(self) -> bool:
        """Whether the case is over (resolved or closed): no clock runs any more."""
        return self.view["status"] in ("resolved", "closed")

    @property
    def withdrawals_held_until(self) -> datetime | None:
        """When the exchange's hold on withdrawals after the unfreeze ends (None: no unfreeze, or no hold)."""
        request = self.unfreeze_request
        lifted = request is not None and (request.completed_at or request.executed_at)
        if not lifted or not request.withdrawal_cooldown_hours:
            return None
        return lifted + timedelta(hours=request.withdrawal_cooldown_hours)

    @property
    def is_stuck(self) -> bool:
        """A pending verification that can no longer pass: the SMS code was burned by wrong tries."""
        ver = self.verification
        return ver is not None and ver.status == "pending" and any(f.status == "failed" for f in ver.factors)

    @property
    def can_request_unfreeze(self) -> bool:
        """Whether the page offers the unfreeze request (verified owner, frozen account, a review to ask)."""
        verified = self.verification is not None and self.verification.status == "passed"
        return bool(self.unfreeze_url) and verified and self.view["containment"] == "frozen"

    @property
    def can_start_verification(self) -> bool:
        """Whether a (new) verification may be started from the page."""
        open_case = self.view["status"] in ("open", "in_progress", "awaiting_user")
        ended = self.verification is None or self.verification.status in ("failed", "expired")
        return open_case and (ended or self.is_stuck)


@dataclass
class StaffCase:
    """Everything staff see of a case."""

    incident: Incident
    view: dict[str, Any]
    verification: Verification | None
    snapshot: Any
    withdrawals: list[Any]
    traces: list[dict[str, Any]]
    timeline: list[Any]
    unfreeze_request: Any = None
    suspicion: Clue | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _newest_traces(session: Session, incident_id: uuid.UUID) -> dict[tuple[str, str], Trace]:
    """The newest trace of each (chain, hash) of an incident."""
    newest: dict[tuple[str, str], Trace] = {}
    for trace in list_traces(session, incident_id=incident_id):  # newest first
        newest.setdefault((trace.chain, trace.tx_hash.lower()), trace)
    return newest


def owner_case(session: Session, *, incident_id: uuid.UUID, principal: Principal, policy: review.ReviewPolicy,
               unfreeze_url: str | None = None, now: datetime | None = None, trust_days: int = 7) -> OwnerCase:
    """The owner's view of their case: nothing of other reporters, staff notes or other incidents."""
    incident = get_incident(session, incident_id=incident_id)
    view = reporter_view(session, incident, principal)
    traces = _newest_traces(session, incident_id)
    transactions = [TracedTransaction(tx["chain"], tx["hash"], traces.get((tx["chain"], tx["hash"].lower())))
                    for tx in view["transactions"]]
    view = {**view, "outcome": incident.outcome, "closed_at": incident.closed_at, "account_id": incident.account_id}
    proven = ownership.has_proven_ownership(session, incident_id=incident_id, actor=principal.actor)
    suspicion = earliest_suspicious_activity(session, incident, look_back_days=trust_days, now=now) if proven else None
    return OwnerCase(view=view, transactions=transactions, unfreeze_url=unfreeze_url,
                     verification=ownership.own_verification(session, incident_id=incident_id, actor=principal.actor),
                     suspicion=suspicion,
                     unfreeze_request=review.current_request(session, incident_id=incident_id, policy=policy,
                                                             now=now) if proven else None,
                     totp_locked_until=_locked_until(session, incident.account_id, principal.actor, now),
                     reopened=last_reopening(session, incident_id=incident_id) if incident.is_open else None,
                     proven_elsewhere=not proven and ownership.proven_by_another(session, incident_id=incident_id,
                                                                                 actor=principal.actor),
                     can_take_back=may_take_back(session, incident_id=incident_id, actor=principal.actor,
                                                 report_id=principal.report_id))


def _locked_until(session: Session, account_id: str, actor: str, now: datetime | None) -> datetime | None:
    """Until when the account's authenticator refuses this holder's codes (their own run of wrong codes, or the
    account's), if it does now."""
    throttle = session.scalar(select(TotpThrottle.locked_until).where(TotpThrottle.account_id == account_id,
                                                                      TotpThrottle.actor == actor))
    factor = session.scalar(select(OtpFactor.locked_until).where(OtpFactor.owner_kind == "account",
                                                                 OtpFactor.owner_id == account_id))
    ahead = [until for until in (throttle, factor) if until is not None and now is not None and until > now]
    return max(ahead) if ahead else None


def staff_case(session: Session, *, incident_id: uuid.UUID, policy: review.ReviewPolicy,
               now: datetime | None = None, trust_days: int = 7) -> StaffCase:
    """The whole case for the console."""
    incident = get_incident(session, incident_id=incident_id)
    traces = [{"trace": trace, "svg": trace_svg(trace)}
              for trace in list_traces(session, incident_id=incident_id)]
    return StaffCase(
        incident=incident, view=staff_view(session, incident),
        verification=ownership.latest_verification(session, incident_id=incident_id),
        snapshot=latest_account_snapshot(session, incident_id=incident_id),
        withdrawals=pulled_withdrawals(session, incident_id=incident_id), traces=traces,
        timeline=audit.timeline(session, incident_id=incident_id),
        suspicion=earliest_suspicious_activity(session, incident, look_back_days=trust_days, now=now),
        unfreeze_request=review.current_request(session, incident_id=incident_id, policy=policy, now=now))
