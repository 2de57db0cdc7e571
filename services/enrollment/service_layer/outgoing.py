"""Every event enrollment emits, built here: ``(event type, data)`` for ``uow.emit`` / ``uow.emit_many``.

The mirror of ``entrypoints/events.py`` (what enrollment does with other services' events).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import date

from services.enrollment.adapters.orm import Application, Cohort, Enrollment, Programme
from services.enrollment.adapters.repository import SeatOffer
from shared import events
from shared.problems import RuleFailure

Outgoing = tuple[str, events.EventData]


def _reasons(failures: Iterable[RuleFailure]) -> list[events.Reason]:
    return [events.Reason(code=f.rule, message=f.message) for f in failures]


def snapshot(cohort: Cohort, programme: Programme) -> events.CohortSnapshot:
    """What other services keep of a cohort (it travels in ``cohort.published`` and ``cohort.rescheduled``)."""
    return events.CohortSnapshot(
        cohort_id=cohort.id,
        programme_code=programme.code,
        programme_title=programme.title,
        campus=cohort.campus,
        track=programme.track,
        total_hours=programme.total_hours,
        completion_threshold=programme.completion_threshold,
        qualification_codes=programme.qualification_codes,
        start_date=cohort.start_date,
        end_date=cohort.end_date,
        capacity=cohort.capacity,
        sessions=[events.SessionSlot.model_validate(s) for s in cohort.sessions],
        plan_version=cohort.plan_version,
    )


def cohort_published(cohort: Cohort, programme: Programme) -> Outgoing:
    return events.COHORT_PUBLISHED, events.CohortPublished(**snapshot(cohort, programme).model_dump())


def cohort_rescheduled(cohort: Cohort, programme: Programme, change: events.PlanChange, reason: str) -> Outgoing:
    """The whole new plan, what changed in it and why."""
    return events.COHORT_RESCHEDULED, events.CohortRescheduled(
        **snapshot(cohort, programme).model_dump(), change=change, reason=reason
    )


def application_decided(app: Application, decision: str, reasons: list[RuleFailure]) -> Outgoing:
    return events.APPLICATION_DECIDED, events.ApplicationDecided(
        application_id=app.id,
        trainee_id=app.applicant_id,
        cohort_id=app.cohort_id,
        campus=app.campus,
        decision=decision,
        reasons=_reasons(reasons),
        waitlist_position=app.waitlist_position,
    )


def selection_decided(
    cohort: Cohort,
    decisions: Iterable[tuple[uuid.UUID, str, int | None, list[RuleFailure]]],
    applicant_of: dict[uuid.UUID, uuid.UUID],
) -> Iterator[Outgoing]:
    """One ``application.decided`` per decision of a selection run, lazily (they may be built on a worker thread)."""
    cohort_id, campus = cohort.id, cohort.campus
    return (
        (
            events.APPLICATION_DECIDED,
            events.ApplicationDecided(
                application_id=app_id,
                trainee_id=applicant_of[app_id],
                cohort_id=cohort_id,
                campus=campus,
                decision=status,
                waitlist_position=position,
                reasons=_reasons(why),
            ),
        )
        for app_id, status, position, why in decisions
    )


def trainee_enrolled(offer: SeatOffer, *, enrollment_id: uuid.UUID, enrolled_on: date) -> Outgoing:
    """The trainee and the version of the cohort's plan they joined; the plan travels on the cohort's events."""
    return events.TRAINEE_ENROLLED, events.TraineeEnrolled(
        trainee_id=offer.applicant_id,
        enrollment_id=enrollment_id,
        name=offer.name,
        birth_date=offer.birth_date,
        cohort_id=offer.cohort_id,
        campus=offer.campus,
        programme_code=offer.programme_code,
        plan_version=offer.plan_version,
        enrolled_on=enrolled_on,
    )


def trainee_withdrawn(enrollment: Enrollment, cohort: Cohort, programme: Programme) -> Outgoing:
    assert enrollment.withdrawn_on is not None and enrollment.withdraw_reason is not None
    return events.TRAINEE_WITHDRAWN, events.TraineeWithdrawn(
        trainee_id=enrollment.applicant_id,
        enrollment_id=enrollment.id,
        cohort_id=cohort.id,
        campus=cohort.campus,
        programme_code=programme.code,
        date=enrollment.withdrawn_on,
        reason=enrollment.withdraw_reason,
        early_employment=enrollment.withdraw_reason == "early_employment",
        before_start=enrollment.withdrawn_before_start,
    )
