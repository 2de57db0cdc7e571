"""Every event attendance publishes, built here (the incoming ones are handled in ``entrypoints/events.py``).

Each function returns ``(event type, data)`` for ``uow.emit``.
"""

from __future__ import annotations

from datetime import date

from services.attendance.adapters.orm import Cohort, RosterEntry
from shared import events


def trainee_at_risk(
    cohort: Cohort, entry: RosterEntry, *, current_rate: float, max_possible_rate: float, threshold: float, reason: str
) -> tuple[str, events.TraineeAtRisk]:
    return events.TRAINEE_AT_RISK, events.TraineeAtRisk(
        trainee_id=entry.trainee_id,
        cohort_id=cohort.id,
        campus=cohort.campus,
        current_rate=current_rate,
        max_possible_rate=max_possible_rate,
        threshold=threshold,
        reason=reason,
    )


def trainee_completed(
    cohort: Cohort, entry: RosterEntry, *, completion_date: date, final_rate: float
) -> tuple[str, events.TraineeCompleted]:
    return events.TRAINEE_COMPLETED, events.TraineeCompleted(
        trainee_id=entry.trainee_id,
        cohort_id=cohort.id,
        campus=cohort.campus,
        name=entry.name,
        programme_code=cohort.programme_code,
        qualification_codes=cohort.qualification_codes,
        completion_date=completion_date,
        final_rate=final_rate,
    )


def trainee_not_completed(
    cohort: Cohort, entry: RosterEntry, *, on: date, final_rate: float, reason: str
) -> tuple[str, events.TraineeNotCompleted]:
    return events.TRAINEE_NOT_COMPLETED, events.TraineeNotCompleted(
        trainee_id=entry.trainee_id,
        cohort_id=cohort.id,
        campus=cohort.campus,
        programme_code=cohort.programme_code,
        date=on,
        final_rate=final_rate,
        reason=reason,
    )
