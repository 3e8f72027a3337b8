"""The freeze fast path after commit: dispatch at once, wait a bounded time, leave the rest to the worker."""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import runtime
from incidents.dispatch import Claim
from incidents.models import ExchangeCommand, Incident


def freeze_claimer() -> Callable[[ExchangeCommand], Claim] | None:
    """What lets intake take its new freeze in its own transaction (None without a dispatcher)."""
    dispatcher = runtime().ports.get("dispatcher")
    return dispatcher.claim_new if dispatcher is not None else None


def dispatch_after_commit(incident: Incident | None, command: ExchangeCommand | None,
                          claim: Claim | None = None) -> None:
    """Send a just-committed freeze now; the answer then reads `frozen` if the exchange confirmed in time.

    With `claim` (taken when the command was written) the command runs at once; without, it is
    claimed first. The caller must hold no open transaction: on SQLite it would keep the write lock
    the exchange outcome needs while we wait for it.
    """
    dispatcher = runtime().ports.get("dispatcher")
    if command is None or dispatcher is None:
        return
    timeout = current_app.config["FREEZE_WAIT_MS"] / 1000
    if claim is not None:
        outcome = dispatcher.run_claimed(claim, timeout=timeout)
    else:
        outcome = dispatcher.dispatch_now(command.id, timeout=timeout)
    if incident is not None and outcome is not None and outcome.containment:
        # What the outcome's own transaction committed; no need to read the incident again.
        set_committed_value(incident, "containment", outcome.containment)
