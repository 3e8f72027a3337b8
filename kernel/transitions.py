"""Checking a move against a state machine's table, shared by every machine of the project.

A table maps each state to the states that may follow it (`{"pending": frozenset({"done"}), "done":
frozenset()}`); each machine keeps its own table beside its one `transition` function, which calls `move`
(an entity) or `check_move` (a Core statement built by the caller).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.errors import IllegalTransition

Table = Mapping[str, frozenset[str]]

DEFAULT_DETAIL = "{subject} cannot go from {current} to {to}"


def can_move(table: Table, current: str, to: str) -> bool:
    """Whether the table lists current → to."""
    return to in table.get(current, frozenset())


def allowed(table: Table, current: str) -> list[str]:
    """The states the table lets follow `current`, sorted."""
    return sorted(table.get(current, ()))


def check_move(table: Table, current: str, to: str, *, subject: str, detail: str = DEFAULT_DETAIL) -> None:
    """Refuse a move the table does not list: IllegalTransition (409) naming the state now and the states
    reachable from it. `detail` is formatted with `subject`, `current` and `to`."""
    if not can_move(table, current, to):
        raise IllegalTransition(detail.format(subject=subject, current=current, to=to), current=current,
                                allowed=allowed(table, current))


def move(row: Any, table: Table, to: str, *, subject: str, detail: str = DEFAULT_DETAIL, **changes: Any) -> None:
    """Move `row.status` by a listed move and set the columns that go with it; an unlisted move is refused
    before anything is set."""
    check_move(table, row.status, to, subject=subject, detail=detail)
    row.status = to
    for column, value in changes.items():
        setattr(row, column, value)
