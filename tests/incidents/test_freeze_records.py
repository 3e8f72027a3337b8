"""The one recorder of confirmed freezes writes only what its claims still hold: a claim whose lease passed to
another worker is left alone (that worker records it, so no freeze is recorded twice), and an incident frozen
meanwhile is not moved again."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update

from app.db import utcnow
from incidents.exchange.port import StateChange
from incidents.models import AuditEvent, ExchangeCommand, Incident
from incidents.outbox.calls import CallResult
from incidents.outbox.exchange import claim_due
from incidents.outbox.freeze_records import record_confirmed_freezes
from incidents.outbox.lease import DispatchPolicy
from tests.incidents.exchange_peer import open_account
from tests.incidents.outbox_support import flag

POLICY = DispatchPolicy(lease_seconds=60.0, backoff_base_seconds=0.01, backoff_cap_seconds=0.05)


def confirmed(account_id: str) -> CallResult:
    """The exchange's answer to a freeze it carried out."""
    return CallResult("done", answer=StateChange(account_id, "frozen", datetime.now(UTC)))


def test_a_lost_claim_is_left_alone_and_a_frozen_incident_is_not_moved_again(session):
    for account in ("R1", "R2", "R3"):
        open_account(session, account)
    session.commit()
    flag(session, ["R1", "R2", "R3"])
    session.commit()
    claims = {claim.account_id: claim for claim in claim_due(session, worker="w1", policy=POLICY)
              if claim.action == "freeze"}
    assert set(claims) == {"R1", "R2", "R3"}
    # R2's lease passed to another worker, which holds the command under a token of its own
    session.execute(update(ExchangeCommand).where(ExchangeCommand.id == claims["R2"].command_id)
                    .values(claim_token="another-workers-token"))
    # R3's incident was frozen meanwhile (say by a freeze an agent asked for)
    session.execute(update(Incident).where(Incident.id == claims["R3"].incident_id).values(containment="frozen"))
    session.commit()

    recorded = record_confirmed_freezes(session, [(claims[a], confirmed(a)) for a in ("R1", "R2", "R3")],
                                        now=utcnow())

    assert recorded[claims["R1"].command_id][:2] == ("done", "frozen")
    assert recorded[claims["R2"].command_id] == ("stale", None, None)
    assert recorded[claims["R3"].command_id] == ("done", "frozen", None)  # done, but no second move
    status = dict(session.execute(select(ExchangeCommand.account_id, ExchangeCommand.status)
                                  .where(ExchangeCommand.action == "freeze")).all())
    assert status == {"R1": "done", "R2": "in_flight", "R3": "done"}
    moves = dict(session.execute(select(AuditEvent.incident_id, func.count())
                                 .where(AuditEvent.action == "incident.containment.frozen")
                                 .group_by(AuditEvent.incident_id)).all())
    assert moves.get(claims["R1"].incident_id) == 1
    assert claims["R2"].incident_id not in moves and claims["R3"].incident_id not in moves
