"""What the page tests (Flask's test client, no browser) share: the report form, the answer page's link, and the
console's sign-in form."""
from __future__ import annotations

import re

from tests.web.conftest import csrf_of


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
