"""Applicants, applications, selection and seats.

Every change of seats (selection, accept, decline, withdrawal) locks the cohort row
first, so on PostgreSQL they run one at a time per cohort and capacity holds under
any concurrency; SQLite serialises all writers anyway.
"""
from __future__ import annotations

import contextvars
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from services.enrollment.adapters.orm import Applicant, Application, Cohort, Enrollment, Programme
from services.enrollment.domain import eligibility, history, selection
from services.enrollment.schemas import (ApplicantIn, ApplicationIn, ApplicationOut, EnrollmentOut, Reason,
                                         SelectionOut, WithdrawIn)
from services.enrollment.service_layer.catalogue import load_cohort, require_campus, snapshot
from services.enrollment.settings import Settings
from shared import events
from shared.auth import Principal
from shared.consumer import PermanentEventError
from shared.db import utcnow
from shared.idempotency import Idempotency
from shared.outbox import emit, emit_rows, outbox_rows
from shared.pagination import PageParams, paginate
from shared.problems import RuleFailure, RuleViolation, conflict, not_found
from shared.queries import get_visible, in_campuses, where_given

SEAT_STATUSES = ("selected", "accepted")


# -- applicants -------------------------------------------------------------
def create_applicant(session: Session, *, principal: Principal, body: ApplicantIn) -> Applicant:
    principal.check_campus(body.campus, "campus", body.campus)
    require_campus(session, principal, body.campus)
    applicant = Applicant(**body.model_dump())
    session.add(applicant)
    session.commit()
    return applicant


def _visible_applicant(session: Session, principal: Principal, applicant_id: uuid.UUID) -> Applicant:
    applicant = session.get(Applicant, applicant_id)
    if applicant is None:
        raise not_found("applicant", applicant_id)
    if principal.sees_campus(applicant.campus):
        return applicant
    scope = principal.campus_filter() or frozenset()
    applied_here = session.execute(select(Application.id).where(
        Application.applicant_id == applicant_id, Application.campus.in_(scope)).limit(1)).first()
    if applied_here is None:
        raise not_found("applicant", applicant_id)
    return applicant


def get_applicant(session: Session, *, principal: Principal, applicant_id: uuid.UUID) -> Applicant:
    return _visible_applicant(session, principal, applicant_id)


def list_applicants(session: Session, *, principal: Principal, page: PageParams,
                    campus: str | None) -> tuple[list[Applicant], int]:
    query = select(Applicant).order_by(Applicant.created_at, Applicant.id)
    query = in_campuses(query, Applicant.campus, principal)
    if campus:
        query = query.where(Applicant.campus == campus)
    return paginate(session, query, page)


# -- applications -----------------------------------------------------------
def facts(applicant: Applicant) -> eligibility.ApplicantFacts:
    return eligibility.ApplicantFacts(
        birth_date=applicant.birth_date, residency_status=applicant.residency_status, gender=applicant.gender,
        career_break=applicant.career_break, priority_categories=frozenset(applicant.priority_categories),
        leaving_care=applicant.leaving_care)


def policy_of(programme: Programme) -> eligibility.EligibilityPolicy:
    return eligibility.EligibilityPolicy(
        min_age=programme.min_age, max_age=programme.max_age,
        allowed_residency=frozenset(programme.allowed_residency),
        career_break_women_only=programme.career_break_women_only)


def readmission_policy(settings: Settings) -> history.ReadmissionPolicy:
    return history.ReadmissionPolicy(short_course_max_hours=settings.short_course_max_hours,
                                     max_readmissions=settings.max_readmissions,
                                     window_years=settings.readmission_window_years)


_PARTICIPATIONS = (
    select(Cohort.id, Cohort.start_date, Cohort.end_date, Programme.total_hours, Enrollment.status,
           Enrollment.withdrawn_before_start)
    .join(Cohort, Cohort.id == Enrollment.cohort_id)
    .join(Programme, Programme.id == Cohort.programme_id)
    .where(Enrollment.applicant_id == bindparam("b_applicant")))


def participations(session: Session, applicant_id: uuid.UUID) -> list[history.Participation]:
    return [history.Participation(cohort_id=cohort_id, start_date=start, end_date=end, total_hours=hours,
                                  status=status, withdrawn_before_start=before_start)
            for cohort_id, start, end, hours, status, before_start
            in session.execute(_PARTICIPATIONS, {"b_applicant": applicant_id})]


def terms(cohort: Cohort, programme: Programme) -> history.CohortTerms:
    return history.CohortTerms(cohort.id, cohort.start_date, cohort.end_date, programme.total_hours)


def application_out(app: Application, enrollment_id: uuid.UUID | None = None) -> ApplicationOut:
    return ApplicationOut(
        id=app.id, applicant_id=app.applicant_id, cohort_id=app.cohort_id, campus=app.campus, score=app.score,
        applied_at=app.applied_at, status=app.status, priority=app.priority, above_capacity=app.above_capacity,
        waitlist_position=app.waitlist_position, reasons=[Reason(**r) for r in app.reasons],
        enrollment_id=enrollment_id)


def _decided(session: Session, app: Application, decision: str, reasons: list[RuleFailure]) -> None:
    emit(session, events.APPLICATION_DECIDED, events.ApplicationDecided(
        application_id=app.id, trainee_id=app.applicant_id, cohort_id=app.cohort_id, campus=app.campus,
        decision=decision, reasons=[events.Reason(code=r.rule, message=r.message) for r in reasons],
        waitlist_position=app.waitlist_position))


def submit_application(session: Session, *, principal: Principal, settings: Settings, body: ApplicationIn,
                       applied_at: datetime | None = None, today: date | None = None) -> Application:
    """Take an application; an ineligible one is kept with every failed rule named."""
    today = today or date.today()
    cohort = session.get(Cohort, body.cohort_id)
    if cohort is None or not principal.sees_campus(cohort.campus):
        raise RuleViolation([RuleFailure("reference.cohort", "no such cohort is visible to you", "cohort_id")])
    applicant = session.get(Applicant, body.applicant_id)
    if applicant is None:
        raise RuleViolation([RuleFailure("reference.applicant", "no such applicant", "applicant_id")])
    refusals = []
    if not cohort.application_opens <= today <= cohort.application_closes:
        refusals.append(RuleFailure("application.window-closed",
                                    f"applications are taken from {cohort.application_opens} "
                                    f"to {cohort.application_closes}"))
    if cohort.selection_done_at is not None:
        refusals.append(RuleFailure("application.selection-done", "selection for this cohort has already run"))
    if refusals:
        raise RuleViolation(refusals)
    if session.execute(select(Application.id).where(Application.applicant_id == applicant.id,
                                                     Application.cohort_id == cohort.id)).first():
        raise conflict("application-exists", "This applicant has already applied to this cohort.")
    programme = session.get(Programme, cohort.programme_id)
    assert programme is not None
    person = facts(applicant)
    failures = eligibility.check_eligibility(policy_of(programme), person, cohort.start_date)
    failures += history.check_history(participations(session, applicant.id), terms(cohort, programme),
                                      readmission_policy(settings))
    app = Application(
        applicant_id=applicant.id, cohort_id=cohort.id, campus=cohort.campus, score=body.score,
        applied_at=applied_at or utcnow(), priority=eligibility.is_priority(person),
        above_capacity=eligibility.admitted_above_capacity(person, cohort.start_date),
        status="ineligible" if failures else "submitted", reasons=[f.as_dict() for f in failures],
        decided_at=utcnow() if failures else None)
    session.add(app)
    session.flush()
    if failures:
        _decided(session, app, "ineligible", failures)
    return app


def load_application(session: Session, *, principal: Principal, application_id: uuid.UUID) -> Application:
    return get_visible(session, Application, application_id, principal, "application")


def enrollment_id_of(session: Session, application_id: uuid.UUID) -> uuid.UUID | None:
    return session.execute(select(Enrollment.id).where(Enrollment.application_id == application_id)).scalar()


def list_applications(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                      cohort_id: uuid.UUID | None, status: str | None) -> tuple[list[Application], int]:
    query = select(Application).order_by(Application.applied_at, Application.id)
    query = in_campuses(query, Application.campus, principal)
    query = where_given(query,
                        (Application.campus, campus),
                        (Application.cohort_id, cohort_id),
                        (Application.status, status))
    return paginate(session, query, page)


def set_score(session: Session, *, principal: Principal, application_id: uuid.UUID, score: float) -> Application:
    app = load_application(session, principal=principal, application_id=application_id)
    if app.status != "submitted":
        raise RuleViolation([RuleFailure("application.already-decided",
                                         f"the application is {app.status}; scores change only before selection")],
                            status=409)
    app.score = score
    app.updated_at = utcnow()
    session.commit()
    return app


def reject(session: Session, *, principal: Principal, application_id: uuid.UUID, reason: str) -> Application:
    app, cohort = _seat_change(session, principal, application_id)
    if app.status not in ("submitted", "waitlisted", "selected"):
        raise RuleViolation([RuleFailure("application.not-open", f"the application is {app.status}")], status=409)
    freed_seat = app.status == "selected" and not app.above_capacity
    failure = RuleFailure("application.rejected-by-staff", reason)
    app.status, app.reasons, app.decided_at, app.updated_at = "rejected", [failure.as_dict()], utcnow(), utcnow()
    app.waitlist_position = None
    _decided(session, app, "rejected", [failure])
    if freed_seat:
        promote_next(session, cohort)
    session.commit()
    return app


# -- selection --------------------------------------------------------------
def run_selection(session: Session, *, principal: Principal, settings: Settings,
                  cohort_id: uuid.UUID) -> SelectionOut:
    cohort = load_cohort(session, principal=principal, cohort_id=cohort_id, lock=True)
    if cohort.selection_done_at is not None:
        raise RuleViolation([RuleFailure("selection.already-run", "selection has already run for this cohort")],
                            status=409)
    rows = session.execute(
        select(Application.id, Application.score, Application.applied_at, Application.priority,
               Application.above_capacity, Application.applicant_id)
        .where(Application.cohort_id == cohort.id, Application.status == "submitted")
    ).all()
    candidates = [selection.Candidate(*row[:5]) for row in rows]
    result = selection.select(candidates, cohort.capacity, settings.priority_quota_percent)
    now = utcnow()
    decisions: list[tuple[uuid.UUID, str, int | None, list[RuleFailure]]] = []
    priority = set(result.under_quota)  # a priority applicant beyond the quota got in on score, and says so
    for app_id in result.selected:
        why = [RuleFailure("selection.priority-quota", "selected under the priority quota")] if app_id in priority \
            else [RuleFailure("selection.score", "selected by score")]
        decisions.append((app_id, "selected", None, why))
    for app_id in result.above_capacity:
        decisions.append((app_id, "selected", None,
                          [RuleFailure("selection.leaving-care", "admitted above capacity (leaving care, 15-34)")]))
    for position, app_id in enumerate(result.waitlist, start=1):
        decisions.append((app_id, "waitlisted", position,
                          [RuleFailure("selection.waitlist", f"waitlist position {position}")]))
    applicant_of = {row[0]: row[-1] for row in rows}
    campus = cohort.campus
    decided = ((events.APPLICATION_DECIDED, events.ApplicationDecided(
        application_id=app_id, trainee_id=applicant_of[app_id], cohort_id=cohort_id, campus=campus,
        decision=status, waitlist_position=position,
        reasons=[events.Reason(code=w.rule, message=w.message) for w in why]))
        for app_id, status, position, why in decisions)
    # For a large cohort the events cost as much Python as PostgreSQL takes to write the decisions: they are
    # built on a worker thread meanwhile (the driver lets go of the GIL while it waits for the server).
    with ThreadPoolExecutor(1, thread_name_prefix="selection-events") as pool:
        rows_made = pool.submit(contextvars.copy_context().run, outbox_rows, decided)
        _record_decisions(session, decisions, now)
        emit_rows(session, rows_made.result())
    cohort.selection_done_at = now
    session.commit()
    return SelectionOut(cohort_id=cohort.id, capacity=cohort.capacity, priority_quota=result.quota,
                        selected=len(result.selected), priority_selected=len(result.priority_selected),
                        above_capacity=len(result.above_capacity), waitlisted=len(result.waitlist))


def _record_decisions(session: Session, decisions: list[tuple[uuid.UUID, str, int | None, list[RuleFailure]]],
                      now: datetime) -> None:
    """Write many decisions at once: on PostgreSQL one UPDATE from one JSON parameter, executemany elsewhere."""
    if not decisions:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(Application), [
            dict(id=app_id, status=status, waitlist_position=position, reasons=[w.as_dict() for w in why],
                 decided_at=now, updated_at=now)
            for app_id, status, position, why in decisions])
        return
    session.execute(text(
        "UPDATE application AS a SET status = v.status, waitlist_position = v.position, reasons = v.reasons, "
        "decided_at = :now, updated_at = :now FROM json_to_recordset(CAST(:decisions AS json)) "
        "AS v(id uuid, status text, position int, reasons json) WHERE a.id = v.id"
    ), dict(now=now, decisions=json.dumps([
        {"id": str(app_id), "status": status, "position": position, "reasons": [w.as_dict() for w in why]}
        for app_id, status, position, why in decisions])))
    session.expire_all()


# -- seats ------------------------------------------------------------------
def seats_taken(session: Session, cohort_id: uuid.UUID) -> int:
    return session.execute(select(func.count()).select_from(Application).where(
        Application.cohort_id == cohort_id, Application.status.in_(SEAT_STATUSES),
        Application.above_capacity.is_(False))).scalar_one()


def promote_next(session: Session, cohort: Cohort) -> Application | None:
    """Offer a freed seat to the first on the waitlist (the caller holds the cohort lock)."""
    if seats_taken(session, cohort.id) >= cohort.capacity:
        return None
    nxt = session.execute(
        select(Application).where(Application.cohort_id == cohort.id, Application.status == "waitlisted")
        .order_by(Application.waitlist_position).limit(1)).scalar_one_or_none()
    if nxt is None:
        return None
    why = RuleFailure("selection.promoted", f"promoted from waitlist position {nxt.waitlist_position}")
    nxt.status, nxt.waitlist_position, nxt.reasons = "selected", None, [why.as_dict()]
    nxt.decided_at = nxt.updated_at = utcnow()
    session.flush()
    _decided(session, nxt, "selected", [why])
    return nxt


def _lock_application(session: Session, principal: Principal, application_id: uuid.UUID) -> Application:
    app = session.execute(select(Application).where(Application.id == application_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if app is None or not principal.sees_campus(app.campus):
        raise not_found("application", application_id)
    return app


def _seat_change(session: Session, principal: Principal, application_id: uuid.UUID) -> tuple[Application, Cohort]:
    """Lock the cohort (seat counts change), then the application, in that order everywhere."""
    app = load_application(session, principal=principal, application_id=application_id)
    cohort = load_cohort(session, principal=principal, cohort_id=app.cohort_id, lock=True)
    return _lock_application(session, principal, application_id), cohort


# Built once for the busy path below; values go in as parameters.
_SEAT_TO_ACCEPT = (
    select(Application, Applicant.name, Applicant.birth_date, Cohort, Programme)
    .join(Applicant, Applicant.id == Application.applicant_id)
    .join(Cohort, Cohort.id == Application.cohort_id)
    .join(Programme, Programme.id == Cohort.programme_id)
    .where(Application.id == bindparam("b_application"))
    .with_for_update(of=[Application, Applicant], key_share=True)  # NO KEY UPDATE: see shared/queries.py
    .execution_options(populate_existing=True))
_INSERT_ENROLLMENT = insert(Enrollment.__table__)  # type: ignore[attr-defined]
_SET_STATUS = (update(Application.__table__)  # type: ignore[attr-defined]
               .where(Application.__table__.c.id == bindparam("b_id"))  # type: ignore[attr-defined]
               .values(status=bindparam("b_status"), updated_at=bindparam("b_updated_at")))


def accept(session: Session, *, principal: Principal, settings: Settings, application_id: uuid.UUID,
           idem: Idempotency | None, today: date | None = None) -> ApplicationOut:
    """The selected applicant takes the seat: enrolled, and ``trainee.enrolled`` goes out.

    This is the busiest write of an admissions round, so it reads everything it needs in one statement
    and writes with plain INSERT/UPDATE statements rather than the unit of work: nine round trips in all,
    BEGIN and COMMIT included."""
    if idem and (replayed := idem.replay(session, ApplicationOut)):
        return replayed
    # Accepting turns an offered seat into an enrollment: the seat count does not change, so the cohort is not
    # locked (accepts run in parallel). The application row lock orders it against a decline or a rejection of
    # the same offer; the applicant row lock against the same person accepting an overlapping cohort.
    found = session.execute(_SEAT_TO_ACCEPT, {"b_application": application_id}).first()
    if found is None or not principal.sees_campus(found[0].campus):
        raise not_found("application", application_id)
    app, name, birth_date, cohort, programme = found
    if app.status == "accepted":
        raise RuleViolation([RuleFailure("seat.already-accepted", "this seat has already been accepted")],
                            status=409)
    if app.status != "selected":
        raise RuleViolation([RuleFailure("seat.not-offered", f"the application is {app.status}, not selected")],
                            status=409)
    failures = history.check_history(participations(session, app.applicant_id), terms(cohort, programme),
                                     readmission_policy(settings))
    if failures:
        raise RuleViolation(failures)
    today = today or date.today()
    enrollment_id, now = uuid.uuid4(), utcnow()
    session.execute(_INSERT_ENROLLMENT, dict(
        id=enrollment_id, application_id=app.id, applicant_id=app.applicant_id, cohort_id=cohort.id,
        campus=cohort.campus, status="enrolled", enrolled_on=today, withdrawn_on=None, withdrawn_before_start=False,
        withdraw_reason=None, outcome_date=None, final_rate=None, updated_at=now))
    session.execute(_SET_STATUS, dict(b_id=app.id, b_status="accepted", b_updated_at=now))
    for attr, value in (("status", "accepted"), ("updated_at", now)):
        set_committed_value(app, attr, value)  # what the UPDATE wrote, without the unit of work writing it again
    emit(session, events.TRAINEE_ENROLLED, events.TraineeEnrolled(
        trainee_id=app.applicant_id, enrollment_id=enrollment_id, name=name, birth_date=birth_date,
        enrolled_on=today, cohort=snapshot(cohort, programme)))
    result = application_out(app, enrollment_id)
    if idem:
        idem.save(session, result)
    session.commit()
    return result


def decline(session: Session, *, principal: Principal, application_id: uuid.UUID) -> Application:
    app, cohort = _seat_change(session, principal, application_id)
    if app.status != "selected":
        raise RuleViolation([RuleFailure("seat.not-offered", f"the application is {app.status}, not selected")],
                            status=409)
    app.status, app.updated_at = "declined", utcnow()
    session.flush()
    if not app.above_capacity:
        promote_next(session, cohort)
    session.commit()
    return app


# -- enrollments ------------------------------------------------------------
def enrollment_out(e: Enrollment) -> EnrollmentOut:
    return EnrollmentOut(id=e.id, application_id=e.application_id, trainee_id=e.applicant_id, cohort_id=e.cohort_id,
                         campus=e.campus, status=e.status, enrolled_on=e.enrolled_on, withdrawn_on=e.withdrawn_on,
                         withdraw_reason=e.withdraw_reason, outcome_date=e.outcome_date, final_rate=e.final_rate)


def load_enrollment(session: Session, *, principal: Principal, enrollment_id: uuid.UUID) -> Enrollment:
    return get_visible(session, Enrollment, enrollment_id, principal, "enrollment")


def list_enrollments(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                     cohort_id: uuid.UUID | None, trainee_id: uuid.UUID | None,
                     status: str | None) -> tuple[list[Enrollment], int]:
    query = select(Enrollment).order_by(Enrollment.enrolled_on, Enrollment.id)
    query = in_campuses(query, Enrollment.campus, principal)
    query = where_given(query, (Enrollment.campus, campus), (Enrollment.cohort_id, cohort_id),
                        (Enrollment.applicant_id, trainee_id), (Enrollment.status, status))
    return paginate(session, query, page)


def withdraw(session: Session, *, principal: Principal, enrollment_id: uuid.UUID, body: WithdrawIn) -> Enrollment:
    """A trainee leaves; before the start the seat goes to the next on the waitlist."""
    enrollment = load_enrollment(session, principal=principal, enrollment_id=enrollment_id)
    cohort = load_cohort(session, principal=principal, cohort_id=enrollment.cohort_id, lock=True)
    session.refresh(enrollment)
    if enrollment.status != "enrolled":
        raise RuleViolation([RuleFailure("enrollment.not-active", f"the enrollment is {enrollment.status}")],
                            status=409)
    if body.date > cohort.end_date:
        raise RuleViolation([RuleFailure("withdrawal.after-end", f"the cohort ended on {cohort.end_date}", "date")])
    if body.date < enrollment.enrolled_on:
        raise RuleViolation([RuleFailure("withdrawal.before-enrollment",
                                         f"the trainee enrolled on {enrollment.enrolled_on}", "date")])
    before_start = body.date < cohort.start_date
    enrollment.status, enrollment.withdrawn_on, enrollment.withdraw_reason = "withdrawn", body.date, body.reason
    enrollment.withdrawn_before_start, enrollment.updated_at = before_start, utcnow()
    app = session.get(Application, enrollment.application_id)
    assert app is not None
    app.status, app.updated_at = "withdrawn", utcnow()
    session.flush()
    programme = session.get(Programme, cohort.programme_id)
    assert programme is not None
    emit(session, events.TRAINEE_WITHDRAWN, events.TraineeWithdrawn(
        trainee_id=enrollment.applicant_id, enrollment_id=enrollment.id, cohort_id=cohort.id, campus=cohort.campus,
        programme_code=programme.code, date=body.date, reason=body.reason,
        early_employment=body.reason == "early_employment", before_start=before_start))
    if before_start and not app.above_capacity:
        promote_next(session, cohort)
    session.commit()
    return enrollment


def record_outcome(session: Session, *, trainee_id: uuid.UUID, cohort_id: uuid.UUID, status: str, on: date,
                   final_rate: float) -> None:
    """Attendance's completion decision, kept as admission history for the re-admission rule."""
    enrollment = session.execute(select(Enrollment).where(
        Enrollment.applicant_id == trainee_id, Enrollment.cohort_id == cohort_id)).scalar_one_or_none()
    if enrollment is None:
        raise PermanentEventError("no enrollment for this trainee and cohort")
    if enrollment.status == "withdrawn":
        return  # the withdrawal stays the record of how this participation ended
    enrollment.status, enrollment.outcome_date, enrollment.final_rate = status, on, final_rate
    enrollment.updated_at = utcnow()
