"""Who must approve and who may not: four eyes on high risk, segregation of duties."""
import uuid
from decimal import Decimal

import pytest

from kernel.errors import Conflict, Forbidden
from incidents.approvals import (
    CaseRoles,
    RiskFacts,
    Thresholds,
    approvals_required,
    high_risk_reasons,
    refusal,
)

LIMITS = Thresholds(high_risk_score=80, high_loss_amount=Decimal(10000))
OFFICER = uuid.uuid4()


@pytest.mark.parametrize("facts,needed", [
    (RiskFacts(risk_score=10, reported_loss="500", has_untrusted_factor=False), 1),
    (RiskFacts(risk_score=80, reported_loss=None, has_untrusted_factor=False), 2),
    (RiskFacts(risk_score=0, reported_loss="10000.01", has_untrusted_factor=False), 2),
    (RiskFacts(risk_score=0, reported_loss="10000", has_untrusted_factor=False), 1),
    (RiskFacts(risk_score=0, reported_loss=None, has_untrusted_factor=True), 2),
    (RiskFacts(risk_score=0, reported_loss="lots", has_untrusted_factor=False), 2),
])
def test_high_risk_cases_need_two_officers(facts, needed):
    assert approvals_required(facts, LIMITS) == needed


def test_the_reasons_for_four_eyes_are_named():
    facts = RiskFacts(risk_score=95, reported_loss="50000", has_untrusted_factor=True)
    assert high_risk_reasons(facts, LIMITS) == ["risk_score", "untrusted_factor", "reported_loss"]


def roles(**changes):
    base = {"raised_by": "reporter:abc", "deciders": frozenset(), "case_workers": frozenset()}
    return CaseRoles(**{**base, **changes})


def test_agents_cannot_decide():
    assert isinstance(refusal(officer_id=OFFICER, role="agent", decision="approve", roles=roles()), Forbidden)


def test_nobody_decides_twice():
    error = refusal(officer_id=OFFICER, role="risk_officer", decision="approve", roles=roles(deciders={OFFICER}))
    assert isinstance(error, Conflict)


def test_nobody_approves_what_they_raised_or_worked():
    raised = roles(raised_by=f"staff:{OFFICER}")
    worked = roles(case_workers=frozenset({OFFICER}))
    assert isinstance(refusal(officer_id=OFFICER, role="risk_officer", decision="approve", roles=raised), Forbidden)
    assert isinstance(refusal(officer_id=OFFICER, role="risk_officer", decision="approve", roles=worked), Forbidden)
    assert refusal(officer_id=OFFICER, role="risk_officer", decision="reject", roles=worked) is None
