"""The employers' pool, postings, matching graduates to postings, internships and the conversion incentive."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlmodel import Session

from services.placement.adapters.orm import Employer, Graduate, Incentive, Internship, Outcome, Posting, Qualification
from services.placement.domain import indicators, internships, outcomes
from services.placement.schemas import (ConvertIn, EmployerIn, IncentiveOut, InternshipIn, InternshipOut, MatchOut,
                                        PostingIn, PostingOut)
from services.placement.service_layer.graduates import _add_outcome, load_graduate
from services.placement.settings import Settings
from shared import events
from shared.auth import Principal
from shared.idempotency import Idempotency
from shared.outbox import emit
from shared.pagination import PageParams, paginate
from shared.problems import RuleFailure, RuleViolation, not_found
from shared.queries import in_campuses, where_given

# Latest outcomes that make a graduate no candidate for an internship.
NOT_CANDIDATES = outcomes.EMPLOYED | {"further_education", "military_service"}


def pay_policy(settings: Settings) -> internships.PayPolicy:
    return internships.PayPolicy(hourly_krw=settings.living_wage_hourly_krw,
                                 full_time_monthly_hours=settings.full_time_monthly_hours,
                                 full_time_weekly_hours=settings.full_time_weekly_hours,
                                 months=settings.internship_months)


# -- employers ------------------------------------------------------------------
def campus_known(session: Session, settings: Settings, code: str) -> bool:
    """Placement has no campus table: enrollment owns campuses and announces none. It knows a campus it has
    had a graduate from (trainee.completed / trainee.withdrawn carry the campus), or one configured in
    ``PLACEMENT_CAMPUSES`` (``TRAININGOPS_CAMPUSES``) for a campus whose first cohort has not finished yet."""
    if code in settings.campuses:
        return True
    return session.execute(select(Graduate.id).where(Graduate.campus == code).limit(1)).first() is not None


def create_employer(session: Session, *, principal: Principal, settings: Settings, body: EmployerIn) -> Employer:
    principal.check_campus(body.campus, "campus", body.campus)
    if not campus_known(session, settings, body.campus):
        raise RuleViolation([RuleFailure(
            "reference.campus", f"placement knows no campus '{body.campus}': it has had no graduate from it and "
            "it is not in PLACEMENT_CAMPUSES", "campus")])
    employer = Employer(**body.model_dump())
    session.add(employer)
    session.commit()
    return employer


def load_employer(session: Session, principal: Principal, employer_id: uuid.UUID) -> Employer:
    employer = session.get(Employer, employer_id)
    if employer is None or not principal.sees_campus(employer.campus):
        raise not_found("employer", employer_id)
    return employer


def list_employers(session: Session, *, principal: Principal, page: PageParams,
                   campus: str | None) -> tuple[list[Employer], int]:
    query = select(Employer).order_by(Employer.name, Employer.id)
    query = in_campuses(query, Employer.campus, principal)
    if campus:
        query = query.where(Employer.campus == campus)
    return paginate(session, query, page)


# -- postings -------------------------------------------------------------------
def posting_out(p: Posting, settings: Settings) -> PostingOut:
    return PostingOut(**p.model_dump(), monthly_pay=internships.monthly_pay(pay_policy(settings), p.weekly_hours))


def create_posting(session: Session, *, principal: Principal, settings: Settings, body: PostingIn) -> Posting:
    employer = load_employer(session, principal, body.employer_id)
    failures = internships.check_start(body.weekly_hours, pay_policy(settings))
    if failures:
        raise RuleViolation(failures)
    posting = Posting(**body.model_dump(), campus=employer.campus)
    session.add(posting)
    session.commit()
    return posting


def load_posting(session: Session, principal: Principal, posting_id: uuid.UUID) -> Posting:
    posting = session.get(Posting, posting_id)
    if posting is None or not principal.sees_campus(posting.campus):
        raise not_found("posting", posting_id)
    return posting


def list_postings(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                  employer_id: uuid.UUID | None, status: str | None) -> tuple[list[Posting], int]:
    query = select(Posting).order_by(Posting.created_at, Posting.id)
    query = in_campuses(query, Posting.campus, principal)
    query = where_given(query, (Posting.campus, campus), (Posting.employer_id, employer_id), (Posting.status, status))
    return paginate(session, query, page)


def matches(session: Session, *, principal: Principal, posting_id: uuid.UUID, limit: int) -> list[MatchOut]:
    """Graduates of the posting's campus who are still looking: not employed, studying or serving, not interning.

    Ranked by the posting's required qualifications they hold or trained for (obtained count double),
    then by the most recent completion.
    """
    posting = load_posting(session, principal, posting_id)
    latest = (select(Outcome.graduate_id, func.max(Outcome.sort_key).label("k"))
              .where(Outcome.campus == posting.campus).group_by(Outcome.graduate_id).subquery())
    interning = select(Internship.graduate_id).where(Internship.status == "active")
    rows = session.execute(
        select(Graduate, latest.c.k).outerjoin(latest, latest.c.graduate_id == Graduate.id)
        .where(Graduate.campus == posting.campus, Graduate.id.not_in(interning))
    ).all()
    required = set(posting.required_qualifications)
    obtained: dict[uuid.UUID, set[str]] = {}
    if required:
        for trainee_id, code in session.execute(select(Qualification.trainee_id, Qualification.qualification_code)
                                                .where(Qualification.qualification_code.in_(required))):
            obtained.setdefault(trainee_id, set()).add(code)
    out = []
    for g, key in rows:
        category = indicators.decode_key(key)[0] if key is not None else None
        if category in NOT_CANDIDATES:
            continue
        held = obtained.get(g.id, set())
        trained = required & set(g.qualification_codes)
        score = 2 * len(held) + len(trained - held)
        out.append(MatchOut(graduate_id=g.id, name=g.name, cohort_id=g.cohort_id, programme_code=g.programme_code,
                            completion_date=g.completion_date, latest_outcome=category,
                            matching_qualifications=sorted(held | trained), score=score))
    out.sort(key=lambda m: (-m.score, -m.completion_date.toordinal(), str(m.graduate_id)))
    return out[:limit]


# -- internships ----------------------------------------------------------------
def internship_out(i: Internship, incentive: Incentive | None = None) -> InternshipOut:
    return InternshipOut(**i.model_dump(),
                         incentive=IncentiveOut.model_validate(incentive, from_attributes=True) if incentive else None)


def start_internship(session: Session, *, principal: Principal, settings: Settings, body: InternshipIn,
                     idem: Idempotency | None) -> InternshipOut:
    if idem and (replayed := idem.replay(session, InternshipOut)):
        return replayed
    posting = load_posting(session, principal, body.posting_id)
    graduate = load_graduate(session, principal, body.graduate_id, lock=True)
    policy = pay_policy(settings)
    weekly = body.weekly_hours or posting.weekly_hours
    failures = internships.check_start(weekly, policy)
    if graduate.campus != posting.campus:
        failures.append(RuleFailure("internship.campus", "the graduate and the posting belong to different campuses",
                                    "graduate_id"))
    if posting.status != "open":
        failures.append(RuleFailure("posting.closed", "the posting is not open", "posting_id"))
    active = session.execute(select(Internship.id).where(Internship.graduate_id == graduate.id,
                                                         Internship.status == "active")).first()
    if active is not None:
        failures.append(RuleFailure("internship.already-active", "the graduate is already in an internship",
                                    "graduate_id"))
    if failures:
        raise RuleViolation(failures, status=409 if active is not None else 422)
    internship = Internship(posting_id=posting.id, employer_id=posting.employer_id, graduate_id=graduate.id,
                            campus=posting.campus, start_date=body.start_date,
                            end_date=internships.end_date(body.start_date, policy), weekly_hours=weekly,
                            hourly_krw=policy.hourly_krw, monthly_pay=internships.monthly_pay(policy, weekly),
                            total_pay=internships.total_pay(policy, weekly))
    session.add(internship)
    session.flush()
    result = internship_out(internship)
    if idem:
        idem.save(session, result, 201)
    session.commit()
    return result


def load_internship(session: Session, principal: Principal, internship_id: uuid.UUID,
                    lock: bool = False) -> Internship:
    query = select(Internship).where(Internship.id == internship_id)
    internship = session.execute(query.with_for_update() if lock else query).scalar()
    if internship is None or not principal.sees_campus(internship.campus):
        raise not_found("internship", internship_id)
    return internship


def get_internship(session: Session, *, principal: Principal, internship_id: uuid.UUID) -> InternshipOut:
    i = load_internship(session, principal, internship_id)
    incentive = session.execute(select(Incentive).where(Incentive.internship_id == i.id)).scalar()
    return internship_out(i, incentive)


def list_internships(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                     status: str | None, graduate_id: uuid.UUID | None) -> tuple[list[Internship], int]:
    query = select(Internship).order_by(Internship.start_date, Internship.id)
    query = in_campuses(query, Internship.campus, principal)
    query = where_given(query,
                        (Internship.campus, campus),
                        (Internship.status, status),
                        (Internship.graduate_id, graduate_id))
    return paginate(session, query, page)


def convert(session: Session, *, principal: Principal, settings: Settings, internship_id: uuid.UUID,
            body: ConvertIn, idem: Idempotency | None) -> InternshipOut:
    """Permanent hire: the incentive falls due once (a unique row per internship) and is published."""
    if idem and (replayed := idem.replay(session, InternshipOut)):
        return replayed
    internship = load_internship(session, principal, internship_id, lock=True)
    already = session.execute(select(Incentive.id).where(Incentive.internship_id == internship.id)).first()
    failures = internships.check_conversion(internship.status, already is not None, internship.start_date,
                                            body.hire_date)
    if failures:
        status = 409 if failures[0].rule in ("incentive.once-per-internship", "internship.cancelled") else 422
        raise RuleViolation(failures, status=status)
    internship.status, internship.hire_date = "converted", body.hire_date
    incentive = Incentive(internship_id=internship.id, employer_id=internship.employer_id,
                          graduate_id=internship.graduate_id, campus=internship.campus,
                          amount=settings.conversion_incentive_krw, due_on=body.hire_date)
    session.add(incentive)
    session.flush()
    emit(session, events.INCENTIVE_DUE, events.IncentiveDue(
        internship_id=internship.id, employer_id=internship.employer_id, trainee_id=internship.graduate_id,
        campus=internship.campus, amount=incentive.amount))
    graduate = session.get(Graduate, internship.graduate_id)
    employer = session.get(Employer, internship.employer_id)
    assert graduate is not None and employer is not None
    as_of = max(body.hire_date, graduate.completion_date)
    _add_outcome(session, graduate, category="employed", as_of=as_of,
                 employment=outcomes.Employment(employer.name, body.hire_date, "regular", body.insured,
                                                body.monthly_wage),
                 source="internship_conversion", recorded_by=principal.sub, note="", employer_id=employer.id)
    result = internship_out(internship, incentive)
    if idem:
        idem.save(session, result)
    session.commit()
    return result


def list_incentives(session: Session, *, principal: Principal, page: PageParams,
                    campus: str | None) -> tuple[list[Incentive], int]:
    query = select(Incentive).order_by(Incentive.due_on, Incentive.id)
    query = in_campuses(query, Incentive.campus, principal)
    if campus:
        query = query.where(Incentive.campus == campus)
    return paginate(session, query, page)
