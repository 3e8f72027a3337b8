"""The two state machines are data; only listed moves are legal."""
import pytest

from incidents.states import CONTAINMENT_TRANSITIONS, INCIDENT_TRANSITIONS, can_transition


def test_the_ticket_follows_open_in_progress_awaiting_user_resolved():
    path = ["open", "in_progress", "awaiting_user", "in_progress", "resolved"]
    assert all(can_transition("status", a, b) for a, b in zip(path, path[1:]))


def test_closed_tickets_never_move_again():
    assert not any(can_transition("status", "closed", target) for target in INCIDENT_TRANSITIONS)


def test_a_resolved_ticket_only_reopens_to_in_progress():
    assert [target for target in INCIDENT_TRANSITIONS if can_transition("status", "resolved", target)] == [
        "in_progress"]


def test_containment_goes_none_pending_frozen_unfreeze_pending_unfrozen():
    path = ["none", "freeze_pending", "frozen", "unfreeze_pending", "unfrozen"]
    assert all(can_transition("containment", a, b) for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("current,target", [("none", "frozen"), ("none", "unfrozen"), ("frozen", "unfrozen"),
                                            ("freeze_pending", "unfreeze_pending")])
def test_containment_cannot_skip_a_step(current, target):
    assert not can_transition("containment", current, target)


def test_every_target_named_in_a_table_is_itself_a_state():
    for table in (INCIDENT_TRANSITIONS, CONTAINMENT_TRANSITIONS):
        assert set().union(*table.values()) <= set(table)


def test_an_incident_opened_in_a_state_is_audited_only_for_a_move_the_table_lists():
    """`opened_moved` vouches for none → freeze_pending, never for a skipped step or a state the row lacks."""
    import uuid
    from types import SimpleNamespace

    from incidents.models import Incident
    from incidents.states import IllegalTransition, opened_moved

    session = SimpleNamespace(in_transaction=lambda: True, info={})  # all `audit.record` touches
    skipped = Incident(id=uuid.uuid4(), containment="frozen")
    with pytest.raises(IllegalTransition):
        opened_moved(session, skipped, machine="containment", to="frozen", actor="test")
    mismatched = Incident(id=uuid.uuid4(), containment="none")
    with pytest.raises(IllegalTransition):
        opened_moved(session, mismatched, machine="containment", to="freeze_pending", actor="test")
    assert not session.info
    opened = Incident(id=uuid.uuid4(), containment="freeze_pending")
    opened_moved(session, opened, machine="containment", to="freeze_pending", actor="test")
    assert [row["data"] for row in session.info["lockdesk.audit.pending"]] == [
        {"from": "none", "to": "freeze_pending", "reason": None}]
