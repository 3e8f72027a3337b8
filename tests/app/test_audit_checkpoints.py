"""Signed checkpoints anchor the audit chain's length and head outside the rows they protect (item 10).

Deleting the newest events, or emptying the table, leaves a chain that recomputes as valid; the checkpoints
make `audit verify` fail then. TRUNCATE is refused like UPDATE and DELETE.
"""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.signing import SigningKey, signature_holds
from incidents import checkpoints
from incidents.audit import seal_all
from incidents.checkpoints import AuditCheckpoint, ChainBroken, signed_part, write_checkpoint
from incidents.models import AuditEvent
from tests.factories import report_body, make_staff


def some_events(client, session, accounts=("A1", "B1")) -> list[int]:
    """Events of a few reports, sealed; their ids in chain order."""
    for account in accounts:
        client.post("/api/v1/reports", json=report_body(account))
    seal_all(session)
    ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.seq)).all()
    session.rollback()  # end the read: on SQLite it would hold off the commands' writes
    return ids


def behind_the_triggers(session, is_postgresql: bool, *statements: str) -> None:
    """Run SQL as someone with full database access could, the append-only triggers bypassed."""
    if is_postgresql:
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for trigger in ("audit_events_no_delete", "audit_checkpoints_no_delete"):
            session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
    for statement in statements:
        session.execute(text(statement))
    session.commit()


def verify(runner, checkpoint_file=None) -> tuple[int, dict]:
    args = ["audit", "verify"] + (["--checkpoint", str(checkpoint_file)] if checkpoint_file else [])
    result = runner.invoke(args=args)
    return result.exit_code, json.loads(result.output)


def test_truncating_the_audit_events_is_refused(client, session, is_postgresql):
    some_events(client, session, ("A1",))
    statement = "TRUNCATE audit_events" if is_postgresql else "DELETE FROM audit_events"
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert session.scalar(select(AuditEvent.id).limit(1)) is not None


def test_checkpoints_themselves_are_append_only(client, runner, session, is_postgresql):
    some_events(client, session, ("A1",))
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    statements = ["UPDATE audit_checkpoints SET seq = 1", "DELETE FROM audit_checkpoints"]
    if is_postgresql:
        statements.append("TRUNCATE audit_checkpoints")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()


def test_verify_fails_when_the_newest_events_were_deleted_after_a_checkpoint(app, client, runner, session,
                                                                           is_postgresql):
    ids = some_events(client, session)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    assert verify(runner)[0] == 0
    behind_the_triggers(session, is_postgresql, f"DELETE FROM audit_events WHERE id >= {ids[-3]}")
    code, output = verify(runner)
    assert code == 1 and output["valid"] is False and output["events"] == len(ids) - 3
    assert "events were removed" in output["problems"][0]
    answer = client.get("/api/v1/audit/verify", headers=make_staff(app, "admin").headers).get_json()
    assert answer["valid"] is False and answer["problems"]


def test_verify_fails_when_every_event_was_removed_after_a_checkpoint(client, runner, session, is_postgresql):
    some_events(client, session)
    runner.invoke(args=["audit", "checkpoint"])
    statement = "TRUNCATE audit_events" if is_postgresql else "DELETE FROM audit_events"
    behind_the_triggers(session, is_postgresql, statement)
    code, output = verify(runner)
    assert code == 1 and output["events"] == 0 and output["valid"] is False


def test_an_exported_checkpoint_catches_a_cut_even_when_the_stored_checkpoints_went_with_it(
        client, runner, session, is_postgresql, tmp_path):
    ids = some_events(client, session)
    exported = tmp_path / "checkpoint.json"
    assert runner.invoke(args=["audit", "checkpoint", "--export", str(exported)]).exit_code == 0
    behind_the_triggers(session, is_postgresql, f"DELETE FROM audit_events WHERE id >= {ids[-2]}",
                        "DELETE FROM audit_checkpoints")
    # With only the database, a cut that also removed every checkpoint cannot be seen: the copy kept off it can.
    assert verify(runner)[0] == 0
    code, output = verify(runner, exported)
    assert code == 1 and "the checkpoint file covers" in output["problems"][0]


def test_a_checkpoint_file_whose_signature_does_not_hold_fails_verify(client, runner, session, tmp_path):
    some_events(client, session)
    exported = tmp_path / "checkpoint.json"
    runner.invoke(args=["audit", "checkpoint", "--export", str(exported)])
    document = json.loads(exported.read_text())
    document["seq"] -= 1
    exported.write_text(json.dumps(document))
    code, output = verify(runner, exported)
    assert code == 1 and output["problems"] == ["the checkpoint file's signature does not hold"]


def test_the_chain_must_hold_the_signed_head_at_the_checkpoints_position(app, client, runner, session,
                                                                        is_postgresql):
    ids = some_events(client, session)
    runner.invoke(args=["audit", "checkpoint"])
    # Replace the whole chain by a shorter consistent one of the same length is not possible without the key;
    # here the last event is deleted and a new one sealed in its place: same length, another head.
    behind_the_triggers(session, is_postgresql, f"DELETE FROM audit_events WHERE id = {ids[-1]}")
    client.post("/api/v1/reports", json=report_body("C1"))
    seal_all(session)
    code, output = verify(runner)
    assert code == 1 and "is not the one signed" in " ".join(output["problems"])


def test_the_api_checks_an_exported_checkpoint_posted_to_it(app, client, runner, session, is_postgresql):
    ids = some_events(client, session)
    document = json.loads(runner.invoke(args=["audit", "checkpoint"]).output)
    admin = make_staff(app, "admin").headers
    assert client.post("/api/v1/audit/verify", json=document, headers=admin).get_json()["valid"] is True
    behind_the_triggers(session, is_postgresql, f"DELETE FROM audit_events WHERE id >= {ids[-1]}",
                        "DELETE FROM audit_checkpoints")
    answer = client.post("/api/v1/audit/verify", json=document, headers=admin).get_json()
    assert answer["valid"] is False and "the checkpoint file covers" in answer["problems"][0]


def test_the_worker_signs_the_head_regularly_and_only_when_it_grew(app, client, session):
    job = app.extensions["lockdesk"].ports.audit_checkpointer
    some_events(client, session, ("A1",))
    job.every_seconds = 0
    assert job() == 1
    assert job() == 0  # nothing new since
    some_events(client, session, ("B1",))
    assert job() == 1
    rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
    assert len(rows) == 2 and rows[-1].seq == session.scalar(select(AuditEvent.seq).order_by(
        AuditEvent.seq.desc()).limit(1))


def test_no_checkpoint_is_signed_over_a_broken_chain(app, client, session, is_postgresql):
    ids = some_events(client, session)
    behind_the_triggers(session, is_postgresql, f"DELETE FROM audit_events WHERE id = {ids[2]}")
    with pytest.raises(ChainBroken):
        write_checkpoint(session, signer=app.extensions["lockdesk"].ports.signing_key)
    session.rollback()
    assert session.scalar(select(AuditCheckpoint.id).limit(1)) is None


def test_the_public_key_route_shows_the_key_that_signs_checkpoints(app, client, runner, session):
    some_events(client, session, ("A1",))
    document = json.loads(runner.invoke(args=["audit", "checkpoint"]).output)
    answer = client.get("/api/v1/instance/public-key")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body == {"key_id": document["key_id"], "algorithm": "ed25519", "public_key": document["public_key"]}
    assert len(base64.b64decode(body["public_key"])) == 32
    from datetime import datetime
    signed = signed_part(document["seq"], document["head"], datetime.fromisoformat(document["created_at"]),
                         document["key_id"])
    assert signature_holds(body["public_key"], signed, document["signature"])
    assert body["key_id"] == SigningKey.from_setting(app.config["SIGNING_KEY"]).key_id


def test_the_demo_generates_a_signing_key_and_a_bad_one_stops_the_start(instance):
    from app.secrets import fill_missing

    config: dict = {}
    fill_missing(config, str(instance))
    assert len(base64.b64decode(config["SIGNING_KEY"])) == 32
    assert json.loads((instance / "secrets.json").read_text())["SIGNING_KEY"] == config["SIGNING_KEY"]
    with pytest.raises(ValueError, match="SIGNING_KEY"):
        SigningKey.from_setting(base64.b64encode(b"short").decode())
    assert checkpoints.read_exported("not json") == {}
