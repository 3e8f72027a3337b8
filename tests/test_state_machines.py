"""Every status-bearing entity moves only along its table, and nothing else in the product assigns a status.

Each machine keeps its table (allowed from → to) beside its one transition function; the moves are checked by
`kernel.transitions`. The last tests read the product's source: a status (or the incident's containment)
assigned anywhere but in a transition module fails, naming the file and line.
"""
from __future__ import annotations

import ast
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app import idempotency_record
from chain import states as trace_states
from incidents import states as incident_states
from incidents import unfreeze_states
from incidents.handoff import states as handoff_states
from incidents.models import Incident
from incidents.outbox import states as row_states
from kernel.errors import IllegalTransition
from kernel.transitions import allowed, check_move
from verification import states as verification_states

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent


def _incident_mover(machine: str) -> Callable[[Any, str], None]:
    """Move a transient incident with the real `transition` (its audit event goes to a stand-in session)."""
    def mover(row: Any, to: str) -> None:
        incident = Incident(id=uuid.uuid4(), status="open", containment="none", sla_due_at=NOW,
                            awaiting_since=NOW, reminders_sent=0)
        setattr(incident, machine, row.status)
        session = SimpleNamespace(in_transaction=lambda: True, info={})
        incident_states.transition(session, incident, machine=machine, to=to, actor="test", now=NOW)
        row.status = getattr(incident, machine)
        assert session.info["lockdesk.audit.pending"][0]["data"]["to"] == to
    return mover


# name → (table, the machine's transition function applied to a row whose `status` is the current state)
MACHINES: dict[str, tuple[dict[str, frozenset[str]], Callable[[Any, str], None]]] = {
    "incident status": (incident_states.INCIDENT_TRANSITIONS, _incident_mover("status")),
    "incident containment": (incident_states.CONTAINMENT_TRANSITIONS, _incident_mover("containment")),
    "outbox row": (row_states.ROW_TRANSITIONS, row_states.transition),
    "unfreeze request": (unfreeze_states.REQUEST_TRANSITIONS, unfreeze_states.transition_request),
    "checklist item": (unfreeze_states.ITEM_TRANSITIONS, unfreeze_states.transition_item),
    "sent freeze request": (handoff_states.SENT_TRANSITIONS, handoff_states.transition_sent),
    "received freeze request": (handoff_states.RECEIVED_TRANSITIONS, handoff_states.transition_received),
    "peer hold": (handoff_states.HOLD_TRANSITIONS, handoff_states.transition_hold),
    "verification": (verification_states.TRANSITIONS, verification_states.transition_verification),
    "factor check": (verification_states.FACTOR_TRANSITIONS, verification_states.transition_factor),
    "trace": (trace_states.TRACE_TRANSITIONS, trace_states.transition),
    "idempotency record": (idempotency_record.RECORD_TRANSITIONS, idempotency_record.transition),
}

INITIAL_STATES = {
    "incident status": [incident_states.INITIAL["status"]],
    "incident containment": [incident_states.INITIAL["containment"]],
    "outbox row": [row_states.INITIAL],
    "unfreeze request": [unfreeze_states.REQUEST_INITIAL],
    "checklist item": [unfreeze_states.ITEM_INITIAL],
    "sent freeze request": [handoff_states.SENT_INITIAL],
    "received freeze request": [handoff_states.RECEIVED_ACKNOWLEDGED, handoff_states.RECEIVED_DECLINED],
    "peer hold": [handoff_states.HOLD_INITIAL],
    "verification": [verification_states.INITIAL, verification_states.INITIAL_FOR_REVIEW],
    "factor check": [verification_states.FACTOR_INITIAL],
    "trace": [trace_states.INITIAL],
    "idempotency record": [idempotency_record.INITIAL],
}


def _moves(table: dict[str, frozenset[str]], *, listed: bool) -> list[tuple[str, str]]:
    """Every move the table lists (or every one between its states it does not)."""
    return [(current, to) for current in table for to in sorted(table)
            if (to in table[current]) is listed]


def _row(current: str) -> SimpleNamespace:
    """A row in `current`, with the columns the moves read."""
    return SimpleNamespace(status=current, kind="sms", marker="untouched")


ALLOWED = [(name, current, to) for name, (table, _) in MACHINES.items()
           for current, to in _moves(table, listed=True)]
ILLEGAL = [(name, current, to) for name, (table, _) in MACHINES.items()
           for current, to in _moves(table, listed=False)]


@pytest.mark.parametrize("name,current,to", ALLOWED)
def test_every_listed_move_passes(name, current, to):
    row = _row(current)
    MACHINES[name][1](row, to)
    assert row.status == to


@pytest.mark.parametrize("name,current,to", ILLEGAL)
def test_every_unlisted_move_is_refused_and_changes_nothing(name, current, to):
    row = _row(current)
    with pytest.raises(IllegalTransition) as refused:
        MACHINES[name][1](row, to)
    assert (row.status, row.marker) == (current, "untouched")
    assert refused.value.status == 409 and refused.value.extra == {
        "current": current, "allowed": sorted(MACHINES[name][0][current])}


@pytest.mark.parametrize("name,current,to", [
    ("incident status", "closed", "in_progress"), ("incident containment", "none", "frozen"),
    ("outbox row", "done", "pending"), ("unfreeze request", "pending", "executing"),
    ("sent freeze request", "held", "acknowledged"), ("received freeze request", "declined", "held"),
    ("peer hold", "released", "holding"), ("verification", "expired", "passed"),
    ("factor check", "failed", "passed"), ("trace", "failed", "running"), ("idempotency record", "done", "in_flight"),
])
def test_the_moves_that_matter_most_are_refused(name, current, to):
    with pytest.raises(IllegalTransition):
        MACHINES[name][1](_row(current), to)


@pytest.mark.parametrize("name", MACHINES)
def test_every_state_named_in_a_table_is_one_of_its_states_and_it_starts_in_one(name):
    table = MACHINES[name][0]
    assert set().union(*table.values()) <= set(table)
    assert set(INITIAL_STATES[name]) <= set(table)


def test_an_unknown_state_is_refused_with_nothing_reachable():
    with pytest.raises(IllegalTransition) as refused:
        trace_states.transition(_row("lost"), "running")
    assert refused.value.extra == {"current": "lost", "allowed": []}
    assert allowed({"a": frozenset({"c", "b"})}, "a") == ["b", "c"]


def test_the_details_keep_the_words_the_pages_read():
    """The owner's and staff's pages turn these sentences into their own words (app/web/refusals.py)."""
    cases = [(lambda: unfreeze_states.transition_request(_row("completed"), "approved"),
              "an unfreeze request cannot go from completed to approved"),
             (lambda: verification_states.transition_verification(_row("passed"), "failed"),
              "a passed verification cannot become failed"),
             (lambda: row_states.moved("done", "in_flight"), "an outbox row cannot go from done to in_flight"),
             (lambda: check_move(incident_states.CONTAINMENT_TRANSITIONS, "none", "frozen", subject="containment"),
              "containment cannot go from none to frozen")]
    for move, detail in cases:
        with pytest.raises(IllegalTransition) as refused:
            move()
        assert refused.value.detail == detail


def test_the_reopening_statement_takes_only_the_one_door_back():
    statement = incident_states.reopen_statement(uuid.uuid4(), to="in_progress", now=NOW, outcome=None)
    params = statement.compile().params
    assert (params["status"], params["closed_at"], params["status_1"]) == ("in_progress", None, "closed")
    assert {"updated_at", "outcome"} <= set(params)
    for to in sorted(set(incident_states.INCIDENT_TRANSITIONS) - {"in_progress"}):
        with pytest.raises(IllegalTransition):
            incident_states.reopen_statement(uuid.uuid4(), to=to, now=NOW)


def test_a_peer_update_is_news_only_when_it_moves_the_request_forward():
    assert handoff_states.is_news(_row("sent"), "held")
    assert not handoff_states.is_news(_row("held"), "acknowledged")
    assert not handoff_states.is_news(_row("held"), "declined")
    assert not handoff_states.is_news(_row("released"), "released")


# --- nothing else assigns a status -----------------------------------------------------------------------

PRODUCT_PACKAGES = ("app", "incidents", "verification", "chain", "kernel")  # exchange_sim: the simulated
# exchange's own back office, not one of the product's machines
TRANSITION_MODULES = frozenset({
    "kernel/transitions.py", "incidents/states.py", "incidents/outbox/states.py", "incidents/unfreeze_states.py",
    "incidents/handoff/states.py", "verification/states.py", "chain/states.py", "app/idempotency_record.py"})
STATE_COLUMNS = frozenset({"status", "containment"})
# Assignments that are no entity's move, by file and target. The anomaly batch plans a new incident's
# containment on its own record before inserting it in that state; `states.opened_moved` then checks the move.
NOT_ENTITIES = frozenset({("incidents/anomaly_batch.py", "case.containment")})


def _is_update(node: ast.AST) -> bool:
    """Whether a `.values(...)` call's receiver is built on an UPDATE (`update(t)…`, `t.update()…`)."""
    while isinstance(node, (ast.Call, ast.Attribute)):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "update") or \
                    (isinstance(func, ast.Attribute) and func.attr == "update"):
                return True
            node = func
        else:
            node = node.value
    return False


def _sets_a_state(call: ast.Call) -> bool:
    """Whether an UPDATE's `.values(...)` names a state column (by keyword or in a dict literal)."""
    keys = {keyword.arg for keyword in call.keywords}
    keys |= {key.value for arg in call.args if isinstance(arg, ast.Dict) for key in arg.keys
             if isinstance(key, ast.Constant)}
    return bool(keys & STATE_COLUMNS)


def direct_moves(source: str) -> list[tuple[int, str]]:
    """(line, target) of every status or containment assignment in `source`: attribute assignments (alone or
    in a tuple), `setattr` with the column's name, and Core UPDATEs whose values name it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in (item for t in targets for item in (t.elts if isinstance(t, ast.Tuple) else [t])):
            if isinstance(target, ast.Attribute) and target.attr in STATE_COLUMNS:
                found.append((node.lineno, ast.unparse(target)))
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) > 1 and \
                    isinstance(node.args[1], ast.Constant) and node.args[1].value in STATE_COLUMNS:
                found.append((node.lineno, ast.unparse(node)))
            if isinstance(func, ast.Attribute) and func.attr == "values" and _is_update(func.value) \
                    and _sets_a_state(node):
                found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_the_scan_finds_each_way_of_assigning_a_status():
    """The guard below can fail: each form of direct assignment is found, and the legal forms are not."""
    source = '''
request.status = "approved"
hold.status, hold.held_at = "held", now
incident.containment = "frozen"
setattr(trace, "status", "done")
session.execute(update(Incident).where(Incident.id == 1).values(status="closed"))
session.execute(TABLE.update().where(TABLE.c.id == 1).values({"status": "done"}))
Trace(status=INITIAL, chain="ethereum")
session.execute(insert(TABLE).values(status="pending"))
ready = trace.status == "done"
update(TABLE).values(attempts=1)
body = {"status": "held"}
'''
    assert [line for line, _ in direct_moves(source)] == [2, 3, 4, 5, 6, 7]


def test_no_product_code_assigns_a_status_outside_the_transition_modules():
    offences = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in TRANSITION_MODULES:
                continue
            offences += [f"{name}:{line}: {target}" for line, target in direct_moves(path.read_text())
                         if (name, target) not in NOT_ENTITIES]
    assert not offences, "a status is assigned outside its transition module (move it through the " \
                         "machine's transition function):\n" + "\n".join(offences)


def test_the_transition_modules_and_exemptions_still_exist():
    """A renamed module would silently widen nothing, but a stale exemption would hide a new assignment."""
    assert all((ROOT / name).is_file() for name in TRANSITION_MODULES)
    for name, target in NOT_ENTITIES:
        assert target in {found for _, found in direct_moves((ROOT / name).read_text())}
