"""The checklist's pure rules: evidence first, attestations second, identity never by word of mouth."""
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from incidents.checklist import ITEMS, Attestation, Facts, ItemState, evaluate, evaluate_all, missing
from incidents.review_rules import _apply

T = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ALL_GOOD = Facts(identity_verified=True, sessions_revoked=True, api_keys_revoked=True, password_reset=True,
                 two_factor_rebound=True)


def test_a_case_with_every_fact_in_place_is_complete_without_any_attestation():
    states = evaluate_all(ALL_GOOD, {})
    assert [s.item for s in states] == list(ITEMS) and missing(states) == []
    assert all(s.is_auto for s in states)


def test_identity_cannot_be_attested():
    assert not evaluate("identity_verified", Facts(), Attestation(by="staff:x", at=T)).is_done


def test_an_attestation_settles_what_the_system_cannot_see():
    state = evaluate("password_reset", Facts(), Attestation(by="staff:x", at=T))
    assert state.is_done and not state.is_auto and state.status == "done"


def test_untraced_hashes_keep_the_review_pending():
    assert not evaluate("transactions_reviewed", Facts(untraced_hashes=1)).is_done
    assert evaluate("transactions_reviewed", Facts(untraced_hashes=0)).is_auto


def test_an_anomaly_after_the_attestation_reopens_no_new_anomalies():
    word = Attestation(by="staff:x", at=T)
    assert evaluate("no_new_anomalies", Facts(anomalies_since_freeze=(T - timedelta(minutes=1),)), word).is_done
    assert not evaluate("no_new_anomalies", Facts(anomalies_since_freeze=(T + timedelta(minutes=1),)), word).is_done


def test_an_item_keeps_its_status_but_takes_the_stamps_of_its_new_grounds():
    """Attested, then shown by the system's own evidence: still done, now the system's (no move of the status
    table); evidence gone again: back to the attestation's stamps; both gone: pending, unstamped."""
    attested_at, now = T, T + timedelta(days=1)
    row = SimpleNamespace(status="done", is_auto=False, by="staff:a", at=attested_at, attested_by="staff:a",
                          attested_at=attested_at)
    _apply(row, ItemState("sessions_revoked", is_done=True, is_auto=True), now)
    assert (row.status, row.is_auto, row.by, row.at) == ("done", True, "system", now)
    _apply(row, ItemState("sessions_revoked", is_done=True, is_auto=True), now + timedelta(hours=1))
    assert row.at == now  # judged again on the same grounds: stamped once
    _apply(row, ItemState("sessions_revoked", is_done=True, is_auto=False), now)
    assert (row.status, row.is_auto, row.by, row.at) == ("done", False, "staff:a", attested_at)
    _apply(row, ItemState("sessions_revoked", is_done=False, is_auto=False), now)
    assert (row.status, row.is_auto, row.by, row.at) == ("pending", False, None, None)
