"""The graduate's file: opened from trainee.completed (or an early-employment withdrawal) with a year of
follow-ups, qualifications attached as they are obtained, an officer assigned, and read back in one piece."""

from __future__ import annotations

import uuid
from datetime import date

from services.placement.adapters.orm import Followup, Graduate, Qualification
from services.placement.adapters.repository import PlacementRepository
from services.placement.domain import followups as fu
from services.placement.domain import indicators
from services.placement.schemas import GraduateDetail, GraduateOut, QualificationOut
from services.placement.service_layer.access import load_graduate
from services.placement.service_layer.followups import followup_out
from services.placement.service_layer.outcomes import add_outcome, outcome_out
from services.placement.service_layer.policy import policies
from services.placement.settings import Settings
from shared import events
from shared.auth import Principal
from shared.clock import Clock
from shared.pagination import Page, PageParams
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[PlacementRepository]


def graduate_out(g: Graduate) -> GraduateOut:
    return GraduateOut.model_validate(g, from_attributes=True)


# -- from events (inside the consumer's unit of work: no commit here) -------------------------
def register_graduate(
    uow: Uow,
    settings: Settings,
    *,
    trainee_id: uuid.UUID,
    cohort_id: uuid.UUID,
    campus: str,
    programme_code: str,
    completion_date: date,
    name: str = "",
    qualification_codes: list[str] | None = None,
    final_rate: float | None = None,
    early_employment: bool = False,
) -> Graduate | None:
    """A completer (or early-employment leaver) and their follow-ups; a second notice changes nothing."""
    repo = uow.repo
    if repo.graduate(trainee_id) is not None:
        return None
    cp = indicators.checkpoints(completion_date)
    graduate = Graduate(
        id=trainee_id,
        cohort_id=cohort_id,
        campus=campus,
        programme_code=programme_code,
        name=name,
        completion_date=completion_date,
        final_rate=final_rate,
        early_employment=early_employment,
        qualification_codes=list(qualification_codes or []),
        first_qualification=repo.first_qualification(trainee_id),
        at_6m=cp.at_6m,
        at_12m=cp.at_12m,
        cert_deadline=cp.cert_deadline,
        q2_end=cp.q2_end,
        q4_end=cp.q4_end,
    )
    repo.add_graduate(
        graduate,
        [
            Followup(
                graduate_id=trainee_id,
                campus=campus,
                months=p.months,
                due_date=p.due_date,
                window_opens=p.window_opens,
                overdue_after=p.overdue_after,
            )
            for p in fu.schedule(completion_date, policies(settings).followup)
        ],
    )
    if early_employment:
        # They left the course for a job: employed on the day they left; officers confirm the details later.
        add_outcome(
            uow,
            graduate,
            category="employed",
            as_of=completion_date,
            employment=None,
            source="early_employment",
            recorded_by="system",
            note="",
            close_followups=False,
        )
    return graduate


def attach_qualification(uow: Uow, *, data: events.QualificationObtained) -> None:
    repo = uow.repo
    if not repo.qualification_known(data.trainee_id, data.qualification_code, data.date):
        repo.add_qualification(
            Qualification(
                trainee_id=data.trainee_id,
                qualification_code=data.qualification_code,
                grade=data.grade,
                obtained_on=data.date,
                campus=data.campus,
            )
        )
    graduate = repo.graduate(data.trainee_id)
    if graduate is not None and (graduate.first_qualification is None or data.date < graduate.first_qualification):
        graduate.first_qualification = data.date


# -- over HTTP ---------------------------------------------------------------------------------
def list_graduates(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    campus: str | None,
    cohort_id: uuid.UUID | None,
    officer: str | None,
) -> Page[GraduateOut]:
    with uow:
        items, total = uow.repo.graduates(
            scope=principal.campus_filter(), page=page, campus=campus, cohort_id=cohort_id, officer=officer
        )
        return Page(items=[graduate_out(g) for g in items], total=total, limit=page.limit, offset=page.offset)


def graduate_detail(
    uow: Uow, clock: Clock, *, principal: Principal, graduate_id: uuid.UUID, on: date | None = None
) -> GraduateDetail:
    on = on or clock.today()
    with uow:
        g = load_graduate(uow.repo, principal, graduate_id)
        return GraduateDetail(
            **graduate_out(g).model_dump(),
            followups=[followup_out(f, g, on) for f in uow.repo.followups_of(g.id)],
            outcomes=[outcome_out(o) for o in uow.repo.outcomes_of(g.id)],
            qualifications=[
                QualificationOut.model_validate(q, from_attributes=True) for q in uow.repo.qualifications_of(g.id)
            ],
        )


def assign_officer(uow: Uow, *, principal: Principal, graduate_id: uuid.UUID, officer: str | None) -> GraduateOut:
    with uow:
        g = load_graduate(uow.repo, principal, graduate_id)
        g.officer = officer
        out = graduate_out(g)
        uow.commit()
        return out
