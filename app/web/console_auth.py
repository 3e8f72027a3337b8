"""Staff sign-in (password and the staff member's own TOTP) and the console session's clocks."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import wraps

from flask import redirect, request, session, url_for

from kernel.errors import Forbidden
from app.extensions import get_session
from app.web import now
from incidents.access import Principal
from incidents.models import Staff
from incidents.staff import end_staff_sessions, sign_in_staff

STAFF_KEY = "staff"
MAX_SESSION = timedelta(hours=12)  # SECURITY.md: re-authenticate after 12 h ...
MAX_IDLE = timedelta(minutes=30)  # ... or 30 minutes idle


class SessionEnded(Exception):
    """The console session is missing, too old or idle too long."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sign_in(*, name: str, password: str, code: str) -> Staff:
    """Check password then TOTP (so a stranger cannot lock a colleague's authenticator) and open a session."""
    staff = sign_in_staff(get_session(), name=name, password=password, code=code, now=now())
    session.clear()  # a fresh session (and CSRF token) for the signed-in staff member
    stamp = now().isoformat()
    session[STAFF_KEY] = {"id": str(staff.id), "signed_in_at": stamp, "seen_at": stamp}
    return staff


def sign_out() -> None:
    """Forget the console session."""
    session.pop(STAFF_KEY, None)
    session.pop("csrf_token", None)


def current_staff() -> Principal:
    """The signed-in staff member, after checking the session's age and idle time; SessionEnded if none."""
    held = session.get(STAFF_KEY)
    if not held:
        raise SessionEnded("signed_out")
    moment = now()
    if moment - datetime.fromisoformat(held["signed_in_at"]) > MAX_SESSION:
        sign_out()
        raise SessionEnded("expired")
    if moment - datetime.fromisoformat(held["seen_at"]) > MAX_IDLE:
        sign_out()
        raise SessionEnded("idle")
    staff = get_session().get(Staff, uuid.UUID(held["id"]))
    if staff is None or not staff.is_active or _revoked(staff, held):
        sign_out()
        raise SessionEnded("signed_out")
    session[STAFF_KEY] = {**held, "seen_at": moment.isoformat()}
    return Principal(kind="staff", id=staff.id, role=staff.role, name=staff.name)


def _revoked(staff: Staff, held: dict) -> bool:
    """The session began before the staff member's sessions were ended on the server."""
    ended = staff.sessions_valid_after
    return ended is not None and datetime.fromisoformat(held["signed_in_at"]) <= ended


def end_all_sessions() -> None:
    """Sign out here and end this staff member's sessions everywhere (a copied cookie stops working)."""
    held = session.get(STAFF_KEY)
    if held:
        end_staff_sessions(get_session(), staff_id=uuid.UUID(held["id"]), actor=f"staff:{held['id']}", now=now())
    sign_out()


def staff_page(*roles: str):
    """A console page for signed-in staff with one of the roles (any role when none named; admins have all)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                principal = current_staff()
            except SessionEnded as ended:
                return redirect(url_for("console.sign_in_form", reason=ended.reason, next=_here()), 303)
            if roles and not principal.has_role(*roles):
                raise Forbidden(f"this needs the role {' or '.join(roles)}")
            return view(principal, *args, **kwargs)
        return wrapper
    return decorate


def _here() -> str:
    """Where to come back to after signing in (the page itself for GETs, the console home otherwise)."""
    return request.full_path.rstrip("?") if request.method == "GET" else url_for("console.queue")
