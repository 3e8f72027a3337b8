"""The account's registered contact has a thread of its own: the links Lockdesk sends to the email and phone the
exchange has on record are bound to no report, so a thief who reported first never shares a thread with the
owner; staff answer that thread with `to: "registered-contact"` (or without `to` when nobody reported).

Every link here is taken from a message the real notification path rendered and sent over SMTP."""
from __future__ import annotations

import uuid

import pytest

from incidents.access import resolve_token
from tests.app.anomaly_support import event
from tests.conversation.conftest import file_report, messages, png, post, upload
from tests.factories import bearer, signed_anomaly
from tests.incidents.review_support import REGISTERED_EMAIL, drain, open_account, sessions_of
from tests.inbox import CASE_LINK, deliver
from tests.web.conftest import csrf_of

CONTACT = "registered-contact"


@pytest.fixture
def settings(settings, inbox):  # noqa: F811
    settings["SMTP_URL"] = f"smtp://127.0.0.1:{inbox[1]}"
    settings["MAIL_FROM"] = "Lockdesk Security <security@lockdesk.test>"
    return settings


def contact_link(app, handler) -> tuple[str, str]:
    """Send the due messages; the case link of the newest mail to the registered email: (incident id, token)."""
    handler.messages.clear()
    deliver(app)
    assert handler.messages and all(mail["To"] == REGISTERED_EMAIL for mail in handler.messages)
    url = CASE_LINK.search(handler.messages[-1].get_content()).group(0)
    return url.split("/i/")[1].split("?")[0], url.split("?t=")[1]


def bodies(client, incident_id: str, headers: dict[str, str]) -> list[str]:
    """The bodies of the messages a token sees, oldest first."""
    return [message["body"] for message in messages(client, incident_id, headers)["items"]]


def thief_first(app, client) -> tuple:
    """R7001's case: a thief reports first, the owner (or anyone) second, each writes in their thread."""
    open_account(app, "R7001")
    thief = file_report(client, "R7001", description="THIEF: I lost access", language="en")
    second = file_report(client, "R7001", description="second report", language="en")
    assert second.incident_id == thief.incident_id and second.report_id != thief.report_id
    drain(app)  # the freeze's follow-ups bring the account's registered contacts
    assert post(client, thief.incident_id, thief.headers, body="thief's words").status_code == 201
    assert post(client, second.incident_id, second.headers, body="second reporter's words").status_code == 201
    return thief, second


def test_a_thief_who_reported_first_never_shares_a_thread_with_the_registered_contact(app, client, inbox, agent_headers):
    handler, _port = inbox
    thief, second = thief_first(app, client)
    incident_id, token = contact_link(app, handler)
    assert incident_id == thief.incident_id
    contact = bearer(token)
    assert bodies(client, incident_id, contact) == []  # neither reporter's thread
    view = client.get(f"/api/v1/incidents/{incident_id}", headers=contact).json
    assert view["report"] is None and view["transactions"] == []  # neither reporter's report

    document = upload(client, incident_id, contact, png())
    assert document.status_code == 201
    file_id = document.json["id"]
    written = post(client, incident_id, contact, body="my passport photo", attachment_ids=[file_id])
    assert written.status_code == 201 and written.json["report_id"] is None
    assert bodies(client, incident_id, contact) == ["my passport photo"]
    assert client.get(f"/api/v1/attachments/{file_id}", headers=contact).status_code == 200
    for reporter in (thief, second):
        assert "my passport photo" not in bodies(client, incident_id, reporter.headers)
        assert client.get(f"/api/v1/attachments/{file_id}", headers=reporter.headers).status_code == 404

    seen = {message["body"]: message["report_id"] for message in messages(client, incident_id, agent_headers)["items"]}
    assert seen == {"thief's words": thief.report_id, "second reporter's words": second.report_id,
                    "my passport photo": None}
    answer = post(client, incident_id, agent_headers, body="Thank you, we are checking it.", to=CONTACT)
    assert answer.status_code == 201, answer.json
    assert answer.json["report_id"] is None and answer.json["awaiting_reply"] is True
    assert bodies(client, incident_id, contact) == ["my passport photo", "Thank you, we are checking it."]
    assert bodies(client, incident_id, thief.headers) == ["thief's words"]
    assert bodies(client, incident_id, second.headers) == ["second reporter's words"]
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=agent_headers).json["status"] == "awaiting_user"

    # The question is told to the registered contact like any other, its link on the same thread.
    asked_id, asked_token = contact_link(app, handler)
    assert asked_id == incident_id and asked_token != token
    assert "question" in handler.messages[-1]["Subject"]
    assert bodies(client, incident_id, bearer(asked_token)) == bodies(client, incident_id, contact)


def test_an_internal_note_and_its_file_stay_hidden_from_the_registered_contact(app, client, inbox, agent_headers):
    handler, _port = inbox
    thief, _second = thief_first(app, client)
    incident_id, token = contact_link(app, handler)
    staff_file = upload(client, incident_id, agent_headers, png()).json["id"]
    note = post(client, incident_id, agent_headers, body="the first reporter looks like the thief", visibility="internal",
                attachment_ids=[staff_file])
    assert note.status_code == 201 and note.json["report_id"] is None
    for headers in (bearer(token), thief.headers):
        assert "the first reporter looks like the thief" not in bodies(client, incident_id, headers)
        assert client.get(f"/api/v1/attachments/{staff_file}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/attachments/{staff_file}", headers=agent_headers).status_code == 200


def test_the_registered_contacts_files_have_a_room_of_their_own(app, client, inbox):
    handler, _port = inbox
    app.config["ATTACHMENT_MAX_PER_INCIDENT"] = 2
    thief, _second = thief_first(app, client)
    assert [upload(client, thief, thief.headers, png()).status_code for _ in range(3)] == [201, 201, 409]
    incident_id, token = contact_link(app, handler)
    contact = bearer(token)
    assert [upload(client, incident_id, contact, png()).status_code for _ in range(3)] == [201, 201, 409]


@pytest.mark.parametrize("asked_from", ["lost-link page", "a reporter's case page"])
def test_a_fresh_link_asked_for_is_bound_to_no_report(app, client, inbox, asked_from):
    handler, _port = inbox
    thief, _second = thief_first(app, client)
    contact_link(app, handler)  # the report's messages are out of the way
    browser = app.test_client()
    if asked_from == "lost-link page":
        form = csrf_of(browser.get("/lost-link").text)
        asked = browser.post("/lost-link", data={"csrf_token": form, "account_id": "R7001"})
    else:  # the thief, on its own page, asks for a fresh link: it goes to the registered contact
        browser.get(f"/i/{thief.incident_id}?t={thief.token}")
        form = csrf_of(browser.get(f"/i/{thief.incident_id}").text)
        asked = browser.post(f"/i/{thief.incident_id}/case-link", data={"csrf_token": form})
    assert asked.status_code == 303
    incident_id, token = contact_link(app, handler)
    assert incident_id == thief.incident_id and "private link" in handler.messages[-1]["Subject"]
    with sessions_of(app)() as session:
        holder = resolve_token(session, token)
    assert holder.kind == "reporter" and holder.report_id is None
    assert bodies(client, incident_id, bearer(token)) == []
    owner = app.test_client()
    owner.get(f"/i/{incident_id}?t={token}")
    page = owner.get(f"/i/{incident_id}").text
    assert "THIEF: I lost access" not in page and "thief&#39;s words" not in page and "thief's words" not in page


def test_a_case_the_risk_engine_opened_is_answered_in_the_registered_contacts_thread(app, client, inbox, agent_headers):
    handler, _port = inbox
    open_account(app, "R7002")
    for number, kind in enumerate(("sim_swap", "two_factor_changed")):
        raw, headers = signed_anomaly(event(f"evt-{number}", account_id="R7002", type_=kind))
        assert client.post("/api/v1/anomalies", data=raw, headers=headers).json["action"] in ("attached", "frozen",
                                                                                               "watch")
    drain(app)
    incident_id, token = contact_link(app, handler)
    contact = bearer(token)
    assert post(client, incident_id, contact, body="Why is my account frozen?").status_code == 201
    answer = post(client, incident_id, agent_headers, body="We saw a SIM swap. Please verify on your case page.")
    assert answer.status_code == 201, answer.json
    assert answer.json["report_id"] is None
    assert bodies(client, incident_id, contact) == ["Why is my account frozen?",
                                                    "We saw a SIM swap. Please verify on your case page."]
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=agent_headers).json["status"] == "awaiting_user"
    named = post(client, incident_id, agent_headers, body="And the withdrawal hash?", to=CONTACT, awaiting_reply=False)
    assert named.status_code == 201 and named.json["report_id"] is None


@pytest.mark.parametrize("to", ["someone", 5, 5.5, True, ["registered-contact"], {"id": "x"}, "Registered-Contact",
                                "registered-contact ", "", "5f0c2a9e7b1d4c3e8a6f9b2d1c0e7a4b",
                                "urn:uuid:5f0c2a9e-7b1d-4c3e-8a6f-9b2d1c0e7a4b"])
def test_a_to_that_names_no_thread_is_refused_naming_to(client, owner, agent_headers, to):
    answer = post(client, owner.incident_id, agent_headers, body="hello", to=to)
    assert answer.status_code == 422 and "to" in answer.json["errors"], answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_report_of_another_case_or_no_report_at_all_is_refused_naming_to(app, client, owner, agent_headers):
    open_account(app, "R7003")
    other = file_report(client, "R7003")
    for to in (other.report_id, str(uuid.uuid4())):
        answer = post(client, owner.incident_id, agent_headers, body="hello", to=to)
        assert answer.status_code == 422 and "to" in answer.json["errors"], to
    assert bodies(client, owner.incident_id, agent_headers) == []  # nothing half-written


def test_staff_may_name_the_registered_contact_and_a_single_reporter_stays_the_default(client, owner, agent_headers):
    to_contact = post(client, owner.incident_id, agent_headers, body="to the registered contact", to=CONTACT)
    assert to_contact.status_code == 201 and to_contact.json["report_id"] is None
    default = post(client, owner.incident_id, agent_headers, body="to the only reporter")
    assert default.status_code == 201 and default.json["report_id"] == owner.report_id
    assert bodies(client, owner.incident_id, owner.headers) == ["to the only reporter"]


def test_a_reporter_naming_a_thread_is_refused_as_staff_only(client, owner):
    for to in (CONTACT, owner.report_id):
        answer = post(client, owner.incident_id, owner.headers, body="hi", to=to)
        assert answer.status_code == 422 and answer.json["errors"]["to"] == ["is for staff only"], to
    assert bodies(client, owner.incident_id, owner.headers) == []
