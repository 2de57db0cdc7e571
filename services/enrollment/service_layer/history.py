"""Admission history kept from other services' decisions (the consumer's work: nothing here commits).

The handlers in ``entrypoints/events.py`` call this with the consumer's open unit of work; the consumer
commits the batch.
"""

from __future__ import annotations

import uuid
from datetime import date

from services.enrollment.adapters.repository import EnrollmentRepository
from shared.consumer import PermanentEventError
from shared.db import utcnow
from shared.unit_of_work import UnitOfWork


def record_outcome(
    uow: UnitOfWork[EnrollmentRepository],
    *,
    trainee_id: uuid.UUID,
    cohort_id: uuid.UUID,
    status: str,
    on: date,
    final_rate: float,
) -> None:
    """Attendance's completion decision, kept as admission history for the re-admission rule."""
    enrollment = uow.repo.enrollment_of(trainee_id, cohort_id)
    if enrollment is None:
        raise PermanentEventError("no enrollment for this trainee and cohort")
    if enrollment.status == "withdrawn":
        return  # the withdrawal stays the record of how this participation ended
    enrollment.status, enrollment.outcome_date, enrollment.final_rate = status, on, final_rate
    enrollment.updated_at = utcnow()
