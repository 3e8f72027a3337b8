"""What the page tests (Flask's test client, no browser) share: the report form, the answer page's link, and the
console's sign-in form."""
from __future__ import annotations

import re

from tests.web.conftest import csrf_of, totp_now
import io

from tests.factories import last_sms_code


def report(client, account_id="U1001", language="en", **fields):
    """Fill and send the report form; return the answer page's response."""
    page = client.get("/report", headers={"Accept-Language": language})
    form = {"csrf_token": csrf_of(page.text), "account_id": account_id, "kind": "stolen_account",
            "description": "A withdrawal at 03:12 was not me", "email": "owner@example.com", "phone": "+15550001",
            "tx_chain_0": "ethereum", "tx_hash_0": "0x" + "ab" * 32, **fields}
    return client.post("/report", data=form, headers={"Accept-Language": language})


def incident_of(answer_html: str) -> tuple[str, str]:
    """The incident id and access token in the answer page's link."""
    match = re.search(r"/i/([0-9a-f-]{36})\?t=(ldi_[A-Za-z0-9_-]+)", answer_html)
    return match.group(1), match.group(2)


def sign_in(client, member, clock, code=None):
    """Sign in through the console's form; return the response."""
    form = client.get("/console/sign-in")
    return client.post("/console/sign-in", data={
        "csrf_token": csrf_of(form.text), "name": member.name, "password": member.password,
        "code": code or member.code(clock.now), "next": "/console/"})


def owner_case(app, language="en"):
    """A fresh browser that reports U1001 and lands on its case page; (client, incident id, token)."""
    client = app.test_client()
    sent = report(client, language=language)
    incident_id, token = incident_of(client.get(sent.headers["Location"], headers={"Accept-Language": language}).text)
    client.get(f"/i/{incident_id}?t={token}")
    return client, incident_id


def owner_writes(client, incident_id, body, file=None, language="en"):
    """Send the owner's reply form, with a file if given; the page after the redirect."""
    page = client.get(f"/i/{incident_id}", headers={"Accept-Language": language})
    form = {"csrf_token": csrf_of(page.text), "body": body}
    if file is not None:
        form["file"] = (io.BytesIO(file[1]), file[0])
    sent = client.post(f"/i/{incident_id}/messages", data=form, content_type="multipart/form-data",
                       headers={"Accept-Language": language})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("#conversation")
    return client.get(f"/i/{incident_id}", headers={"Accept-Language": language}).text


def staff_writes(client, incident_id, body, **fields):
    """Send the console's reply form; the console page after the redirect."""
    page = client.get(f"/console/incidents/{incident_id}")
    form = {"csrf_token": csrf_of(page.text), "body": body, "visibility": "public", "awaiting_reply": "1", **fields}
    sent = client.post(f"/console/incidents/{incident_id}/messages", data=form, content_type="multipart/form-data")
    assert sent.status_code == 303
    return client.get(f"/console/incidents/{incident_id}").text


def verify_on_the_page(app, owner, incident_id: str, clock) -> None:
    """Pass the verification through the case page's forms."""
    token = csrf_of(owner.get(f"/i/{incident_id}").text)
    owner.post(f"/i/{incident_id}/verification", data={"csrf_token": token})
    owner.post(f"/i/{incident_id}/verification/totp", data={"csrf_token": token, "code": totp_now(clock.now)})
    owner.post(f"/i/{incident_id}/verification/sms", data={"csrf_token": token})
    owner.post(f"/i/{incident_id}/verification/sms/check", data={"csrf_token": token, "code": last_sms_code(app)})
