"""What app.web.protect_pages gives every page of the owner's site and the console, proven over the whole route
table rather than a sample: every form needs the CSRF token, checked before anything runs, and no page is
cached."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from incidents.models import AuditEvent
from tests.factories import exchange_account
from tests.web.pages import sign_in
from tests.web.pages import owner_case

PAGE_BLUEPRINTS = ("owner.", "console.")


def page_rules(app, method: str) -> list:
    """The routes of the page blueprints that take `method`."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(PAGE_BLUEPRINTS) and method in rule.methods]


def address(rule, incident_id: str) -> str:
    """The rule's path for this case (other ids are new, other words arbitrary)."""
    values = {name: incident_id if name == "incident_id" else
              uuid.uuid4() if type(rule._converters[name]).__name__ == "UUIDConverter" else "x"
              for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def browsers(app, agent, clock):
    """An owner's browser on its case (of an account the exchange holds) and a signed-in agent's; the case id."""
    exchange_account(app, "U1001")
    owner, incident_id = owner_case(app)
    staff = app.test_client()
    sign_in(staff, agent, clock)
    return owner, staff, incident_id


def audit_events(app) -> int:
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def test_every_form_of_the_pages_is_refused_without_the_csrf_token_before_it_acts(app, agent, clock):
    owner, staff, incident_id = browsers(app, agent, clock)
    rules = page_rules(app, "POST")
    assert len(rules) >= 20  # the route table was read
    before = audit_events(app)
    for rule in rules:
        browser = staff if rule.endpoint.startswith("console.") else owner
        answer = browser.post(address(rule, incident_id), data={"body": "x", "reason": "x", "confirm": "yes"})
        assert answer.status_code == 400 and answer.mimetype == "text/html", f"{rule.rule}: {answer.status_code}"
    assert audit_events(app) == before  # nothing was done


def test_no_page_is_cached(app, agent, clock):
    owner, staff, incident_id = browsers(app, agent, clock)
    answered = []
    for rule in page_rules(app, "GET"):
        browser = staff if rule.endpoint.startswith("console.") else owner
        answer = browser.get(address(rule, incident_id))
        assert answer.status_code < 500 and answer.headers.get("Cache-Control") == "no-store", rule.rule
        answered.append(answer.status_code)
    assert answered.count(200) >= 8  # real pages, not only refusals (which carry no-store on their own)
