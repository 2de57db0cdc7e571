"""Recording a graduate's dated outcome: it closes the follow-ups it answers and outcome.recorded goes out."""

from __future__ import annotations

import uuid
from datetime import date

from services.placement.adapters.orm import Graduate, Outcome
from services.placement.adapters.repository import PlacementRepository
from services.placement.domain import followups as fu
from services.placement.domain import indicators, outcomes
from services.placement.domain.calendar import add_months
from services.placement.schemas import OutcomeIn, OutcomeOut
from services.placement.service_layer import outgoing
from services.placement.service_layer.access import load_graduate
from shared.auth import Principal
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.problems import RuleFailure, RuleViolation
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[PlacementRepository]


def months_after(completion: date, as_of: date) -> int:
    m = 0
    while add_months(completion, m + 1) <= as_of:
        m += 1
    return m


def outcome_out(o: Outcome, closed: list[int] | None = None) -> OutcomeOut:
    return OutcomeOut.model_validate({**o.model_dump(), "closed_followups": closed or []})


def add_outcome(
    uow: Uow,
    graduate: Graduate,
    *,
    category: str,
    as_of: date,
    employment: outcomes.Employment | None,
    source: str,
    recorded_by: str,
    note: str,
    employer_id: uuid.UUID | None = None,
    close_followups: bool = True,
) -> tuple[Outcome, list[int]]:
    """The outcome, the follow-ups it closes (their months) and its event, in the open unit of work."""
    seq = graduate.outcome_count
    graduate.outcome_count = seq + 1
    wage = employment.monthly_wage if employment else None
    o = Outcome(
        graduate_id=graduate.id,
        campus=graduate.campus,
        category=category,
        as_of=as_of,
        months_after_completion=months_after(graduate.completion_date, as_of),
        seq=seq,
        sort_key=indicators.sort_key(as_of, seq, category, wage),
        employer_id=employer_id,
        employer_name=employment.employer_name if employment else None,
        start_date=employment.start_date if employment else None,
        employment_type=employment.employment_type if employment else None,
        insured=employment.insured if employment else None,
        monthly_wage=wage,
        source=source,
        note=note,
        recorded_by=recorded_by,
    )
    uow.repo.add_outcome(o)
    closed: list[int] = []
    if close_followups:
        for f in uow.repo.open_followups(graduate.id):
            if fu.closes(f.window_opens, as_of):
                f.done_at, f.outcome_id = utcnow(), o.id
                closed.append(f.months)
    uow.emit(*outgoing.outcome_recorded(graduate, o))
    return o, sorted(closed)


def record_outcome(uow: Uow, *, principal: Principal, body: OutcomeIn) -> OutcomeOut:
    with uow:
        repo = uow.repo
        graduate = load_graduate(repo, principal, body.graduate_id, lock=True)
        emp = body.employment
        employment = (
            None
            if emp is None
            else outcomes.Employment(
                employer_name=emp.employer_name,
                start_date=emp.start_date,
                employment_type=emp.employment_type,
                insured=emp.insured,
                monthly_wage=emp.monthly_wage,
            )
        )
        failures = outcomes.check_outcome(body.category, body.as_of, graduate.completion_date, employment)
        employer_id = emp.employer_id if emp else None
        if emp and employer_id is not None:
            employer = repo.employer(employer_id)
            if employer is None or not principal.sees_campus(employer.campus):
                failures.append(
                    RuleFailure("outcome.unknown-employer", "no such employer in your pool", "employment.employer_id")
                )
            elif employment is not None and employment.employer_name is None:
                employment = outcomes.Employment(
                    employer.name,
                    employment.start_date,
                    employment.employment_type,
                    employment.insured,
                    employment.monthly_wage,
                )
        if failures:
            raise RuleViolation(failures)
        o, closed = add_outcome(
            uow,
            graduate,
            category=body.category,
            as_of=body.as_of,
            employment=employment,
            source="officer",
            recorded_by=principal.sub,
            note=body.note,
            employer_id=employer_id,
        )
        out = outcome_out(o, closed)
        uow.commit()
        return out


def list_outcomes(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    graduate_id: uuid.UUID | None,
    campus: str | None,
    category: str | None,
) -> Page[OutcomeOut]:
    with uow:
        items, total = uow.repo.outcomes(
            scope=principal.campus_filter(), page=page, graduate_id=graduate_id, campus=campus, category=category
        )
        return Page(items=[outcome_out(o) for o in items], total=total, limit=page.limit, offset=page.offset)
