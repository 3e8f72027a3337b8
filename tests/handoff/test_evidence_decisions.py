"""The case PDF of a reviewed case names each officer's decision and reason, and carries no secret."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.factories import last_sms_code, make_staff, OWNER_TOTP_SECRET
from tests.handoff.support import members
from tests.incidents.review_support import (
    attest_remaining,
    decide,
    frozen_case,
    pass_verification,
    raise_request,
)


@pytest.fixture
def reviewed(app):
    """A high-loss case the owner proved, an agent attested, and two named officers approved."""
    case = frozen_case(app, "R2001", loss="50000")
    pass_verification(app, case)
    request = raise_request(app, case)
    assert request.approvals_required == 2
    attest_remaining(app, request.id, make_staff(app, "agent"))
    decide(app, request.id, make_staff(app, "risk_officer", "officer-hu"), reason="ID photo matches the KYC file")
    decide(app, request.id, make_staff(app, "risk_officer", "officer-lin"), reason="withdrawal traced, owner called")
    return case


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_case_pdf_names_both_officers_with_their_decisions_and_no_secret(app, client, reviewed, language):
    answer = client.get(f"/api/v1/incidents/{reviewed.incident_id}/evidence-bundle",
                        headers=make_staff(app, "agent").headers, query_string={"language": language})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    files = members(answer.data)
    pages = PdfReader(io.BytesIO(files["case.pdf"])).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())  # table cells wrap their lines
    for words in ("officer-hu", "ID photo matches the KYC file", "officer-lin", "withdrawal traced, owner called"):
        assert words in text, words
    secrets = (OWNER_TOTP_SECRET, reviewed.access_token, last_sms_code(app))
    for name, content in files.items():
        for secret in secrets:
            # Whole words only: a six-digit SMS code can turn up by chance inside a hash's hex digits.
            assert not re.search(rb"(?<![0-9A-Za-z])" + re.escape(secret.encode()) + rb"(?![0-9A-Za-z])", content), (
                name, secret)
    assert not any(re.search(r"(?<![0-9A-Za-z])" + re.escape(secret) + r"(?![0-9A-Za-z])", text)
                   for secret in secrets)
