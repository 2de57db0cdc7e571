"""Graduates from events, their follow-ups, contact attempts and outcomes."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlmodel import Session

from services.placement.adapters.orm import ContactAttempt, Employer, Followup, Graduate, Outcome, Qualification
from services.placement.domain import followups as fu
from services.placement.domain import indicators, outcomes
from services.placement.domain.calendar import add_months
from services.placement.schemas import (ContactIn, ContactOut, FollowupOut, GraduateDetail, GraduateOut, OutcomeIn,
                                        OutcomeOut, QualificationOut)
from services.placement.settings import Settings
from shared import events
from shared.auth import Principal
from shared.db import utcnow
from shared.outbox import emit
from shared.pagination import PageParams, paginate
from shared.problems import RuleFailure, RuleViolation, not_found
from shared.queries import in_campuses, where_given


def policy(settings: Settings) -> fu.FollowupPolicy:
    return fu.FollowupPolicy(months=tuple(settings.followup_months), lead_days=settings.followup_lead_days,
                             grace_days=settings.followup_grace_days)


# -- from events (called inside the consumer's transaction: no commit here) -------
def register_graduate(session: Session, *, settings: Settings, trainee_id: uuid.UUID, cohort_id: uuid.UUID,
                      campus: str, programme_code: str, completion_date: date, name: str = "",
                      qualification_codes: list[str] | None = None, final_rate: float | None = None,
                      early_employment: bool = False) -> Graduate | None:
    """A completer (or early-employment leaver) and their follow-ups; a second notice changes nothing."""
    if session.get(Graduate, trainee_id) is not None:
        return None
    cp = indicators.checkpoints(completion_date)
    first_qual = session.execute(select(func.min(Qualification.obtained_on))
                                 .where(Qualification.trainee_id == trainee_id)).scalar_one()
    graduate = Graduate(id=trainee_id, cohort_id=cohort_id, campus=campus, programme_code=programme_code, name=name,
                        completion_date=completion_date, final_rate=final_rate, early_employment=early_employment,
                        qualification_codes=list(qualification_codes or []), first_qualification=first_qual,
                        at_6m=cp.at_6m, at_12m=cp.at_12m, cert_deadline=cp.cert_deadline, q2_end=cp.q2_end,
                        q4_end=cp.q4_end)
    session.add(graduate)
    session.flush()  # no ORM relationships: the graduate row goes in before its follow-ups
    for p in fu.schedule(completion_date, policy(settings)):
        session.add(Followup(graduate_id=trainee_id, campus=campus, months=p.months, due_date=p.due_date,
                             window_opens=p.window_opens, overdue_after=p.overdue_after))
    session.flush()
    if early_employment:
        # They left the course for a job: employed on the day they left; officers confirm the details later.
        _add_outcome(session, graduate, category="employed", as_of=completion_date, employment=None,
                     source="early_employment", recorded_by="system", note="", close_followups=False)
    return graduate


def attach_qualification(session: Session, *, data: events.QualificationObtained) -> None:
    exists = session.execute(select(Qualification.id).where(
        Qualification.trainee_id == data.trainee_id, Qualification.qualification_code == data.qualification_code,
        Qualification.obtained_on == data.date)).first()
    if exists is None:
        session.add(Qualification(trainee_id=data.trainee_id, qualification_code=data.qualification_code,
                                  grade=data.grade, obtained_on=data.date, campus=data.campus))
    graduate = session.get(Graduate, data.trainee_id)
    if graduate is not None and (graduate.first_qualification is None or data.date < graduate.first_qualification):
        graduate.first_qualification = data.date
    session.flush()


# -- graduates ------------------------------------------------------------------
def load_graduate(session: Session, principal: Principal, graduate_id: uuid.UUID, *, lock: bool = False) -> Graduate:
    if lock:
        graduate = session.execute(select(Graduate).where(Graduate.id == graduate_id).with_for_update()).scalar()
    else:
        graduate = session.get(Graduate, graduate_id)
    if graduate is None:
        raise not_found("graduate", graduate_id)
    principal.check_campus(graduate.campus, "graduate", graduate_id)
    return graduate


def graduate_out(g: Graduate) -> GraduateOut:
    return GraduateOut.model_validate(g, from_attributes=True)


def list_graduates(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                   cohort_id: uuid.UUID | None, officer: str | None) -> tuple[list[Graduate], int]:
    query = select(Graduate).order_by(Graduate.completion_date, Graduate.id)
    query = in_campuses(query, Graduate.campus, principal)
    query = where_given(query, (Graduate.campus, campus), (Graduate.cohort_id, cohort_id), (Graduate.officer, officer))
    return paginate(session, query, page)


def graduate_detail(session: Session, *, principal: Principal, graduate_id: uuid.UUID, on: date) -> GraduateDetail:
    g = load_graduate(session, principal, graduate_id)
    fus = session.execute(select(Followup).where(Followup.graduate_id == g.id).order_by(Followup.months)).scalars()
    outs = session.execute(select(Outcome).where(Outcome.graduate_id == g.id)
                           .order_by(Outcome.as_of, Outcome.seq)).scalars()
    quals = session.execute(select(Qualification).where(Qualification.trainee_id == g.id)
                            .order_by(Qualification.obtained_on)).scalars()
    return GraduateDetail(**graduate_out(g).model_dump(), followups=[followup_out(f, g, on) for f in fus],
                          outcomes=[outcome_out(o) for o in outs],
                          qualifications=[QualificationOut.model_validate(q, from_attributes=True) for q in quals])


def assign_officer(session: Session, *, principal: Principal, graduate_id: uuid.UUID, officer: str | None) -> Graduate:
    g = load_graduate(session, principal, graduate_id)
    g.officer = officer
    session.commit()
    return g


# -- follow-ups and the worklist ------------------------------------------------------
def followup_out(f: Followup, g: Graduate, on: date) -> FollowupOut:
    return FollowupOut(id=f.id, graduate_id=g.id, cohort_id=g.cohort_id, campus=g.campus,
                       programme_code=g.programme_code, name=g.name, officer=g.officer, months=f.months,
                       due_date=f.due_date, overdue_after=f.overdue_after,
                       status=fu.status(done=f.done_at is not None, window_opens=f.window_opens,
                                        overdue_after=f.overdue_after, on=on),
                       done_at=f.done_at)


def worklist(session: Session, *, principal: Principal, page: PageParams, on: date, campus: str | None,
             officer: str | None, cohort_id: uuid.UUID | None, status: str | None,
             unassigned: bool = False) -> tuple[list[FollowupOut], int]:
    """Open follow-ups whose window has opened (due and overdue), or one status, oldest due first."""
    query = select(Followup, Graduate).join(Graduate, Graduate.id == Followup.graduate_id)
    query = in_campuses(query, Followup.campus, principal)
    query = where_given(query, (Followup.campus, campus), (Graduate.officer, officer))
    if unassigned:
        query = query.where(Graduate.officer.is_(None))
    if cohort_id:
        query = query.where(Graduate.cohort_id == cohort_id)
    open_ = Followup.done_at.is_(None)
    if status is None:
        query = query.where(open_, Followup.window_opens <= on)
    elif status == "due":
        query = query.where(open_, Followup.window_opens <= on, Followup.overdue_after >= on)
    elif status == "overdue":
        query = query.where(open_, Followup.overdue_after < on)
    elif status == "upcoming":
        query = query.where(open_, Followup.window_opens > on)
    else:
        query = query.where(Followup.done_at.is_not(None))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(Followup.due_date, Followup.id).limit(page.limit).offset(page.offset)).all()
    return [followup_out(f, g, on) for f, g in rows], total


def _load_followup(session: Session, principal: Principal, followup_id: uuid.UUID) -> tuple[Followup, Graduate]:
    f = session.get(Followup, followup_id)
    if f is None or not principal.sees_campus(f.campus):
        raise not_found("follow-up", followup_id)
    g = session.get(Graduate, f.graduate_id)
    assert g is not None
    return f, g


def get_followup(session: Session, *, principal: Principal, followup_id: uuid.UUID, on: date) -> FollowupOut:
    return followup_out(*_load_followup(session, principal, followup_id), on)


def log_contact(session: Session, *, principal: Principal, followup_id: uuid.UUID, body: ContactIn,
                now: datetime | None = None) -> ContactOut:
    f, g = _load_followup(session, principal, followup_id)
    attempt = ContactAttempt(followup_id=f.id, graduate_id=g.id, campus=f.campus,
                             attempted_at=body.attempted_at or now or utcnow(), channel=body.channel,
                             result=body.result, note=body.note, officer=principal.sub)
    session.add(attempt)
    session.commit()
    return ContactOut.model_validate(attempt, from_attributes=True)


def list_contacts(session: Session, *, principal: Principal, followup_id: uuid.UUID) -> list[ContactOut]:
    f, _ = _load_followup(session, principal, followup_id)
    rows = session.execute(select(ContactAttempt).where(ContactAttempt.followup_id == f.id)
                           .order_by(ContactAttempt.attempted_at, ContactAttempt.id)).scalars()
    return [ContactOut.model_validate(a, from_attributes=True) for a in rows]


# -- outcomes -------------------------------------------------------------------------
def months_after(completion: date, as_of: date) -> int:
    m = 0
    while add_months(completion, m + 1) <= as_of:
        m += 1
    return m


def outcome_out(o: Outcome, closed: list[int] | None = None) -> OutcomeOut:
    return OutcomeOut.model_validate({**o.model_dump(), "closed_followups": closed or []})


def _add_outcome(session: Session, graduate: Graduate, *, category: str, as_of: date,
                 employment: outcomes.Employment | None, source: str, recorded_by: str, note: str,
                 employer_id: uuid.UUID | None = None, close_followups: bool = True) -> tuple[Outcome, list[int]]:
    seq = graduate.outcome_count
    graduate.outcome_count = seq + 1
    wage = employment.monthly_wage if employment else None
    o = Outcome(graduate_id=graduate.id, campus=graduate.campus, category=category, as_of=as_of,
                months_after_completion=months_after(graduate.completion_date, as_of), seq=seq,
                sort_key=indicators.sort_key(as_of, seq, category, wage), employer_id=employer_id,
                employer_name=employment.employer_name if employment else None,
                start_date=employment.start_date if employment else None,
                employment_type=employment.employment_type if employment else None,
                insured=employment.insured if employment else None, monthly_wage=wage, source=source, note=note,
                recorded_by=recorded_by)
    session.add(o)
    session.flush()
    closed: list[int] = []
    if close_followups:
        for f in session.execute(select(Followup).where(
                and_(Followup.graduate_id == graduate.id, Followup.done_at.is_(None)))).scalars():
            if fu.closes(f.window_opens, as_of):
                f.done_at, f.outcome_id = utcnow(), o.id
                closed.append(f.months)
    emit(session, events.OUTCOME_RECORDED, events.OutcomeRecorded(
        trainee_id=graduate.id, cohort_id=graduate.cohort_id, campus=graduate.campus, outcome=category,
        as_of=as_of, months_after_completion=o.months_after_completion))
    return o, sorted(closed)


def record_outcome(session: Session, *, principal: Principal, body: OutcomeIn) -> OutcomeOut:
    graduate = load_graduate(session, principal, body.graduate_id, lock=True)
    emp = body.employment
    employment = None if emp is None else outcomes.Employment(
        employer_name=emp.employer_name, start_date=emp.start_date, employment_type=emp.employment_type,
        insured=emp.insured, monthly_wage=emp.monthly_wage)
    failures = outcomes.check_outcome(body.category, body.as_of, graduate.completion_date, employment)
    employer_id = emp.employer_id if emp else None
    if emp and employer_id is not None:
        employer = session.get(Employer, employer_id)
        if employer is None or not principal.sees_campus(employer.campus):
            failures.append(RuleFailure("outcome.unknown-employer", "no such employer in your pool",
                                        "employment.employer_id"))
        elif employment is not None and employment.employer_name is None:
            employment = outcomes.Employment(employer.name, employment.start_date, employment.employment_type,
                                             employment.insured, employment.monthly_wage)
    if failures:
        raise RuleViolation(failures)
    o, closed = _add_outcome(session, graduate, category=body.category, as_of=body.as_of, employment=employment,
                             source="officer", recorded_by=principal.sub, note=body.note, employer_id=employer_id)
    session.commit()
    return outcome_out(o, closed)


def list_outcomes(session: Session, *, principal: Principal, page: PageParams, graduate_id: uuid.UUID | None,
                  campus: str | None, category: str | None) -> tuple[list[Outcome], int]:
    query = select(Outcome).order_by(Outcome.recorded_at, Outcome.id)
    query = in_campuses(query, Outcome.campus, principal)
    query = where_given(query,
                        (Outcome.graduate_id, graduate_id),
                        (Outcome.campus, campus),
                        (Outcome.category, category))
    return paginate(session, query, page)
