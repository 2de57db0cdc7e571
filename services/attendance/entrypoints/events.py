"""What attendance does with enrollment's events: cohorts, sessions and rosters."""

from __future__ import annotations

import uuid

from services.attendance.adapters.orm import RosterEntry
from services.attendance.adapters.repository import AttendanceRepository
from services.attendance.service_layer import roster, standing
from services.attendance.service_layer.policy import policy_of
from services.attendance.service_layer.wall_clock import wall_now
from shared import events
from shared.consumer import BatchHandler, Handler, HandlerContext, event_context


def _repo(ctx: HandlerContext) -> AttendanceRepository:
    """The open unit of work's repository (the consumer builds it with the service's ``repository``)."""
    return ctx.uow.repo  # type: ignore[no-any-return]


def on_cohort_published(ctx: HandlerContext, data: events.CohortPublished, _event: events.CloudEvent) -> None:
    _cohort, released = roster.apply_plan(_repo(ctx), data)
    decide_if_closed(ctx, released)


def on_cohort_rescheduled(ctx: HandlerContext, data: events.CohortRescheduled, _event: events.CloudEvent) -> None:
    """The new plan replaces the old; every active trainee's rates, at-risk flag (a warning if the new plan
    makes them at risk) follow it; monthly allowances are computed from the plan when read."""
    repo = _repo(ctx)
    cohort, released = roster.apply_plan(repo, data)
    if cohort.closed_at is not None:  # a closed cohort keeps its plan; what waited for this one is decided now
        decide_if_closed(ctx, released)
        return
    entries = repo.roster_of(cohort.id, active_only=True, by_name=False)
    standing.evaluate(ctx.uow, policy=policy_of(ctx.settings), cohort=cohort, entries=entries, now=wall_now(ctx.clock))


def on_enrolled(ctx: HandlerContext, data: events.TraineeEnrolled, _event: events.CloudEvent) -> None:
    entry = roster.enroll(_repo(ctx), data)
    decide_if_closed(ctx, [entry] if entry is not None else [])  # None: held until its cohort's plan arrives


def enrolled_many(ctx: HandlerContext, items: list[tuple[events.TraineeEnrolled, events.CloudEvent]]) -> None:
    roster.enroll_many(_repo(ctx), [data for data, _event in items])
    repo = _repo(ctx)
    closed: dict[uuid.UUID, bool] = {}
    for data, event in items:
        cohort_id = data.cohort_id
        if cohort_id not in closed:
            cohort = repo.cohort(cohort_id)
            closed[cohort_id] = cohort is not None and cohort.closed_at is not None
        if closed[cohort_id]:  # rare: an enrollment that arrives after the close; decided with its event's ids
            entry = repo.roster_entry(cohort_id, data.trainee_id)
            with event_context(event):
                decide_if_closed(ctx, [entry] if entry is not None else [])


def decide_if_closed(ctx: HandlerContext, entries: list[RosterEntry]) -> None:
    """Enrollments that reach the roster of a cohort already closed are decided now (each once)."""
    repo = _repo(ctx)
    for cohort_id in {e.cohort_id for e in entries}:
        cohort = repo.cohort(cohort_id)
        if cohort is None or cohort.closed_at is None:
            continue
        standing.decide_late_entries(
            ctx.uow,
            policy=policy_of(ctx.settings),
            cohort=cohort,
            entries=[e for e in entries if e.cohort_id == cohort_id],
            now=wall_now(ctx.clock),
        )


def parse_enrolled(batch: list[events.CloudEvent]) -> list[events.TraineeEnrolled]:
    """trainee.enrolled data, each distinct cohort snapshot validated once (every event of a cohort carries it)."""
    snapshots: dict[str, list[tuple[dict, events.CohortSnapshot]]] = {}
    out = []
    for event in batch:
        raw = event.data.get("cohort")
        snap = None
        if isinstance(raw, dict):
            seen = snapshots.setdefault(str(raw.get("cohort_id")), [])
            snap = next((model for known, model in seen if known == raw), None)
            if snap is None:
                snap = events.CohortSnapshot.model_validate(raw)
                seen.append((raw, snap))
        # a validated CohortSnapshot instance is taken as it is, not validated again
        out.append(
            events.TraineeEnrolled.model_validate(event.data if snap is None else {**event.data, "cohort": snap})
        )
    return out


def on_withdrawn(ctx: HandlerContext, data: events.TraineeWithdrawn, _event: events.CloudEvent) -> None:
    roster.withdraw(_repo(ctx), data)


HANDLERS: dict[str, Handler] = {
    events.COHORT_PUBLISHED: on_cohort_published,
    events.COHORT_RESCHEDULED: on_cohort_rescheduled,
    events.TRAINEE_ENROLLED: BatchHandler(on_enrolled, enrolled_many, parse_enrolled),
    events.TRAINEE_WITHDRAWN: on_withdrawn,
}
