"""What certification does with other services' events: each trainee's claim window."""

from __future__ import annotations

from services.certification.service_layer import windows
from shared import events
from shared.consumer import Handler, HandlerContext


def on_cohort_planned(ctx: HandlerContext, data: events.CohortSnapshot, _event: events.CloudEvent) -> None:
    """cohort.published and cohort.rescheduled: the cohort's dates and qualification codes."""
    windows.planned(
        ctx.uow.repo,
        cohort_id=data.cohort_id,
        campus=data.campus,
        programme_code=data.programme_code,
        qualification_codes=data.qualification_codes,
        start_date=data.start_date,
        end_date=data.end_date,
        plan_version=data.plan_version,
    )


def on_enrolled(ctx: HandlerContext, data: events.TraineeEnrolled, _event: events.CloudEvent) -> None:
    if data.cohort is not None:
        # the earlier form carries the plan it was made against: kept as a cohort event would keep it, so an
        # older plan than the one kept (a reschedule already applied) changes nothing
        on_cohort_planned(ctx, data.cohort, _event)
    windows.enrolled_in_known_cohort(
        ctx.uow.repo,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        campus=data.campus,
        programme_code=data.programme_code,
        enrolled_on=data.enrolled_on,
    )


def on_withdrawn(ctx: HandlerContext, data: events.TraineeWithdrawn, _event: events.CloudEvent) -> None:
    windows.closed(
        ctx.uow.repo,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        campus=data.campus,
        programme_code=data.programme_code,
        status="withdrawn",
        on=data.date,
    )


def on_completed(ctx: HandlerContext, data: events.TraineeCompleted, _event: events.CloudEvent) -> None:
    windows.closed(
        ctx.uow.repo,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        campus=data.campus,
        programme_code=data.programme_code,
        status="completed",
        on=data.completion_date,
        qualification_codes=data.qualification_codes,
    )


def on_not_completed(ctx: HandlerContext, data: events.TraineeNotCompleted, _event: events.CloudEvent) -> None:
    windows.closed(
        ctx.uow.repo,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        campus=data.campus,
        programme_code=data.programme_code,
        status="not_completed",
        on=data.date,
    )


HANDLERS: dict[str, Handler] = {
    events.COHORT_PUBLISHED: on_cohort_planned,
    events.COHORT_RESCHEDULED: on_cohort_planned,
    events.TRAINEE_ENROLLED: on_enrolled,
    events.TRAINEE_WITHDRAWN: on_withdrawn,
    events.TRAINEE_COMPLETED: on_completed,
    events.TRAINEE_NOT_COMPLETED: on_not_completed,
}
