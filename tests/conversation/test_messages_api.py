"""The conversation through the API: threads per reporter, staff questions and the owner's answers, the states."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from incidents.models import AuditEvent, Incident
from tests.conversation.conftest import file_report, messages, move_back, post
from tests.factories import make_staff


def test_a_staff_question_waits_for_the_owner_and_the_owner_answer_resumes_the_work(client, owner, agent_headers):
    asked = post(client, owner.incident_id, agent_headers, body="Please send a photo of your ID.")
    assert asked.status_code == 201 and asked.json["awaiting_reply"] is True
    assert asked.json["report_id"] == owner.report_id and asked.json["author"] == "staff"
    assert client.get(f"/api/v1/incidents/{owner.incident_id}", headers=owner.headers).json["status"] == "awaiting_user"
    answered = post(client, owner.incident_id, owner.headers, body="Here it is.")
    assert answered.status_code == 201 and answered.json["author"] == "owner" and answered.json["author_name"] is None
    assert client.get(f"/api/v1/incidents/{owner.incident_id}", headers=owner.headers).json["status"] == "in_progress"


def test_a_reply_that_expects_no_answer_leaves_the_status_alone(client, owner, agent_headers):
    post(client, owner.incident_id, agent_headers, body="We are on it.", awaiting_reply=False)
    assert client.get(f"/api/v1/incidents/{owner.incident_id}", headers=owner.headers).json["status"] == "open"


def test_the_conversation_is_oldest_first_in_cursor_pages(client, owner, agent_headers):
    for number in range(5):
        post(client, owner.incident_id, owner.headers, body=f"message {number}")
    first = messages(client, owner.incident_id, owner.headers, limit=2)
    second = messages(client, owner.incident_id, owner.headers, limit=2, cursor=first["next_cursor"])
    third = messages(client, owner.incident_id, owner.headers, limit=2, cursor=second["next_cursor"])
    bodies = [m["body"] for page in (first, second, third) for m in page["items"]]
    assert bodies == [f"message {number}" for number in range(5)] and third["next_cursor"] is None


def test_a_damaged_cursor_is_a_validation_problem_naming_cursor(client, owner):
    answer = client.get(f"/api/v1/incidents/{owner.incident_id}/messages?cursor=bm9wZQ", headers=owner.headers)
    assert answer.status_code == 422 and "cursor" in answer.json["errors"]


def test_internal_notes_stay_with_staff(client, owner, agent_headers):
    note = post(client, owner.incident_id, agent_headers, body="Owner sounds unsure; check the SIM swap.",
                visibility="internal")
    assert note.status_code == 201 and note.json["awaiting_reply"] is False
    assert messages(client, owner.incident_id, owner.headers)["items"] == []
    assert [m["visibility"] for m in messages(client, owner.incident_id, agent_headers)["items"]] == ["internal"]
    assert client.get(f"/api/v1/incidents/{owner.incident_id}", headers=owner.headers).json["status"] == "open"


def test_staff_only_fields_sent_by_a_reporter_are_refused_naming_each(client, owner):
    for field, value in (("visibility", "internal"), ("awaiting_reply", True), ("to", owner.report_id)):
        answer = post(client, owner.incident_id, owner.headers, body="hi", **{field: value})
        assert answer.status_code == 422 and field in answer.json["errors"], field


def test_a_body_of_4001_characters_or_none_is_refused_naming_body(client, owner):
    for body in ("x" * 4001, ""):
        answer = post(client, owner.incident_id, owner.headers, body=body)
        assert answer.status_code == 422 and "body" in answer.json["errors"]
    assert post(client, owner.incident_id, owner.headers, body="x" * 4000).status_code == 201


def test_each_reporter_has_its_own_thread_and_sees_nothing_of_the_other(client, owner, agent_headers):
    second = file_report(client)
    assert second.incident_id == owner.incident_id
    post(client, owner.incident_id, owner.headers, body="first reporter's words")
    post(client, owner.incident_id, second.headers, body="second reporter's words")
    post(client, owner.incident_id, agent_headers, body="to the first", to=owner.report_id)
    assert [m["body"] for m in messages(client, owner.incident_id, owner.headers)["items"]] == [
        "first reporter's words", "to the first"]
    assert [m["body"] for m in messages(client, owner.incident_id, second.headers)["items"]] == [
        "second reporter's words"]
    assert len(messages(client, owner.incident_id, agent_headers)["items"]) == 3


def test_with_two_reporters_a_staff_reply_must_name_its_thread(client, owner, agent_headers):
    file_report(client)
    answer = post(client, owner.incident_id, agent_headers, body="Which of you?")
    assert answer.status_code == 422 and "to" in answer.json["errors"]


def test_a_thread_of_another_case_is_refused_naming_to(app, client, owner, agent_headers):
    from tests.factories import exchange_account

    exchange_account(app, "U2002")
    other = file_report(client, "U2002")
    answer = post(client, owner.incident_id, agent_headers, body="hello", to=other.report_id)
    assert answer.status_code == 422 and "to" in answer.json["errors"]


def test_another_cases_token_reads_and_writes_nothing_here(app, client, owner):
    from tests.factories import exchange_account

    exchange_account(app, "U2002")
    other = file_report(client, "U2002")
    assert client.get(f"/api/v1/incidents/{owner.incident_id}/messages", headers=other.headers).status_code == 404
    assert post(client, owner.incident_id, other.headers, body="hi").status_code == 404


def test_a_message_on_a_closed_case_is_an_illegal_transition(client, owner, agent_headers):
    client.post(f"/api/v1/incidents/{owner.incident_id}/transitions", headers=agent_headers,
                json={"to": "closed", "reason": "duplicate"})
    for headers in (owner.headers, agent_headers):
        answer = post(client, owner.incident_id, headers, body="anyone?")
        assert answer.status_code == 409 and answer.json["type"] == "/problems/illegal-transition"


def test_an_owner_reply_within_seven_days_of_resolved_reopens_the_case(client, owner, agent_headers):
    client.post(f"/api/v1/incidents/{owner.incident_id}/transitions", headers=agent_headers,
                json={"to": "resolved", "reason": "done"})
    assert post(client, owner.incident_id, owner.headers, body="It happened again").status_code == 201
    case = client.get(f"/api/v1/incidents/{owner.incident_id}", headers=agent_headers).json
    assert case["status"] == "in_progress" and case["closed_at"] is None


def test_an_owner_reply_later_than_seven_days_after_resolved_is_refused(app, client, owner, agent_headers):
    client.post(f"/api/v1/incidents/{owner.incident_id}/transitions", headers=agent_headers,
                json={"to": "resolved", "reason": "done"})
    move_back(app, "closed_at", timedelta(days=8))
    answer = post(client, owner.incident_id, owner.headers, body="It happened again")
    assert answer.status_code == 409 and answer.json["type"] == "/problems/illegal-transition"


def test_every_message_is_an_audit_event_without_its_words(app, client, owner, agent_headers, session):
    post(client, owner.incident_id, agent_headers, body="secret question", awaiting_reply=True)
    post(client, owner.incident_id, owner.headers, body="secret answer")
    post(client, owner.incident_id, agent_headers, body="secret note", visibility="internal")
    events = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "message")
                             .order_by(AuditEvent.id)).all()
    assert [event.action for event in events] == ["message.staff_asked", "message.owner_posted",
                                                  "message.note_added"]
    assert all("secret" not in str(event.data) and len(event.data["body_sha256"]) == 64 for event in events)


def sla_due_at(app):
    """The case's current deadline, read in a session of its own."""
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(Incident.sla_due_at).where(Incident.account_id == "U1001"))


def test_the_wait_pauses_the_sla_clock_and_leaving_it_moves_the_deadline(app, client, owner, agent_headers):
    before = sla_due_at(app)
    post(client, owner.incident_id, agent_headers, body="question")
    move_back(app, "awaiting_since", timedelta(hours=5))
    post(client, owner.incident_id, owner.headers, body="answer")
    after = sla_due_at(app)
    assert timedelta(hours=5) <= after - before < timedelta(hours=5, minutes=1)


def test_reply_templates_are_shipped_in_english_and_chinese_for_staff_only(app, client, owner, agent_headers):
    everything = client.get("/api/v1/reply-templates", headers=agent_headers).json["items"]
    keys = {"id_photo", "police_report", "last_deposit", "withdrawal_hash"}
    for language in ("en", "zh-CN"):
        assert {t["key"] for t in everything if t["language"] == language} == keys
    chinese = client.get("/api/v1/reply-templates?language=zh-CN", headers=agent_headers).json["items"]
    assert all(t["language"] == "zh-CN" for t in chinese) and "工单" in chinese[0]["body"] + chinese[1]["body"]
    assert client.get("/api/v1/reply-templates", headers=owner.headers).status_code == 403
    assert client.get("/api/v1/reply-templates?language=fr", headers=agent_headers).status_code == 422


def test_a_staff_author_is_named(app, client, owner):
    headers = make_staff(app, "agent", name="Mei Lin").headers
    assert post(client, owner.incident_id, headers, body="hello").json["author_name"] == "Mei Lin"


def test_message_bodies_are_encrypted_at_rest(app, client, owner):
    from sqlalchemy import text

    post(client, owner.incident_id, owner.headers, body="passport E1234567")
    with app.extensions["lockdesk"].sessions() as session:
        stored = session.execute(text("SELECT body FROM messages")).scalar_one()
    assert "E1234567" not in stored
    assert messages(client, owner.incident_id, owner.headers)["items"][0]["body"] == "passport E1234567"


def test_an_unknown_parameter_of_the_templates_is_refused_naming_it(client, agent_headers):
    answer = client.get("/api/v1/reply-templates?lang=zh-CN", headers=agent_headers)
    assert answer.status_code == 422 and "lang" in answer.json["errors"]
