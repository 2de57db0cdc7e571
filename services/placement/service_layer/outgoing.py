"""Every event placement emits, built here (the mirror of ``entrypoints/events.py`` for incoming ones).

Each function returns ``(event_type, data)`` for ``uow.emit``.
"""

from __future__ import annotations

from services.placement.adapters.orm import Graduate, Incentive, Internship, Outcome
from shared import events


def outcome_recorded(graduate: Graduate, outcome: Outcome) -> tuple[str, events.OutcomeRecorded]:
    return events.OUTCOME_RECORDED, events.OutcomeRecorded(
        trainee_id=graduate.id,
        cohort_id=graduate.cohort_id,
        campus=graduate.campus,
        outcome=outcome.category,
        as_of=outcome.as_of,
        months_after_completion=outcome.months_after_completion,
    )


def incentive_due(internship: Internship, incentive: Incentive) -> tuple[str, events.IncentiveDue]:
    return events.INCENTIVE_DUE, events.IncentiveDue(
        internship_id=internship.id,
        employer_id=internship.employer_id,
        trainee_id=internship.graduate_id,
        campus=internship.campus,
        amount=incentive.amount,
    )
