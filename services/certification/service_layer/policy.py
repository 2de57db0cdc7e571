"""The service's one place where Settings become the domain's policy: the claim figures of DOMAIN.md."""

from __future__ import annotations

from services.certification.domain.claims import ClaimPolicy
from services.certification.settings import Settings


def claim_policy(settings: Settings) -> ClaimPolicy:
    return ClaimPolicy(
        deadline_days=settings.claim_deadline_days,
        max_attempts=settings.max_reimbursed_attempts,
        window_months=settings.window_months_after_completion,
    )
