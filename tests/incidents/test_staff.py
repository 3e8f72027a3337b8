"""Staff accounts: tokens shown once and hashed, console sign-in with password and own TOTP, all audited."""
import pyotp
import pytest
from sqlalchemy import select

from incidents.models import AuditEvent, Staff
from incidents.staff import SignInRefused, create_staff, set_password, sign_in_staff
from verification.errors import WrongCode


@pytest.fixture
def officer(session):
    created = create_staff(session, name="officer-x", role="risk_officer")
    set_password(session, name="officer-x", password="a long enough password")
    return created


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_new_staff_member_gets_a_prefixed_token_stored_only_as_a_hash(session, officer):
    assert officer.token.startswith("lds_") and len(officer.token) >= 4 + 43
    stored = session.scalar(select(Staff.token_hash).where(Staff.id == officer.staff.id))
    assert officer.token not in stored and len(stored) == 64
    assert officer.otpauth_uri.startswith("otpauth://totp/") and len(officer.totp_secret) == 32


def test_sign_in_needs_password_and_the_staff_members_own_code(session, officer):
    code = pyotp.TOTP(officer.totp_secret).now()
    staff = sign_in_staff(session, name="officer-x", password="a long enough password", code=code)
    assert staff.id == officer.staff.id
    assert actions(session)[-1] == "staff.signed_in"


@pytest.mark.parametrize("name,password", [("officer-x", "wrong password!"), ("nobody", "whatever")])
def test_a_wrong_name_or_password_is_refused_alike_and_audited(session, officer, name, password):
    with pytest.raises(SignInRefused, match="name, password or code"):
        sign_in_staff(session, name=name, password=password, code="123456")
    assert actions(session)[-1] == "staff.sign_in_refused"
    assert "123456" not in str(session.scalars(select(AuditEvent.data)).all())


def test_a_wrong_code_is_refused_and_audited_without_the_code(session, officer):
    wrong = "000000" if pyotp.TOTP(officer.totp_secret).now() != "000000" else "111111"
    with pytest.raises(WrongCode):
        sign_in_staff(session, name="officer-x", password="a long enough password", code=wrong)
    assert any(action.startswith("totp.") or "totp" in action for action in actions(session))
    assert wrong not in str(session.scalars(select(AuditEvent.data)).all())


def test_short_passwords_are_refused(session, officer):
    from app.db import InvalidInput

    with pytest.raises(InvalidInput):
        set_password(session, name="officer-x", password="short")
