"""The two state machines are data; only listed moves are legal."""
import pytest

from incidents.states import CONTAINMENT_TRANSITIONS, INCIDENT_TRANSITIONS, can_transition


def test_the_ticket_follows_open_in_progress_awaiting_user_resolved():
    path = ["open", "in_progress", "awaiting_user", "in_progress", "resolved"]
    assert all(can_transition("status", a, b) for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("terminal", ["resolved", "closed"])
def test_resolved_and_closed_tickets_never_move_again(terminal):
    assert not any(can_transition("status", terminal, target) for target in INCIDENT_TRANSITIONS)


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
