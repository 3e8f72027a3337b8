"""The freeze fast path after commit: dispatch at once, wait a bounded time, leave the rest to the worker."""
from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, g
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import get_session, runtime
from app.observability import REPORTS
from incidents import repudiation
from incidents.anomalies import AnomalyOutcome
from incidents.intake import IntakeResult, ReportInput, submit_report
from incidents.models import ExchangeCommand, Incident
from incidents.outbox.calls import Claim
from incidents.outbox.lease import Lease
from incidents.reopening import Reopening, reopen_case
from incidents.repudiation import RepudiationResult


def file_report(data: dict[str, Any], *, client_address: str | None) -> IntakeResult:
    """File a validated report (the API's body or the page's form): stored with its freeze claimed in the
    same transaction, the freeze sent right after the commit, the report counted."""
    report = ReportInput(**{key: value for key, value in data.items() if key != "loss_usd"},
                         reported_loss=data.get("loss_usd"), client_address=client_address)
    result = submit_report(get_session(), report=report, sla_hours=current_app.config["SLA_HOURS"],
                           claim_freeze=freeze_claimer())
    dispatch_after_commit(result.incident, result.freeze_command, result.freeze_claim)
    REPORTS.labels("attached" if result.attached else "opened").inc()
    return result


def reopen(incident_id: uuid.UUID, *, reason: str, actor: str) -> Reopening:
    """Reopen a closed case (the API's route and the console's button alike): reopened and committed, a freeze it
    asked for sent right after the commit, and the case read again for the exchange's answer (a 404 closes it
    again). A blank or over-long reason is refused (InvalidInput on `reason`)."""
    result = reopen_case(get_session(), incident_id=incident_id, reason=reason, actor=actor,
                         sla_hours=current_app.config["SLA_HOURS"])
    dispatch_after_commit(result.incident, result.freeze_command)
    get_session().refresh(result.incident)  # the exchange's answer, written in the dispatcher's own transaction
    return result


def file_repudiation(token: str, *, client_address: str | None) -> RepudiationResult:
    """Use an owner's "this wasn't me" link (the page's or the API's): the link used, the report filed with
    its freeze claimed in the same transaction, the freeze sent right after the commit."""
    result = repudiation.repudiate(get_session(), token=token, key=current_app.config["SECRET_KEY"],
                                   client_address=client_address, sla_hours=current_app.config["SLA_HOURS"],
                                   claim_freeze=freeze_claimer())
    dispatch_after_commit(result.intake.incident, result.intake.freeze_command, result.intake.freeze_claim)
    return result


def freeze_claimer() -> Lease | None:
    """The lease under which intake writes its new freeze already claimed, in its own transaction (None without
    a dispatcher, or when FREEZE_WAIT_MS=0 leaves every freeze to the workers)."""
    dispatcher = runtime().ports.dispatcher
    if dispatcher is None or current_app.config["FREEZE_WAIT_MS"] <= 0:
        return None
    return dispatcher.lease


def _end_read_transaction() -> None:
    """End the request session's open transaction, which after the caller's commit holds only reads
    (objects stay loaded: sessions do not expire on commit); unwritten changes are a caller's bug."""
    session = g.get("db_session")
    if session is None or not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a freeze is sent after the commit: the caller's changes must be committed first")
    session.commit()


def send_batch_after_commit(outcomes: list[AnomalyOutcome]) -> None:
    """Hand a batch webhook's just-committed freezes to this process's dispatcher: those written already claimed
    (`freeze_claimer`) are sent at once in freeze batches, in the background (the answer does not wait for
    them), the workers woken for the follow-ups once each batch is recorded; unclaimed ones (FREEZE_WAIT_MS=0)
    are the workers', woken now."""
    dispatcher = runtime().ports.dispatcher
    if dispatcher is None or not any(outcome.action == "frozen" and not outcome.duplicate for outcome in outcomes):
        return
    _end_read_transaction()
    claims = [outcome.freeze_claim for outcome in outcomes if outcome.freeze_claim is not None]
    if claims:
        dispatcher.send_claimed(claims)
    else:
        dispatcher.wake()


def dispatch_after_commit(incident: Incident | None, command: ExchangeCommand | None,
                          claim: Claim | None = None) -> None:
    """Send a just-committed freeze now; the answer then reads `frozen` if the exchange confirmed in time.

    With `claim` (taken when the command was written) the command runs at once; without, it is
    claimed first. The caller has committed its writes; a read it made since is ended here, because an
    open transaction on SQLite keeps the write lock the claim and the outcome need while we wait.
    """
    dispatcher = runtime().ports.dispatcher
    if command is None or dispatcher is None:
        return
    _end_read_transaction()
    timeout = current_app.config["FREEZE_WAIT_MS"] / 1000
    if timeout <= 0:  # the workers (Celery or `flask worker`) run it: wake them, answer freeze_pending
        dispatcher.wake()
        return
    if claim is not None:
        outcome = dispatcher.run_claimed(claim, timeout=timeout)
    else:
        outcome = dispatcher.dispatch_now(command.id, timeout=timeout)
    if incident is not None and outcome is not None and outcome.containment:
        # What the outcome's own transaction committed; no need to read the incident again.
        set_committed_value(incident, "containment", outcome.containment)
