"""Campuses, programmes and cohorts: what admissions publishes."""

from __future__ import annotations

import uuid
from datetime import date

from services.enrollment.adapters.orm import Campus, Cohort, Programme
from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.domain import selection, timetable
from services.enrollment.domain.eligibility import DEFAULT_RESIDENCY
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.schemas import (
    CampusIn,
    CampusOut,
    CohortIn,
    CohortOut,
    CohortStats,
    ProgrammeIn,
    ProgrammeOut,
    SessionOut,
)
from services.enrollment.service_layer import outgoing
from shared import events
from shared.auth import Principal
from shared.pagination import Page, PageParams
from shared.problems import RuleFailure, RuleViolation, conflict
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]


# -- campuses ---------------------------------------------------------------
def campus_out(c: Campus) -> CampusOut:
    return CampusOut.model_validate(c, from_attributes=True)


def create_campus(uow: Uow, *, principal: Principal, body: CampusIn) -> CampusOut:
    principal.check_campus(body.code, "campus", body.code)
    with uow:
        if uow.repo.campus(body.code) is not None:
            raise conflict("campus-exists", f"Campus {body.code} already exists.")
        campus = Campus(**body.model_dump())
        uow.repo.add(campus)
        uow.commit()
        return campus_out(campus)


def list_campuses(uow: Uow, *, principal: Principal) -> list[CampusOut]:
    with uow:
        return [campus_out(c) for c in uow.repo.campuses(principal)]


def require_campus(repo: EnrollmentRepository, principal: Principal, code: str) -> None:
    if not principal.sees_campus(code) or repo.campus(code) is None:
        raise RuleViolation([RuleFailure("reference.campus", f"no campus '{code}' is visible to you", "campus")])


# -- programmes -------------------------------------------------------------
def programme_out(p: Programme) -> ProgrammeOut:
    return ProgrammeOut.model_validate(p, from_attributes=True)


def create_programme(uow: Uow, *, principal: Principal, body: ProgrammeIn) -> ProgrammeOut:
    with uow:
        require_campus(uow.repo, principal, body.campus)
        if uow.repo.programme_code_taken(body.code):
            raise conflict("programme-exists", f"A programme with code {body.code} already exists.")
        data = body.model_dump()
        data["allowed_residency"] = sorted(body.allowed_residency or DEFAULT_RESIDENCY)
        programme = Programme(**data)
        uow.repo.add(programme)
        uow.commit()
        return programme_out(programme)


def get_programme(uow: Uow, *, principal: Principal, programme_id: uuid.UUID) -> ProgrammeOut:
    with uow:
        return programme_out(uow.repo.visible_programme(principal, programme_id))


def list_programmes(
    uow: Uow, *, principal: Principal, page: PageParams, campus: str | None, track: str | None
) -> Page[ProgrammeOut]:
    with uow:
        items, total = uow.repo.programmes(principal, page, campus=campus, track=track)
        return Page(items=[programme_out(p) for p in items], total=total, limit=page.limit, offset=page.offset)


# -- cohorts ----------------------------------------------------------------
def cohort_out(cohort: Cohort, programme: Programme) -> CohortOut:
    return CohortOut(
        id=cohort.id,
        programme_id=cohort.programme_id,
        programme_code=programme.code,
        campus=cohort.campus,
        label=cohort.label,
        capacity=cohort.capacity,
        application_opens=cohort.application_opens,
        application_closes=cohort.application_closes,
        start_date=cohort.start_date,
        end_date=cohort.end_date,
        selection_done=cohort.selection_done_at is not None,
        session_count=len(cohort.sessions),
        plan_version=cohort.plan_version,
    )


def create_cohort(uow: Uow, *, principal: Principal, body: CohortIn) -> CohortOut:
    tt = body.timetable
    sessions = timetable.expand(
        body.start_date, body.end_date, tt.weekdays, tt.start, tt.end, tt.break_minutes, frozenset(tt.holidays)
    )
    with uow:
        programme = uow.repo.programme(body.programme_id)
        if programme is None or not principal.sees_campus(programme.campus):
            raise RuleViolation(
                [RuleFailure("reference.programme", "no such programme is visible to you", "programme_id")]
            )
        if not sessions:
            raise RuleViolation(
                [
                    RuleFailure(
                        "cohort.no-sessions",
                        "the timetable gives no session between the start and end dates",
                        "timetable",
                    )
                ]
            )
        cohort = Cohort(
            programme_id=programme.id,
            campus=programme.campus,
            label=body.label,
            capacity=body.capacity,
            application_opens=body.application_opens,
            application_closes=body.application_closes,
            start_date=body.start_date,
            end_date=body.end_date,
            timetable=tt.model_dump(mode="json"),
            sessions=[
                events.SessionSlot(date=s.date, start=s.start, end=s.end, hours=s.hours).model_dump(mode="json")
                for s in sessions
            ],
        )
        uow.repo.add(cohort)
        uow.emit(*outgoing.cohort_published(cohort, programme))
        uow.commit()
        return cohort_out(cohort, programme)


def get_cohort(uow: Uow, *, principal: Principal, cohort_id: uuid.UUID) -> CohortOut:
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id)
        programme = uow.repo.programme(cohort.programme_id)
        assert programme is not None
        return cohort_out(cohort, programme)


def list_cohorts(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    campus: str | None,
    programme_id: uuid.UUID | None,
    open_on: date | None,
) -> Page[CohortOut]:
    with uow:
        items, total = uow.repo.cohorts(principal, page, campus=campus, programme_id=programme_id, open_on=open_on)
        return Page(items=[cohort_out(c, p) for c, p in items], total=total, limit=page.limit, offset=page.offset)


def sessions_of(uow: Uow, *, principal: Principal, cohort_id: uuid.UUID) -> list[SessionOut]:
    with uow:
        return [SessionOut.model_validate(s) for s in uow.repo.visible_cohort(principal, cohort_id).sessions]


def cohort_stats(uow: Uow, *, principal: Principal, policy: AdmissionsPolicy, cohort_id: uuid.UUID) -> CohortStats:
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id)
        rows = uow.repo.application_counts(cohort_id)
        count: dict[str, int] = {}
        priority_selected = above = offered_above = 0
        for status, priority, above_capacity, n in rows:
            count[status] = count.get(status, 0) + n
            if status == "selected" and above_capacity:
                offered_above += n
            if status in ("selected", "accepted"):
                if above_capacity:
                    above += n
                elif priority:
                    priority_selected += n
        applications = sum(count.values())
        ineligible = count.get("ineligible", 0)
        seats_taken = sum(
            n for status, _p, above_capacity, n in rows if status in ("selected", "accepted") and not above_capacity
        )
        return CohortStats(
            cohort_id=cohort.id,
            capacity=cohort.capacity,
            applications=applications,
            eligible=applications - ineligible,
            ineligible=ineligible,
            competition_ratio=selection.competition_ratio(applications, cohort.capacity),
            priority_quota=selection.priority_quota(cohort.capacity, policy.selection.priority_quota_percent),
            selected_within_capacity=count.get("selected", 0) - offered_above,
            selected_above_capacity=offered_above,
            priority_selected=priority_selected,
            above_capacity=above,
            waitlisted=count.get("waitlisted", 0),
            accepted=count.get("accepted", 0),
            declined=count.get("declined", 0),
            withdrawn=count.get("withdrawn", 0),
            seats_taken=seats_taken,
            seats_free=max(cohort.capacity - seats_taken, 0),
        )
