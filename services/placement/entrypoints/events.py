"""What placement does with other services' events (the consumer commits; handlers never do).

Each handler passes the consumer's open unit of work and the app's settings (the follow-up schedule is one)
from its context to the use case.
"""

from __future__ import annotations

from services.placement.service_layer.graduates import attach_qualification, register_graduate
from shared import events
from shared.consumer import Handler, HandlerContext


def on_completed(ctx: HandlerContext, data: events.TraineeCompleted, _event: events.CloudEvent) -> None:
    register_graduate(
        ctx.uow,
        ctx.settings,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        campus=data.campus,
        programme_code=data.programme_code,
        completion_date=data.completion_date,
        name=data.name,
        qualification_codes=data.qualification_codes,
        final_rate=data.final_rate,
    )


def on_withdrawn(ctx: HandlerContext, data: events.TraineeWithdrawn, _event: events.CloudEvent) -> None:
    """Only early-employment leavers are followed: completers for the statistics, completing the day they left."""
    if not (data.early_employment or data.reason == "early_employment"):
        return
    register_graduate(
        ctx.uow,
        ctx.settings,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        campus=data.campus,
        programme_code=data.programme_code,
        completion_date=data.date,
        early_employment=True,
    )


def on_qualification(ctx: HandlerContext, data: events.QualificationObtained, _event: events.CloudEvent) -> None:
    attach_qualification(ctx.uow, data=data)


HANDLERS: dict[str, Handler] = {
    events.TRAINEE_COMPLETED: on_completed,
    events.TRAINEE_WITHDRAWN: on_withdrawn,
    events.QUALIFICATION_OBTAINED: on_qualification,
}
