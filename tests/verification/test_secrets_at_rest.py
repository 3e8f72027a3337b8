"""No code or secret in the database dump or the logs (ASVS 4.0.3 2.8.2, 2.7.5, 7.1.1; 63B-4 §3.1.4.2)."""
from __future__ import annotations

import json
import logging
import subprocess
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from incidents.audit import event_body, record, seal_all, verify_chain
from incidents.models import AuditEvent
from verification import service
from verification.errors import WrongCode
from verification.sms.log import LogSmsGateway

ACCOUNT_SECRET = "KRUGS4ZANFZSA43FMNZGK5BAMFRWG33V"
PHONE = "+15555550199"
ANTI_PHISHING = "VIOLETOTTER"
NOW = datetime(2026, 11, 21, 12, 0, 15, tzinfo=UTC)


def _dump(engine) -> str:
    """Every row of every table, as the database holds it (no ORM decryption), plus pg_dump where present."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    with engine.connect() as connection:
        rows = [repr(row) for table in metadata.sorted_tables for row in connection.execute(select(table))]
    text = "\n".join(rows)
    if engine.dialect.name == "postgresql":
        url = make_url(engine.url)
        text += subprocess.run(["pg_dump", "-h", url.host, "-U", url.username, url.database],
                               capture_output=True, text=True, check=True, timeout=60).stdout
    else:
        with engine.raw_connection() as raw:
            text += "\n".join(raw.driver_connection.iterdump())
    return text


def test_no_code_or_secret_reaches_the_database_or_the_logs(engine, sessions, make_incident, code_key,
                                                            tmp_path, caplog):
    """Codes are stored as keyed hashes, secrets and phone numbers encrypted; logs and the real
    audit chain (incidents.audit.record as the sink) carry neither."""
    audit = record
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # statements and their parameters
    sms_log = tmp_path / "sms.jsonl"
    gateway = LogSmsGateway(str(sms_log))
    incident = make_incident()
    with sessions() as session:
        verification = service.start_verification(
            session, incident_id=incident.id, account_id=incident.account_id, totp_secret=ACCOUNT_SECRET,
            phone=PHONE, factor_bound_at={"totp": NOW - timedelta(days=90), "sms": NOW - timedelta(days=90)},
            first_suspicious_at=NOW - timedelta(hours=1), recent_security_events=[], language="en",
            anti_phishing_code=ANTI_PHISHING, audit=audit, now=NOW)
        service.send_sms_code(session, verification_id=verification.id, gateway=gateway, code_key=code_key,
                              audit=audit, now=NOW)
        sms_code = json.loads(sms_log.read_text().splitlines()[0])["body"].split(": ")[1][:6]
        service.check_sms_code(session, verification_id=verification.id, code=sms_code, code_key=code_key,
                               audit=audit, now=NOW)
        totp_code = pyotp.TOTP(ACCOUNT_SECRET).at(NOW)
        service.check_totp(session, verification_id=verification.id, code=totp_code,
                           totp_secret=ACCOUNT_SECRET, audit=audit, now=NOW)
        staff = service.enrol_staff_totp(session, staff_id="officer-dump", audit=audit, now=NOW)
        staff_code = pyotp.TOTP(staff.secret).at(NOW)
        service.check_staff_totp(session, staff_id="officer-dump", code=staff_code, audit=audit, now=NOW)
        assert session.get(type(verification), verification.id).status == "passed"

    dump = _dump(engine)
    logs = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    assert any(record.name.startswith("sqlalchemy.engine") for record in caplog.records), "SQL was logged too"
    with sessions() as session:
        seal_all(session)
        assert verify_chain(session).valid
        audit_events = json.dumps([event_body(event) for event in session.scalars(select(AuditEvent))])
    secrets = {"sms code": sms_code, "account TOTP code": totp_code, "staff TOTP code": staff_code,
               "account TOTP secret": ACCOUNT_SECRET, "staff TOTP secret": staff.secret,
               "phone number": PHONE[2:], "anti-phishing code": ANTI_PHISHING}
    assert "verification.sms_code_issued" in audit_events and "code_hash" in dump
    for what, value in secrets.items():
        assert value not in dump, f"{what} found in the database dump"
        assert value not in logs, f"{what} found in the logs"
        assert value not in audit_events, f"{what} found in the audit events"
    assert sms_code in sms_log.read_text(), "the log gateway is the one place a code is visible"


def test_the_staff_secret_is_encrypted_but_readable_with_the_key(sessions, engine):
    """63B-4 §3.1.4.2: protected at rest, usable by the service."""
    with sessions() as session:
        secret = service.enrol_staff_totp(session, staff_id="officer-enc", now=NOW).secret
    with engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT secret FROM otp_factors WHERE owner_id = 'officer-enc'").scalar_one()
    assert stored != secret and secret not in stored
    with sessions() as session:
        service.check_staff_totp(session, staff_id="officer-enc", code=pyotp.TOTP(secret).at(NOW),
                                 audit=lambda *args, **kwargs: None, now=NOW)


def test_full_width_digits_are_refused_by_the_service(sessions, audit):
    """SECURITY.md pyotp trap: full-width digits never reach pyotp."""
    with sessions() as session:
        secret = service.enrol_staff_totp(session, staff_id="officer-fw", now=NOW).secret
        right = pyotp.TOTP(secret).at(NOW)
        full_width = "".join(chr(ord("０") + int(digit)) for digit in right)
        with pytest.raises(WrongCode):
            service.check_staff_totp(session, staff_id="officer-fw", code=full_width, audit=audit, now=NOW)
