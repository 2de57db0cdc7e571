"""What enrollment does with other services' events."""

from __future__ import annotations

from services.enrollment.service_layer.history import record_outcome
from shared import events
from shared.consumer import Handler, HandlerContext


def on_completed(ctx: HandlerContext, data: events.TraineeCompleted, _event: events.CloudEvent) -> None:
    record_outcome(
        ctx.uow,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        status="completed",
        on=data.completion_date,
        final_rate=data.final_rate,
    )


def on_not_completed(ctx: HandlerContext, data: events.TraineeNotCompleted, _event: events.CloudEvent) -> None:
    record_outcome(
        ctx.uow,
        trainee_id=data.trainee_id,
        cohort_id=data.cohort_id,
        status="not_completed",
        on=data.date,
        final_rate=data.final_rate,
    )


HANDLERS: dict[str, Handler] = {
    events.TRAINEE_COMPLETED: on_completed,
    events.TRAINEE_NOT_COMPLETED: on_not_completed,
}
