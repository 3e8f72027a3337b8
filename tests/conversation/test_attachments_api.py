"""Evidence files through the API: what is accepted, what is refused (and never half stored), who may read them."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from incidents.conversation.models import Attachment
from incidents.models import AuditEvent
from tests.conversation.conftest import file_report, jpeg_with_gps, messages, png, post, upload
from tests.factories import exchange_account, seal_audit_events

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")


def stored_blobs(instance: Path) -> list[Path]:
    """The files the `file` store holds."""
    return [path for path in (instance / "attachments").rglob("*") if path.is_file()]


def attachment_rows(app) -> int:
    """How many attachment rows exist."""
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Attachment))


def test_a_png_is_stored_encrypted_and_its_sha256_is_in_the_audit_chain(app, client, owner, instance):
    answer = upload(client, owner, owner.headers, png())
    assert answer.status_code == 201
    body = answer.json
    assert body["content_type"] == "image/png" and body["filename"] == "shot.png"
    downloaded = client.get(f"/api/v1/attachments/{body['id']}", headers=owner.headers)
    assert hashlib.sha256(downloaded.data).hexdigest() == body["sha256"] and len(downloaded.data) == body["size"]
    [blob] = stored_blobs(instance)
    assert blob.read_bytes() != downloaded.data and b"PNG" not in blob.read_bytes()
    seal_audit_events(app)
    with app.extensions["lockdesk"].sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.uploaded"))
    assert event.data["sha256"] == body["sha256"] and event.hash is not None


def test_a_download_is_an_attachment_of_the_sniffed_type_never_sniffed_by_the_browser(client, owner):
    stored = upload(client, owner, owner.headers, png(), name="looks-like.html").json
    answer = client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers)
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_images_are_re_encoded_without_their_exif_and_gps(client, owner):
    original = jpeg_with_gps()
    assert b"SecretCamera" in original
    stored = upload(client, owner, owner.headers, original, name="id.jpg").json
    data = client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).data
    assert b"SecretCamera" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and not image.getexif()


def test_a_polyglot_loses_what_follows_the_image(client, owner):
    stored = upload(client, owner, owner.headers, png() + b"PK\x03\x04<script>alert(1)</script>").json
    data = client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).data
    assert b"<script>" not in data and b"PK\x03\x04" not in data


def test_a_pdf_and_plain_text_are_taken_as_they_are(client, owner):
    pdf = upload(client, owner, owner.headers, MINIMAL_PDF, name="police.pdf").json
    text = upload(client, owner, owner.headers, "交易哈希 0xabc\n".encode(), name="note.txt").json
    assert (pdf["content_type"], text["content_type"]) == ("application/pdf", "text/plain")


@pytest.mark.parametrize("data,name,status,reason", [
    (b"", "empty.png", 422, "empty"),
    (png()[:60], "cut.png", 422, "damaged"),
    (MINIMAL_PDF[:40], "cut.pdf", 422, "damaged"),
    (png(), "../../etc/passwd.png", 422, "name"),
    (png(), "bell\x07.png", 422, "name"),
    (png(), "x" * 1000 + ".png", 422, "name"),
    (b"MZ\x90\x00\x03" + b"\x00" * 200, "invoice.pdf", 415, None),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "photo.png", 415, None),
    (b"GIF89a" + b"\x00" * 50, "anim.gif", 415, None),
    (b"\x00\x01\x02\x03binary", "blob.txt", 415, None),
], ids=["zero-byte", "truncated-png", "truncated-pdf", "path", "control", "1000-chars", "renamed-exe",
        "renamed-elf", "gif", "binary"])
def test_bad_files_are_refused_naming_the_field_and_nothing_is_stored(app, client, owner, instance, data, name,
                                                                     status, reason):
    answer = upload(client, owner, owner.headers, data, name=name)
    assert answer.status_code == status and "file" in answer.json["errors"]
    assert answer.headers["Content-Type"] == "application/problem+json"
    if reason:
        assert answer.json["reason"] == reason
    else:
        assert answer.json["type"] == "/problems/unsupported-media-type" and answer.json["found"] in (
            answer.json["errors"]["file"][0])
    assert stored_blobs(instance) == [] and attachment_rows(app) == 0


def test_a_file_over_the_limit_is_413_and_not_stored(app, settings, client, owner, instance):
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    answer = upload(client, owner, owner.headers, png(200, 200, (1, 2, 3)) + b"\x00" * 2000)
    assert answer.status_code == 413 and answer.json["type"] == "/problems/payload-too-large"
    assert stored_blobs(instance) == [] and attachment_rows(app) == 0


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(app, client, owner, instance):
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    answer = upload(client, owner, owner.headers, b"\x00" * 200_000)
    assert answer.status_code == 413 and stored_blobs(instance) == []


def test_a_request_without_a_file_names_the_field(client, owner):
    answer = client.post(f"/api/v1/incidents/{owner.incident_id}/attachments", headers=owner.headers,
                         data={"other": "x"}, content_type="multipart/form-data")
    assert answer.status_code == 422 and "file" in answer.json["errors"]


def test_a_case_takes_at_most_the_configured_number_of_files(app, client, owner, instance):
    app.config["ATTACHMENT_MAX_PER_INCIDENT"] = 2
    assert [upload(client, owner, owner.headers, png()).status_code for _ in range(2)] == [201, 201]
    answer = upload(client, owner, owner.headers, png())
    assert answer.status_code == 409 and answer.json["type"] == "/problems/conflict"
    assert len(stored_blobs(instance)) == 2


def test_a_second_reporter_cannot_use_up_the_owners_room_for_files(app, client, owner, agent_headers, instance):
    app.config["ATTACHMENT_MAX_PER_INCIDENT"] = 2
    stranger = file_report(client)  # another reporter of the same account, maybe the thief
    assert stranger.incident_id == owner.incident_id
    assert [upload(client, stranger, stranger.headers, png()).status_code for _ in range(3)] == [201, 201, 409]
    assert [upload(client, owner, owner.headers, png()).status_code for _ in range(3)] == [201, 201, 409]
    assert upload(client, owner, agent_headers, png()).status_code == 201  # staff files: their own room
    assert len(stored_blobs(instance)) == 5


def test_the_staffs_files_sent_into_the_owners_thread_do_not_use_up_the_owners_room(app, client, owner,
                                                                                    agent_headers):
    app.config["ATTACHMENT_MAX_PER_INCIDENT"] = 2
    sent = [upload(client, owner, agent_headers, png()).json["id"] for _ in range(2)]
    reply = post(client, owner.incident_id, agent_headers, body="Here is what we found.", attachment_ids=sent,
                 to=owner.report_id)
    assert reply.status_code == 201, reply.json
    assert [upload(client, owner, owner.headers, png()).status_code for _ in range(3)] == [201, 201, 409]
    assert upload(client, owner, agent_headers, png()).status_code == 409  # the staff's own room is full


def test_a_flood_of_uploads_is_rate_limited_per_token(app, client, owner, agent_headers):
    app.config["ATTACHMENT_RATE_LIMIT"] = "3 per minute"
    answers = [upload(client, owner, owner.headers, png()) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    refused = answers[-1]  # API.md: a 429 says when to come back
    assert refused.headers["Content-Type"] == "application/problem+json" and int(refused.headers["Retry-After"]) > 0
    assert upload(client, owner, agent_headers, png()).status_code == 201  # another token, its own count


def test_a_file_goes_with_a_message_and_the_message_shows_it(client, owner, agent_headers):
    stored = upload(client, owner, owner.headers, png()).json
    sent = post(client, owner.incident_id, owner.headers, body="my screenshot", attachment_ids=[stored["id"]])
    assert sent.status_code == 201 and [a["sha256"] for a in sent.json["attachments"]] == [stored["sha256"]]
    [shown] = messages(client, owner.incident_id, agent_headers)["items"]
    assert shown["attachments"][0]["id"] == stored["id"]


def test_attachment_ids_of_another_case_or_already_sent_are_refused_naming_the_field(app, client, owner):
    exchange_account(app, "U2002")
    other = file_report(client, "U2002")
    foreign = upload(client, other, other.headers, png()).json
    answer = post(client, owner.incident_id, owner.headers, body="hi", attachment_ids=[foreign["id"]])
    assert answer.status_code == 422 and "attachment_ids" in answer.json["errors"]
    mine = upload(client, owner, owner.headers, png()).json
    assert post(client, owner.incident_id, owner.headers, body="once", attachment_ids=[mine["id"]]).status_code == 201
    again = post(client, owner.incident_id, owner.headers, body="twice", attachment_ids=[mine["id"]])
    assert again.status_code == 422 and "attachment_ids" in again.json["errors"]
    assert len(messages(client, owner.incident_id, owner.headers)["items"]) == 1


def test_a_second_reporter_can_neither_read_nor_send_the_first_reporters_file(client, owner, agent_headers):
    second = file_report(client)
    stored = upload(client, owner, owner.headers, png()).json
    post(client, owner.incident_id, owner.headers, body="my ID", attachment_ids=[stored["id"]])
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=second.headers).status_code == 404
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=agent_headers).status_code == 200
    theirs = upload(client, owner, owner.headers, png()).json
    answer = post(client, owner.incident_id, second.headers, body="mine now", attachment_ids=[theirs["id"]])
    assert answer.status_code == 422 and "attachment_ids" in answer.json["errors"]


def test_a_staff_file_reaches_only_the_thread_it_was_sent_to(client, owner, agent_headers):
    second = file_report(client)
    stored = upload(client, owner, agent_headers, MINIMAL_PDF, name="form.pdf").json
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).status_code == 404
    post(client, owner.incident_id, agent_headers, body="fill this in", to=owner.report_id,
         attachment_ids=[stored["id"]])
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).status_code == 200
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=second.headers).status_code == 404


def test_a_file_of_an_internal_note_never_reaches_the_reporter(client, owner, agent_headers):
    stored = upload(client, owner, agent_headers, png()).json
    post(client, owner.incident_id, agent_headers, body="note", visibility="internal", to=owner.report_id,
         attachment_ids=[stored["id"]])
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).status_code == 404


def test_another_cases_token_gets_404_for_a_file(app, client, owner):
    exchange_account(app, "U2002")
    other = file_report(client, "U2002")
    stored = upload(client, owner, owner.headers, png()).json
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=other.headers).status_code == 404
    assert upload(client, owner, other.headers, png()).status_code == 404


def test_no_file_is_taken_on_a_closed_case(client, owner, agent_headers, instance):
    client.post(f"/api/v1/incidents/{owner.incident_id}/transitions", headers=agent_headers,
                json={"to": "closed", "reason": "spam"})
    answer = upload(client, owner, owner.headers, png())
    assert answer.status_code == 409 and not (instance / "attachments").exists()


def test_every_read_of_a_file_is_in_the_chain_of_custody(app, client, owner, agent_headers):
    stored = upload(client, owner, owner.headers, png()).json
    client.get(f"/api/v1/attachments/{stored['id']}", headers=agent_headers)
    client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers)
    with app.extensions["lockdesk"].sessions() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "attachment.read")
                                .order_by(AuditEvent.id)).all()
    assert [event.actor.split(":")[0] for event in reads] == ["staff", "reporter"]
    assert all(event.data["sha256"] == stored["sha256"] for event in reads)


def test_the_openapi_document_describes_the_upload_as_multipart(client):
    document = client.get("/api/v1/openapi.json").json
    body = document["paths"]["/api/v1/incidents/{incident_id}/attachments"]["post"]["requestBody"]
    assert body["content"]["multipart/form-data"]["schema"]["required"] == ["file"]


def test_a_case_pdf_written_earlier_does_not_make_a_truncated_image_whole(app, client, owner, instance):
    from PIL import ImageFile

    import weasyprint  # noqa: F401 - what writing an evidence bundle loads: it sets LOAD_TRUNCATED_IMAGES on import

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as WeasyPrint left it (or any other library might)
    answer = upload(client, owner, owner.headers, png()[:60], name="cut.png")
    assert answer.status_code == 422 and answer.json["reason"] == "damaged"
    assert stored_blobs(instance) == [] and attachment_rows(app) == 0
