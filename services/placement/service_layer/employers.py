"""The employers' pool and their postings, and the graduates still looking who match a posting."""

from __future__ import annotations

import uuid

from services.placement.adapters.orm import Employer, Posting
from services.placement.adapters.repository import PlacementRepository
from services.placement.domain import indicators, internships
from services.placement.schemas import EmployerIn, EmployerOut, MatchOut, PostingCloseIn, PostingIn, PostingOut
from services.placement.service_layer.access import load_employer, load_posting
from services.placement.service_layer.checks import day_not_after_today
from services.placement.service_layer.policy import policies
from services.placement.settings import Settings
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.problems import RuleFailure, RuleViolation
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[PlacementRepository]


def employer_out(e: Employer) -> EmployerOut:
    return EmployerOut.model_validate(e, from_attributes=True)


def posting_out(p: Posting, pay: internships.PayPolicy) -> PostingOut:
    return PostingOut(**p.model_dump(), monthly_pay=internships.monthly_pay(pay, p.weekly_hours))


# -- employers ---------------------------------------------------------------------------------
def campus_known(repo: PlacementRepository, settings: Settings, code: str) -> bool:
    """Placement has no campus table: enrollment owns campuses and announces none. It knows a campus it has
    had a graduate from (trainee.completed / trainee.withdrawn carry the campus), or one configured in
    ``PLACEMENT_CAMPUSES`` (``TRAININGOPS_CAMPUSES``) for a campus whose first cohort has not finished yet."""
    return code in settings.campuses or repo.has_graduate_from(code)


def create_employer(
    uow: Uow, clock: Clock, *, principal: Principal, settings: Settings, body: EmployerIn
) -> EmployerOut:
    day_not_after_today(body.joined_on, clock, "body.joined_on")
    with uow:
        principal.check_campus(body.campus, "campus", body.campus)
        if not campus_known(uow.repo, settings, body.campus):
            raise RuleViolation(
                [
                    RuleFailure(
                        "reference.campus",
                        f"placement knows no campus '{body.campus}': it has had no graduate from it "
                        "and it is not in PLACEMENT_CAMPUSES",
                        "campus",
                    )
                ]
            )
        employer = Employer(**body.model_dump())
        uow.repo.add_employer(employer)
        out = employer_out(employer)
        uow.commit()
        return out


def get_employer(uow: Uow, *, principal: Principal, employer_id: uuid.UUID) -> EmployerOut:
    with uow:
        return employer_out(load_employer(uow.repo, principal, employer_id))


def list_employers(uow: Uow, *, principal: Principal, page: PageParams, campus: str | None) -> Page[EmployerOut]:
    with uow:
        items, total = uow.repo.employers(scope=principal.campus_filter(), page=page, campus=campus)
        return Page(items=[employer_out(e) for e in items], total=total, limit=page.limit, offset=page.offset)


# -- postings ----------------------------------------------------------------------------------
def create_posting(uow: Uow, *, principal: Principal, settings: Settings, body: PostingIn) -> PostingOut:
    pay = policies(settings).pay
    with uow:
        employer = load_employer(uow.repo, principal, body.employer_id)
        failures = internships.check_start(body.weekly_hours, pay)
        if failures:
            raise RuleViolation(failures)
        posting = Posting(**body.model_dump(), campus=employer.campus)
        uow.repo.add_posting(posting)
        out = posting_out(posting, pay)
        uow.commit()
        return out


def get_posting(uow: Uow, *, principal: Principal, settings: Settings, posting_id: uuid.UUID) -> PostingOut:
    with uow:
        return posting_out(load_posting(uow.repo, principal, posting_id), policies(settings).pay)


def list_postings(
    uow: Uow,
    *,
    principal: Principal,
    settings: Settings,
    page: PageParams,
    campus: str | None,
    employer_id: uuid.UUID | None,
    status: str | None,
) -> Page[PostingOut]:
    pay = policies(settings).pay
    with uow:
        items, total = uow.repo.postings(
            scope=principal.campus_filter(), page=page, campus=campus, employer_id=employer_id, status=status
        )
        return Page(items=[posting_out(p, pay) for p in items], total=total, limit=page.limit, offset=page.offset)


def posting_closed() -> RuleViolation:
    """A closed posting takes no new internship and offers no new matches: a 409 naming the rule."""
    return RuleViolation(
        [RuleFailure("posting.closed", "the posting is closed: it takes no new internship", "posting_id")], status=409
    )


def close_posting(
    uow: Uow, *, principal: Principal, settings: Settings, posting_id: uuid.UUID, body: PostingCloseIn
) -> PostingOut:
    """Close a posting. Closing a closed posting changes nothing and answers the same closed posting (its first
    reason and time kept), so a retried or doubled request is harmless."""
    with uow:
        posting = load_posting(uow.repo, principal, posting_id, lock=True)
        if posting.status != "closed":
            posting.status, posting.closed_at, posting.closed_by = "closed", utcnow(), principal.sub
            posting.close_reason = body.reason.strip()
        out = posting_out(posting, policies(settings).pay)
        uow.commit()
        return out


def matches(uow: Uow, *, principal: Principal, posting_id: uuid.UUID, limit: int) -> list[MatchOut]:
    """Graduates of the posting's campus who are still looking: not employed, studying or serving, not interning.

    Ranked by the posting's required qualifications they hold or trained for (obtained count double),
    then by the most recent completion. A closed posting is matched to nobody (409, posting.closed).
    """
    with uow:
        posting = load_posting(uow.repo, principal, posting_id)
        if posting.status == "closed":
            raise posting_closed()
        required = set(posting.required_qualifications)
        obtained = uow.repo.holders(required)
        out = []
        for g, key in uow.repo.still_looking(posting.campus):
            category = indicators.decode_key(key)[0] if key is not None else None
            if category in internships.NOT_CANDIDATES:
                continue
            held = obtained.get(g.id, set())
            trained = required & set(g.qualification_codes)
            score = 2 * len(held) + len(trained - held)
            out.append(
                MatchOut(
                    graduate_id=g.id,
                    name=g.name,
                    cohort_id=g.cohort_id,
                    programme_code=g.programme_code,
                    completion_date=g.completion_date,
                    latest_outcome=category,
                    matching_qualifications=sorted(held | trained),
                    score=score,
                )
            )
    out.sort(key=lambda m: (-m.score, -m.completion_date.toordinal(), str(m.graduate_id)))
    return out[:limit]
