"""The evidence an unfreeze is judged on: what the verification, the outbox, the risk engine and the traces say."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput
from chain import service as chain_service
from incidents.checklist import RECOVERY_EVENT_TYPES, Facts
from incidents.containment import latest_account_snapshot, pulled_withdrawals
from incidents.exchange.wire import parse_time
from incidents.models import AnomalyEvent, ExchangeCommand, Incident
from incidents.suspicion import earliest_suspicious_activity
from verification.models import Verification
from verification.trust import MAX_TRUST_DAYS, earlier_by

TWO_FACTOR_EVENTS = frozenset({"totp_bound", "totp_changed", "totp_reset", "two_factor_changed",
                               "two_factor_disabled"})
# A new authenticator bound (disabling one binds nothing) and a new password: the owner's recovery steps.
REBOUND_EVENTS = TWO_FACTOR_EVENTS - {"two_factor_disabled"}
PASSWORD_EVENTS = frozenset({"password_reset", "password_changed"})


def gather_facts(session: Session, incident: Incident, verification: Verification | None) -> Facts:
    """What the verification, the outbox, the risk engine and the traces say about the case."""
    since = incident.frozen_at or incident.created_at
    done = set(session.scalars(select(ExchangeCommand.action).where(
        ExchangeCommand.incident_id == incident.id, ExchangeCommand.status == "done",
        ExchangeCommand.action.in_(("contain", "revoke_sessions", "revoke_api_keys")))))
    # A done `contain` command revoked both.
    revoked = done | ({"revoke_sessions", "revoke_api_keys"} if "contain" in done else set())
    events = session.execute(select(AnomalyEvent.type, AnomalyEvent.occurred_at).where(
        AnomalyEvent.account_id == incident.account_id, AnomalyEvent.occurred_at > since)).all()
    kinds = {kind for kind, _at in events} | exchange_events_since(session, incident, since)
    return Facts(
        identity_verified=identity_proven(verification),
        sessions_revoked="revoke_sessions" in revoked, api_keys_revoked="revoke_api_keys" in revoked,
        password_reset=bool(kinds & PASSWORD_EVENTS), two_factor_rebound=bool(kinds & REBOUND_EVENTS),
        untraced_hashes=len(untraced_hashes(session, incident)),
        anomalies_since_freeze=tuple(sorted(at for kind, at in events if kind not in RECOVERY_EVENT_TYPES)))


def exchange_events_since(session: Session, incident: Incident, since) -> set[str]:
    """The kinds of security event the exchange's own account data shows after the freeze (its newest description
    of the account): the owner's password reset and new authenticator are evidence, not a staff member's word."""
    snapshot = latest_account_snapshot(session, incident_id=incident.id)
    if snapshot is None or since is None:
        return set()
    return {event["kind"] for event in snapshot.security_events or []
            if (at := parse_time(event.get("at"))) is not None and at > since}


def identity_proven(verification: Verification | None) -> bool:
    """Passed with trusted factors only, or with an officer's approving manual review."""
    if verification is None or verification.status != "passed":
        return False
    return not has_untrusted_factor(verification) or verification.review_decision == "approve"


def has_untrusted_factor(verification: Verification | None) -> bool:
    """Whether any factor of the verification was judged untrusted."""
    return verification is not None and any(not check.trusted for check in verification.factors)


def untraced_hashes(session: Session, incident: Incident) -> set[tuple[str, str]]:
    """Reported and pulled hashes that have no finished trace on this incident."""
    wanted = {(tx["chain"], tx["hash"]) for report in incident.reports for tx in report.transactions}
    wanted |= {(row.chain, row.tx_hash) for row in pulled_withdrawals(session, incident_id=incident.id)
               if row.tx_hash}
    traced = {(trace.chain, trace.tx_hash.lower())
              for trace in chain_service.list_traces(session, incident_id=incident.id) if trace.status == "done"}
    return {(chain, tx_hash) for chain, tx_hash in wanted if (chain, normal_hash(chain, tx_hash)) not in traced}


def normal_hash(chain: str, tx_hash: str) -> str:
    """A hash as traces store it."""
    try:
        return chain_service.normalize_hash(chain, tx_hash).lower()
    except InvalidInput:
        return tx_hash.lower()


def two_factor_rebound(session: Session, incident: Incident, *, trust_days: int) -> bool:
    """Whether 2FA was bound anew around the attack (within the trust window, before the freeze).

    The owner's own rebinding during recovery is a checklist step every unfreeze needs; it does not
    double the hold. A rebinding the thief may have made does.
    """
    first = earliest_suspicious_activity(session, incident, look_back_days=trust_days).at
    since = earlier_by(first, timedelta(days=min(max(trust_days, 0), MAX_TRUST_DAYS)))
    until = incident.frozen_at or incident.created_at
    snapshot = latest_account_snapshot(session, incident_id=incident.id)
    events = snapshot.security_events if snapshot is not None else []
    if any(event["kind"] in TWO_FACTOR_EVENTS and since <= parse_time(event["at"]) <= until for event in events):
        return True
    return session.scalar(select(AnomalyEvent.id).where(
        AnomalyEvent.account_id == incident.account_id, AnomalyEvent.type.in_(TWO_FACTOR_EVENTS),
        AnomalyEvent.occurred_at >= since, AnomalyEvent.occurred_at <= until).limit(1)) is not None
