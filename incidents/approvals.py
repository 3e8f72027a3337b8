"""Who must approve an unfreeze, and who may not: four eyes on high risk, segregation of duties."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from kernel.errors import Conflict, DomainError, Forbidden

DECIDING_ROLES = frozenset({"risk_officer"})  # API.md: risk officers decide; admins administer


@dataclass(frozen=True)
class Thresholds:
    """Where a case becomes high risk (HIGH_RISK_SCORE, HIGH_LOSS_AMOUNT in USD)."""

    high_risk_score: int = 80
    high_loss_amount: Decimal = Decimal(10000)


@dataclass(frozen=True)
class RiskFacts:
    """What makes a case high risk."""

    risk_score: int
    reported_loss: str | None
    has_untrusted_factor: bool


def high_risk_reasons(facts: RiskFacts, thresholds: Thresholds) -> list[str]:
    """Why the case needs two officers (empty when one is enough)."""
    reasons = []
    if facts.risk_score >= thresholds.high_risk_score:
        reasons.append("risk_score")
    if facts.has_untrusted_factor:
        reasons.append("untrusted_factor")
    if loss_amount(facts.reported_loss) > thresholds.high_loss_amount:
        reasons.append("reported_loss")
    return reasons


def approvals_required(facts: RiskFacts, thresholds: Thresholds) -> int:
    """Two distinct officers for a high-risk case, else one."""
    return 2 if high_risk_reasons(facts, thresholds) else 1


def loss_amount(text: str | None) -> Decimal:
    """The reported loss as a number; an unreadable amount counts as unbounded, erring to four eyes."""
    if not text:
        return Decimal(0)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return Decimal("Infinity")
    return amount if amount.is_finite() else Decimal("Infinity")


@dataclass(frozen=True)
class CaseRoles:
    """Who has touched a request: its raiser, the officers who decided, the staff who worked the case."""

    raised_by: str
    deciders: frozenset[uuid.UUID]
    case_workers: frozenset[uuid.UUID]


def refusal(*, officer_id: uuid.UUID, role: str, decision: str, roles: CaseRoles) -> DomainError | None:
    """Why this officer may not record this decision, or None when they may."""
    if role not in DECIDING_ROLES:
        return Forbidden("only risk officers decide unfreezes")
    if officer_id in roles.deciders:
        return Conflict("you have already decided this request; a second approval must come from another officer")
    if decision != "approve":
        return None
    if roles.raised_by == f"staff:{officer_id}":
        return Forbidden("you raised this request, so you may not approve it")
    if officer_id in roles.case_workers:
        return Forbidden("you worked this case as its agent, so you may not approve its unfreeze")
    return None
