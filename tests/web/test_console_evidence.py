"""The case page's evidence bundle download (API.md "Handing the case on": staff download it from the case page)."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.factories import exchange_account, report_body
from tests.handoff.support import SIGNING_SEED
from tests.web.pages import sign_in


@pytest.fixture
def settings(settings):
    """The console's settings with this instance's signing key."""
    return {**settings, "SIGNING_KEY": SIGNING_SEED}


def test_staff_download_the_signed_bundle_in_the_language_chosen_on_the_case_page(app, client, agent, clock):
    exchange_account(app, "U1001")
    incident_id = client.post("/api/v1/reports", json=report_body("U1001")).json["incident"]["id"]
    sign_in(client, agent, clock)
    page = client.get(f"/console/incidents/{incident_id}").text
    assert f'action="/console/incidents/{incident_id}/evidence-bundle"' in page and 'value="zh-CN"' in page
    answer = client.get(f"/console/incidents/{incident_id}/evidence-bundle", query_string={"language": "zh-CN"})
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["language"] == "zh-CN" and "case.pdf" in {entry["path"] for entry in manifest["files"]}


def test_the_bundle_download_needs_a_signed_in_staff_member(app, client):
    answer = client.get("/console/incidents/00000000-0000-4000-8000-000000000000/evidence-bundle")
    assert answer.status_code == 303 and "/console/sign-in" in answer.headers["Location"]
