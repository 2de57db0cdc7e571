"""What attendance does with enrollment's events: cohorts, sessions and rosters."""
from __future__ import annotations

from sqlmodel import Session

from services.attendance.service_layer import roster
from shared import events
from shared.consumer import Handler


def on_cohort_published(session: Session, data: events.CohortPublished, _event: events.CloudEvent) -> None:
    roster.upsert_cohort(session, data)


def on_enrolled(session: Session, data: events.TraineeEnrolled, _event: events.CloudEvent) -> None:
    roster.enroll(session, data)


def on_withdrawn(session: Session, data: events.TraineeWithdrawn, _event: events.CloudEvent) -> None:
    roster.withdraw(session, data)


HANDLERS: dict[str, Handler] = {
    events.COHORT_PUBLISHED: on_cohort_published,
    events.TRAINEE_ENROLLED: on_enrolled,
    events.TRAINEE_WITHDRAWN: on_withdrawn,
}
