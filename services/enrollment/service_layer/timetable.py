"""Changes to a published cohort's timetable: a cancelled session, a make-up session, a move, a later end.

Each change is checked by the domain (``domain/timetable.py``), bumps the cohort's plan version, is kept as a
history row (who, when, why, what) and sends ``cohort.rescheduled`` with the whole new plan.
"""

from __future__ import annotations

import uuid

from services.enrollment.adapters.orm import Cohort, TimetableChange
from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.domain import timetable
from services.enrollment.schemas import PlannedSession, TimetableChangeIn, TimetableChangeOut
from services.enrollment.service_layer import outgoing
from shared import events
from shared.auth import Principal
from shared.clock import Clock
from shared.problems import RuleViolation
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]


def plan_of(cohort: Cohort) -> timetable.Plan:
    slots = [events.SessionSlot.model_validate(s) for s in cohort.sessions]
    return timetable.Plan(
        cohort.start_date,
        cohort.end_date,
        tuple(timetable.Session(s.date, s.start, s.end, s.hours) for s in slots),
    )


def _slot(session: timetable.Session | None) -> events.SessionSlot | None:
    if session is None:
        return None
    return events.SessionSlot(date=session.date, start=session.start, end=session.end, hours=session.hours)


def change_out(row: TimetableChange) -> TimetableChangeOut:
    detail = events.PlanChange.model_validate(row.detail)
    return TimetableChangeOut(
        id=row.id,
        cohort_id=row.cohort_id,
        plan_version=row.plan_version,
        kind=row.kind,
        session=PlannedSession.model_validate(detail.session.model_dump()) if detail.session else None,
        new_session=PlannedSession.model_validate(detail.new_session.model_dump()) if detail.new_session else None,
        old_end_date=detail.old_end_date,
        new_end_date=detail.new_end_date,
        reason=row.reason,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
    )


def change_timetable(
    uow: Uow, *, principal: Principal, clock: Clock, cohort_id: uuid.UUID, body: TimetableChangeIn
) -> TimetableChangeOut:
    """Apply one change to the cohort's published plan; ``cohort.rescheduled`` goes out with the new plan."""
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id, lock=True)  # one change at a time per cohort
        programme = uow.repo.programme(cohort.programme_id)
        assert programme is not None
        change = timetable.Change(
            kind=body.kind,
            day=body.session_date,
            start=body.session_start,
            new_day=body.date,
            new_start=body.start,
            new_end=body.end,
            new_end_date=body.end_date,
            break_minutes=int((cohort.timetable or {}).get("break_minutes", 0)),
        )
        outcome, failures = timetable.change_plan(plan_of(cohort), change, clock.today())
        if failures or outcome is None:
            raise RuleViolation(failures, status=409)
        cohort.end_date = outcome.plan.end_date
        cohort.sessions = [_slot(s).model_dump(mode="json") for s in outcome.plan.sessions]  # type: ignore[union-attr]
        cohort.plan_version += 1
        detail = events.PlanChange(
            kind=body.kind,
            session=_slot(outcome.removed),
            new_session=_slot(outcome.added),
            old_end_date=outcome.old_end_date,
            new_end_date=outcome.new_end_date,
        )
        row = TimetableChange(
            cohort_id=cohort.id,
            plan_version=cohort.plan_version,
            kind=body.kind,
            detail=detail.model_dump(mode="json"),
            reason=body.reason,
            changed_by=principal.sub,
        )
        uow.repo.add(row)
        uow.emit(*outgoing.cohort_rescheduled(cohort, programme, detail, body.reason))
        uow.commit()
        return change_out(row)


def changes_of(uow: Uow, *, principal: Principal, cohort_id: uuid.UUID) -> list[TimetableChangeOut]:
    """The cohort's timetable changes, oldest first."""
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id)
        return [change_out(r) for r in uow.repo.timetable_changes(cohort.id)]
