"""Every event certification publishes, built here: the outgoing mirror of ``entrypoints/events.py``.

Each function returns ``(event_type, data)``; a use case passes it to ``uow.emit`` (or a list of them to
``uow.emit_many``), so the event goes out only if the work commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.certification.adapters.orm import Claim, Payout, QualificationObtained
from shared import events

Outgoing = tuple[str, events.EventData]


def claim_approved(claim: Claim) -> Outgoing:
    return events.CLAIM_DECIDED, events.ClaimDecided(
        claim_id=claim.id, trainee_id=claim.trainee_id, campus=claim.campus, decision="approved", amount=claim.amount
    )


def claim_rejected(claim: Claim, reasons: Iterable[tuple[str, str]]) -> Outgoing:
    """``reasons``: (code, message) pairs, as the reviewer gave them."""
    return events.CLAIM_DECIDED, events.ClaimDecided(
        claim_id=claim.id,
        trainee_id=claim.trainee_id,
        campus=claim.campus,
        decision="rejected",
        amount=0,
        reasons=[events.Reason(code=code, message=message) for code, message in reasons],
    )


def claim_paid(claim: Claim, payout: Payout) -> Outgoing:
    return events.CLAIM_PAID, events.ClaimPaid(
        claim_id=claim.id,
        trainee_id=claim.trainee_id,
        campus=claim.campus,
        amount=payout.amount,
        payout_reference=payout.reference,
    )


def qualification_obtained(result: QualificationObtained) -> Outgoing:
    return events.QUALIFICATION_OBTAINED, events.QualificationObtained(
        trainee_id=result.trainee_id,
        qualification_code=result.qualification_code,
        grade=result.grade,
        date=result.obtained_on,
        campus=result.campus,
        cohort_id=result.cohort_id,
    )
