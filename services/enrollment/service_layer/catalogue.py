"""Campuses, programmes and cohorts: what admissions publishes."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from services.enrollment.adapters.orm import Application, Campus, Cohort, Programme
from services.enrollment.domain import selection, timetable
from services.enrollment.domain.eligibility import DEFAULT_RESIDENCY
from services.enrollment.schemas import CampusIn, CohortIn, CohortOut, CohortStats, ProgrammeIn, ProgrammeOut
from shared import events
from shared.auth import Principal
from shared.outbox import emit
from shared.pagination import PageParams, paginate
from shared.problems import RuleFailure, RuleViolation, conflict
from shared.queries import get_visible, in_campuses, where_given


# -- campuses ---------------------------------------------------------------
def create_campus(session: Session, *, principal: Principal, body: CampusIn) -> Campus:
    principal.check_campus(body.code, "campus", body.code)
    if session.get(Campus, body.code) is not None:
        raise conflict("campus-exists", f"Campus {body.code} already exists.")
    campus = Campus(**body.model_dump())
    session.add(campus)
    session.commit()
    return campus


def list_campuses(session: Session, *, principal: Principal) -> list[Campus]:
    return list(session.execute(in_campuses(select(Campus), Campus.code, principal).order_by(Campus.code)).scalars())


def require_campus(session: Session, principal: Principal, code: str) -> None:
    if not principal.sees_campus(code) or session.get(Campus, code) is None:
        raise RuleViolation([RuleFailure("reference.campus", f"no campus '{code}' is visible to you", "campus")])


# -- programmes -------------------------------------------------------------
def programme_out(p: Programme) -> ProgrammeOut:
    return ProgrammeOut.model_validate(p, from_attributes=True)


def create_programme(session: Session, *, principal: Principal, body: ProgrammeIn) -> Programme:
    require_campus(session, principal, body.campus)
    if session.execute(select(Programme.id).where(Programme.code == body.code)).first():
        raise conflict("programme-exists", f"A programme with code {body.code} already exists.")
    data = body.model_dump()
    data["allowed_residency"] = sorted(body.allowed_residency or DEFAULT_RESIDENCY)
    programme = Programme(**data)
    session.add(programme)
    session.commit()
    return programme


def get_programme(session: Session, *, principal: Principal, programme_id: uuid.UUID) -> Programme:
    return get_visible(session, Programme, programme_id, principal, "programme")


def list_programmes(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                    track: str | None) -> tuple[list[Programme], int]:
    query = in_campuses(select(Programme), Programme.campus, principal).order_by(Programme.code)
    query = where_given(query, (Programme.campus, campus), (Programme.track, track))
    return paginate(session, query, page)


# -- cohorts ----------------------------------------------------------------
def snapshot(cohort: Cohort, programme: Programme) -> events.CohortSnapshot:
    return events.CohortSnapshot(
        cohort_id=cohort.id, programme_code=programme.code, programme_title=programme.title,
        campus=cohort.campus, track=programme.track, total_hours=programme.total_hours,
        completion_threshold=programme.completion_threshold, qualification_codes=programme.qualification_codes,
        start_date=cohort.start_date, end_date=cohort.end_date, capacity=cohort.capacity,
        sessions=[events.SessionSlot.model_validate(s) for s in cohort.sessions],
    )


def cohort_out(cohort: Cohort, programme: Programme) -> CohortOut:
    return CohortOut(id=cohort.id, programme_id=cohort.programme_id, programme_code=programme.code,
                     campus=cohort.campus, label=cohort.label, capacity=cohort.capacity,
                     application_opens=cohort.application_opens, application_closes=cohort.application_closes,
                     start_date=cohort.start_date, end_date=cohort.end_date,
                     selection_done=cohort.selection_done_at is not None, session_count=len(cohort.sessions))


def create_cohort(session: Session, *, principal: Principal, body: CohortIn) -> tuple[Cohort, Programme]:
    programme = session.get(Programme, body.programme_id)
    if programme is None or not principal.sees_campus(programme.campus):
        raise RuleViolation([RuleFailure("reference.programme", "no such programme is visible to you",
                                         "programme_id")])
    tt = body.timetable
    sessions = timetable.expand(body.start_date, body.end_date, tt.weekdays, tt.start, tt.end,
                                tt.break_minutes, frozenset(tt.holidays))
    if not sessions:
        raise RuleViolation([RuleFailure("cohort.no-sessions",
                                         "the timetable gives no session between the start and end dates",
                                         "timetable")])
    cohort = Cohort(
        programme_id=programme.id, campus=programme.campus, label=body.label, capacity=body.capacity,
        application_opens=body.application_opens, application_closes=body.application_closes,
        start_date=body.start_date, end_date=body.end_date, timetable=tt.model_dump(mode="json"),
        sessions=[events.SessionSlot(date=s.date, start=s.start, end=s.end, hours=s.hours).model_dump(mode="json")
                  for s in sessions],
    )
    session.add(cohort)
    session.flush()
    emit(session, events.COHORT_PUBLISHED, events.CohortPublished(**snapshot(cohort, programme).model_dump()))
    session.commit()
    return cohort, programme


def load_cohort(session: Session, *, principal: Principal, cohort_id: uuid.UUID, lock: bool = False) -> Cohort:
    return get_visible(session, Cohort, cohort_id, principal, "cohort", lock=lock)


def get_cohort(session: Session, *, principal: Principal, cohort_id: uuid.UUID) -> tuple[Cohort, Programme]:
    cohort = load_cohort(session, principal=principal, cohort_id=cohort_id)
    return cohort, session.get(Programme, cohort.programme_id)  # type: ignore[return-value]


def list_cohorts(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                 programme_id: uuid.UUID | None, open_on: date | None) -> tuple[list[tuple[Cohort, Programme]], int]:
    query = in_campuses(select(Cohort), Cohort.campus, principal).order_by(Cohort.start_date, Cohort.id)
    query = where_given(query, (Cohort.campus, campus), (Cohort.programme_id, programme_id))
    if open_on:
        query = query.where(Cohort.application_opens <= open_on, Cohort.application_closes >= open_on)
    cohorts, total = paginate(session, query, page)
    programmes = {p.id: p for p in session.execute(
        select(Programme).where(Programme.id.in_({c.programme_id for c in cohorts}))).scalars()}
    return [(c, programmes[c.programme_id]) for c in cohorts], total


def sessions_of(session: Session, *, principal: Principal, cohort_id: uuid.UUID) -> list[dict]:
    return load_cohort(session, principal=principal, cohort_id=cohort_id).sessions


def cohort_stats(session: Session, *, principal: Principal, cohort_id: uuid.UUID,
                 quota_percent: int) -> CohortStats:
    cohort = load_cohort(session, principal=principal, cohort_id=cohort_id)
    rows = session.execute(
        select(Application.status, Application.priority, Application.above_capacity, func.count())
        .where(Application.cohort_id == cohort_id)
        .group_by(Application.status, Application.priority, Application.above_capacity)
    ).all()
    count: dict[str, int] = {}
    priority_selected = above = 0
    for status, priority, above_capacity, n in rows:
        count[status] = count.get(status, 0) + n
        if status in ("selected", "accepted"):
            if above_capacity:
                above += n
            elif priority:
                priority_selected += n
    applications = sum(count.values())
    ineligible = count.get("ineligible", 0)
    seats_taken = sum(n for status, _p, above_capacity, n in rows
                      if status in ("selected", "accepted") and not above_capacity)
    return CohortStats(
        cohort_id=cohort.id, capacity=cohort.capacity, applications=applications,
        eligible=applications - ineligible, ineligible=ineligible,
        competition_ratio=selection.competition_ratio(applications, cohort.capacity),
        priority_quota=selection.priority_quota(cohort.capacity, quota_percent),
        selected=count.get("selected", 0), priority_selected=priority_selected, above_capacity=above,
        waitlisted=count.get("waitlisted", 0), accepted=count.get("accepted", 0),
        declined=count.get("declined", 0), withdrawn=count.get("withdrawn", 0),
        seats_taken=seats_taken, seats_free=max(cohort.capacity - seats_taken, 0),
    )
