"""Staff accounts: tokens shown once and hashed, console sign-in with password and own TOTP, all audited."""
import pyotp
import pytest
from sqlalchemy import select

from incidents.models import AuditEvent, Staff
from incidents.staff import SignInRefused, set_password, sign_in_staff
from app.db import utcnow
from kernel.errors import DomainError
from verification.errors import TooManyAttempts, WrongCode


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_new_staff_member_gets_a_prefixed_token_stored_only_as_a_hash(session, officer):
    assert officer.token.startswith("lds_") and len(officer.token) >= 4 + 43
    stored = session.scalar(select(Staff.token_hash).where(Staff.id == officer.id))
    assert officer.token not in stored and len(stored) == 64
    assert officer.otpauth_uri.startswith("otpauth://totp/") and len(officer.totp_secret) == 32


def test_sign_in_needs_password_and_the_staff_members_own_code(session, officer):
    code = pyotp.TOTP(officer.totp_secret).now()
    staff = sign_in_staff(session, name=officer.name, password=officer.password, code=code)
    assert staff.id == officer.id
    assert actions(session)[-1] == "staff.signed_in"


@pytest.mark.parametrize("name,password", [(None, "wrong password!"), ("nobody", "whatever")])  # None: the officer
def test_a_wrong_name_or_password_is_refused_alike_and_audited(session, officer, name, password):
    with pytest.raises(SignInRefused, match="name, password or code"):
        sign_in_staff(session, name=name or officer.name, password=password, code="123456")
    assert actions(session)[-1] == "staff.sign_in_refused"
    assert "123456" not in str(session.scalars(select(AuditEvent.data)).all())


def test_a_wrong_code_is_refused_and_audited_without_the_code(session, officer):
    wrong = "000000" if pyotp.TOTP(officer.totp_secret).now() != "000000" else "111111"
    with pytest.raises(WrongCode):
        sign_in_staff(session, name=officer.name, password=officer.password, code=wrong)
    assert any(action.startswith("totp.") or "totp" in action for action in actions(session))
    assert wrong not in str(session.scalars(select(AuditEvent.data)).all())


def test_short_passwords_are_refused(session, officer):
    from kernel.errors import InvalidInput

    with pytest.raises(InvalidInput):
        set_password(session, name=officer.name, password="short")


def _lock_by_wrong_codes(session, officer, now):
    wrong = "000000" if pyotp.TOTP(officer.totp_secret).at(now) != "000000" else "111111"
    for _ in range(5):
        with pytest.raises((WrongCode, TooManyAttempts)):
            sign_in_staff(session, name=officer.name, password=officer.password, code=wrong, now=now)


def _answer(session, officer, password: str, code: str, now) -> tuple[type, str, object]:
    with pytest.raises(DomainError) as caught:
        sign_in_staff(session, name=officer.name, password=password, code=code, now=now)
    return type(caught.value), str(caught.value), caught.value.extra


def test_while_locked_a_right_and_a_wrong_password_get_the_same_answer(session, officer):
    """Issue 17 item 11: a locked authenticator never tells which password is right."""
    now = utcnow()
    _lock_by_wrong_codes(session, officer, now)
    right_code = pyotp.TOTP(officer.totp_secret).at(now)
    wrong_password = _answer(session, officer, "wrong password!", right_code, now)
    right_password = _answer(session, officer, officer.password, right_code, now)
    assert wrong_password == right_password and wrong_password[0] is TooManyAttempts


def test_wrong_passwords_count_toward_the_sign_in_lock(session, officer):
    """Issue 17 item 11: password failures count too; the fifth pauses sign-in even for the right password."""
    for _ in range(4):
        with pytest.raises(SignInRefused):
            sign_in_staff(session, name=officer.name, password="wrong password!", code="123456")
    with pytest.raises(TooManyAttempts):
        sign_in_staff(session, name=officer.name, password="wrong password!", code="123456")
    with pytest.raises(TooManyAttempts):
        sign_in_staff(session, name=officer.name, password=officer.password,
                      code=pyotp.TOTP(officer.totp_secret).now())
