"""The trace's state machine, as data, and the one function that moves a trace."""
from __future__ import annotations

from typing import Any

from kernel.transitions import move
from chain.models import Trace

# queued → running (a worker took it) → done or failed. A trace left running by a dead worker is taken again
# (running → running), and so is a done one whose transaction was still pending (done → running, re-checked).
TRACE_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running"}),
    "running": frozenset({"running", "done", "failed"}),
    "done": frozenset({"running"}),
    "failed": frozenset(),
}
INITIAL = "queued"


def transition(trace: Trace, to: str, **changes: Any) -> None:
    """Move a trace (and set the columns that go with the move); the only assignment of its status."""
    move(trace, TRACE_TRANSITIONS, to, subject="a trace", **changes)
