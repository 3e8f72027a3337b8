"""Fixtures of the conversation tests: reported cases, staff, files of every kind."""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image

from tests.factories import bearer, exchange_account, report_body, make_staff


@dataclass(frozen=True)
class Reported:
    """A reporter's view of its case: the incident, its token and its report (its thread)."""

    incident_id: str
    token: str
    report_id: str

    @property
    def headers(self) -> dict[str, str]:
        """The reporter's Authorization header."""
        return bearer(self.token)


def file_report(client, account_id: str = "U1001", **overrides) -> Reported:
    """Report an account through the API; a second report joins the open case."""
    answer = client.post("/api/v1/reports", json=report_body(account_id, **overrides))
    assert answer.status_code in (200, 201), answer.json
    incident_id, token = answer.json["incident"]["id"], answer.json["access_token"]
    own = client.get(f"/api/v1/incidents/{incident_id}", headers=bearer(token)).json
    return Reported(incident_id=incident_id, token=token, report_id=own["report"]["id"])


@pytest.fixture
def owner(app, client) -> Reported:
    """The first reporter of U1001's case (the account at the exchange, frozen by the report)."""
    exchange_account(app, "U1001")
    return file_report(client)


@pytest.fixture
def agent_headers(app) -> dict[str, str]:
    """An agent's Authorization header."""
    return make_staff(app, "agent").headers


def png(width: int = 40, height: int = 30, color=(200, 30, 30)) -> bytes:
    """A small PNG."""
    output = io.BytesIO()
    Image.new("RGB", (width, height), color).save(output, format="PNG")
    return output.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(output, format="JPEG", exif=exif.tobytes())
    return output.getvalue()


def upload(client, reported_or_id, headers: dict[str, str], data: bytes, name: str = "shot.png"):
    """POST one file to a case's attachments."""
    incident_id = getattr(reported_or_id, "incident_id", reported_or_id)
    return client.post(f"/api/v1/incidents/{incident_id}/attachments", headers=headers,
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def post(client, incident_id: str, headers: dict[str, str], **body):
    """POST a message."""
    return client.post(f"/api/v1/incidents/{incident_id}/messages", headers=headers, json=body)


def messages(client, incident_id: str, headers: dict[str, str], **query) -> dict:
    """GET the conversation."""
    return client.get(f"/api/v1/incidents/{incident_id}/messages", headers=headers, query_string=query).json


def move_back(app, column: str, delta, account_id: str = "U1001") -> None:
    """Move a time of the account's newest incident into the past, as if time had passed since."""
    from sqlalchemy import select

    from incidents.models import Incident

    with app.extensions["lockdesk"].sessions() as session:
        incident = session.scalars(select(Incident).where(Incident.account_id == account_id)
                                   .order_by(Incident.number.desc())).first()
        setattr(incident, column, getattr(incident, column) - delta)
        session.commit()


from tests.inbox import inbox  # noqa: E402, F401 - the real SMTP server, for every module here
