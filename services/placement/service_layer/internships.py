"""Internships at the living wage, and the employer's conversion incentive (once per internship)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.placement.adapters.orm import Incentive, Internship
from services.placement.adapters.repository import PlacementRepository
from services.placement.domain import internships, outcomes
from services.placement.schemas import ConvertIn, IncentiveOut, InternshipEndIn, InternshipIn, InternshipOut
from services.placement.service_layer import outgoing
from services.placement.service_layer.access import load_graduate, load_internship, load_posting
from services.placement.service_layer.checks import day_not_after_today
from services.placement.service_layer.employers import posting_closed
from services.placement.service_layer.outcomes import add_outcome
from services.placement.service_layer.policy import policies
from services.placement.settings import Settings
from shared.auth import Principal
from shared.clock import Clock
from shared.idempotency import Idempotency
from shared.pagination import Page, PageParams
from shared.problems import RuleFailure, RuleViolation
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[PlacementRepository]


def incentive_out(i: Incentive) -> IncentiveOut:
    return IncentiveOut.model_validate(i, from_attributes=True)


def internship_out(i: Internship, incentive: Incentive | None = None) -> InternshipOut:
    return InternshipOut(**i.model_dump(), incentive=incentive_out(incentive) if incentive else None)


def start_internship(
    uow: Uow, *, principal: Principal, settings: Settings, body: InternshipIn, idem: Idempotency | None
) -> InternshipOut:
    pay = policies(settings).pay
    with uow:
        if replayed := uow.replay(idem, InternshipOut):
            return replayed
        repo = uow.repo
        posting = load_posting(repo, principal, body.posting_id, lock=True)
        graduate = load_graduate(repo, principal, body.graduate_id, lock=True)
        weekly = body.weekly_hours or posting.weekly_hours
        failures = internships.check_start(weekly, pay)
        if graduate.campus != posting.campus:
            failures.append(
                RuleFailure(
                    "internship.campus", "the graduate and the posting belong to different campuses", "graduate_id"
                )
            )
        closed = posting.status == "closed"
        if closed:  # a closed posting takes no new internship
            failures.extend(posting_closed().errors)
        active = repo.in_active_internship(graduate.id)
        if active:
            failures.append(
                RuleFailure("internship.already-active", "the graduate is already in an internship", "graduate_id")
            )
        if failures:
            raise RuleViolation(failures, status=409 if active or closed else 422)
        internship = Internship(
            posting_id=posting.id,
            employer_id=posting.employer_id,
            graduate_id=graduate.id,
            campus=posting.campus,
            start_date=body.start_date,
            end_date=internships.end_date(body.start_date, pay),
            weekly_hours=weekly,
            hourly_krw=pay.hourly_krw,
            monthly_pay=internships.monthly_pay(pay, weekly),
            total_pay=internships.total_pay(pay, weekly),
        )
        repo.add_internship(internship)
        result = internship_out(internship)
        uow.remember(idem, result, 201)
        uow.commit()
        return result


def get_internship(uow: Uow, *, principal: Principal, internship_id: uuid.UUID) -> InternshipOut:
    with uow:
        i = load_internship(uow.repo, principal, internship_id)
        return internship_out(i, uow.repo.incentive_of(i.id))


def list_internships(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    campus: str | None,
    status: str | None,
    graduate_id: uuid.UUID | None,
) -> Page[InternshipOut]:
    with uow:
        items, total = uow.repo.internships(
            scope=principal.campus_filter(), page=page, campus=campus, status=status, graduate_id=graduate_id
        )
        return Page(items=[internship_out(i) for i in items], total=total, limit=page.limit, offset=page.offset)


def convert(
    uow: Uow,
    *,
    principal: Principal,
    settings: Settings,
    internship_id: uuid.UUID,
    body: ConvertIn,
    idem: Idempotency | None,
) -> InternshipOut:
    """Permanent hire: the incentive falls due once (a unique row per internship) and is published."""
    amount = policies(settings).incentive.amount_krw
    with uow:
        if replayed := uow.replay(idem, InternshipOut):
            return replayed
        repo = uow.repo
        internship = load_internship(repo, principal, internship_id, lock=True)
        already = repo.incentive_of(internship.id)
        failures = internships.check_conversion(
            internship.status, already is not None, internship.start_date, body.hire_date
        )
        if failures:
            conflicts = ("incentive.once-per-internship", "internship.cancelled", "internship.ended-early")
            status = 409 if failures[0].rule in conflicts else 422
            raise RuleViolation(failures, status=status)
        internship.status, internship.hire_date = "converted", body.hire_date
        if body.hire_date <= internship.end_date:  # hired before the term ran out: the intern was paid until then
            internship.total_pay = internships.pay_until(
                internship.start_date,
                body.hire_date - timedelta(days=1),
                internship.monthly_pay,
                internships.term_months(internship.start_date, internship.end_date),
            )
        incentive = Incentive(
            internship_id=internship.id,
            employer_id=internship.employer_id,
            graduate_id=internship.graduate_id,
            campus=internship.campus,
            amount=amount,
            due_on=body.hire_date,
        )
        repo.add_incentive(incentive)
        uow.emit(*outgoing.incentive_due(internship, incentive))
        graduate = repo.graduate(internship.graduate_id)
        employer = repo.employer(internship.employer_id)
        assert graduate is not None and employer is not None
        as_of = max(body.hire_date, graduate.completion_date)
        add_outcome(
            uow,
            graduate,
            category="employed",
            as_of=as_of,
            employment=outcomes.Employment(employer.name, body.hire_date, "regular", body.insured, body.monthly_wage),
            source="internship_conversion",
            recorded_by=principal.sub,
            note="",
            employer_id=employer.id,
        )
        result = internship_out(internship, incentive)
        uow.remember(idem, result)
        uow.commit()
        return result


def end_early(
    uow: Uow,
    clock: Clock,
    *,
    principal: Principal,
    internship_id: uuid.UUID,
    body: InternshipEndIn,
    idem: Idempotency | None,
) -> InternshipOut:
    """End an active internship on ``body.date`` (its last day worked): the pay becomes that of the days worked,
    the graduate is free for another internship, and the internship can no longer be converted."""
    day_not_after_today(body.date, clock, "body.date")
    with uow:
        if replayed := uow.replay(idem, InternshipOut):
            return replayed
        internship = load_internship(uow.repo, principal, internship_id, lock=True)
        failures = internships.check_early_end(internship.status, internship.start_date, internship.end_date, body.date)
        if failures:
            raise RuleViolation(failures, status=409 if failures[0].rule == "internship.not-active" else 422)
        internship.status, internship.ended_on, internship.ended_by = "ended_early", body.date, principal.sub
        internship.end_reason = body.reason.strip()
        # The monthly pay fixed when the internship started, whatever the living wage setting says today.
        internship.total_pay = internships.pay_until(
            internship.start_date,
            body.date,
            internship.monthly_pay,
            internships.term_months(internship.start_date, internship.end_date),
        )
        result = internship_out(internship)
        uow.remember(idem, result)
        uow.commit()
        return result


def list_incentives(uow: Uow, *, principal: Principal, page: PageParams, campus: str | None) -> Page[IncentiveOut]:
    with uow:
        items, total = uow.repo.incentives(scope=principal.campus_filter(), page=page, campus=campus)
        return Page(items=[incentive_out(i) for i in items], total=total, limit=page.limit, offset=page.offset)
