"""Applications: applying (eligibility and the re-admission limit), scoring, rejecting, reading them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from services.enrollment.adapters.orm import Application
from services.enrollment.adapters.repository import EnrollmentRepository, SeatOffer, eligibility_policy, facts, terms
from services.enrollment.domain import eligibility, history
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.schemas import ApplicationIn, ApplicationOut, Reason
from services.enrollment.service_layer import outgoing
from services.enrollment.service_layer.selection import promote_next, seat_change
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.problems import RuleFailure, RuleViolation, conflict
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]


def application_out(app: Application | SeatOffer, enrollment_id: uuid.UUID | None = None) -> ApplicationOut:
    return ApplicationOut(
        id=app.id,
        applicant_id=app.applicant_id,
        cohort_id=app.cohort_id,
        campus=app.campus,
        score=app.score,
        applied_at=app.applied_at,
        status=app.status,
        priority=app.priority,
        above_capacity=app.above_capacity,
        waitlist_position=app.waitlist_position,
        reasons=[Reason(**r) for r in app.reasons],
        enrollment_id=enrollment_id,
    )


def apply(
    uow: Uow,
    *,
    principal: Principal,
    policy: AdmissionsPolicy,
    body: ApplicationIn,
    today: date,
    applied_at: datetime | None = None,
) -> Application:
    """Take an application in the open work (the caller commits); an ineligible one is kept with every
    failed rule named, and its decision goes out."""
    repo = uow.repo
    cohort = repo.cohort(body.cohort_id)
    if cohort is None or not principal.sees_campus(cohort.campus):
        raise RuleViolation([RuleFailure("reference.cohort", "no such cohort is visible to you", "cohort_id")])
    applicant = repo.applicant(body.applicant_id)
    if applicant is None:
        raise RuleViolation([RuleFailure("reference.applicant", "no such applicant", "applicant_id")])
    person = repo.person(applicant.id)  # this record and every record merged into it (or into its survivor)
    if applicant.merged_into is not None:
        # Refused rather than silently taken for the survivor: the application's applicant becomes the trainee id
        # other services key their records by, and a caller must not get an id it did not send.
        merged = RuleViolation(
            [
                RuleFailure(
                    "applicant.merged",
                    f"this record was merged into {person[0]}; apply with that record",
                    "applicant_id",
                )
            ]
        )
        merged.extra["survivor_id"] = str(person[0])
        raise merged
    refusals = []
    if not cohort.application_opens <= today <= cohort.application_closes:
        refusals.append(
            RuleFailure(
                "application.window-closed",
                f"applications are taken from {cohort.application_opens} to {cohort.application_closes}",
            )
        )
    if cohort.selection_done_at is not None:
        refusals.append(RuleFailure("application.selection-done", "selection for this cohort has already run"))
    if refusals:
        raise RuleViolation(refusals)
    if repo.has_applied(person, cohort.id):
        raise conflict("application-exists", "This applicant has already applied to this cohort.")
    programme = repo.programme(cohort.programme_id)
    assert programme is not None
    person_facts = facts(applicant)
    failures = eligibility.check_eligibility(eligibility_policy(programme), person_facts, cohort.start_date)
    failures += history.check_history(repo.participations(person), terms(cohort, programme), policy.readmission)
    app = Application(
        applicant_id=applicant.id,
        cohort_id=cohort.id,
        campus=cohort.campus,
        score=body.score,
        applied_at=applied_at or utcnow(),
        priority=eligibility.is_priority(person_facts),
        above_capacity=eligibility.admitted_above_capacity(person_facts, cohort.start_date),
        status="ineligible" if failures else "submitted",
        reasons=[f.as_dict() for f in failures],
        decided_at=utcnow() if failures else None,
    )
    repo.add(app)
    if failures:
        uow.emit(*outgoing.application_decided(app, "ineligible", failures))
    return app


def submit_application(
    uow: Uow, *, principal: Principal, policy: AdmissionsPolicy, clock: Clock, body: ApplicationIn
) -> ApplicationOut:
    with uow:
        app = apply(uow, principal=principal, policy=policy, body=body, today=clock.today())
        uow.commit()
        return application_out(app)


def get_application(uow: Uow, *, principal: Principal, application_id: uuid.UUID) -> ApplicationOut:
    with uow:
        app = uow.repo.visible_application(principal, application_id)
        return application_out(app, uow.repo.enrollment_id_of(app.id))


def list_applications(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    campus: str | None,
    cohort_id: uuid.UUID | None,
    status: str | None,
) -> Page[ApplicationOut]:
    with uow:
        items, total = uow.repo.applications(principal, page, campus=campus, cohort_id=cohort_id, status=status)
        return Page(items=[application_out(a) for a in items], total=total, limit=page.limit, offset=page.offset)


def set_score(uow: Uow, *, principal: Principal, application_id: uuid.UUID, score: float) -> ApplicationOut:
    with uow:
        app = uow.repo.visible_application(principal, application_id)
        if app.status != "submitted":
            raise RuleViolation(
                [
                    RuleFailure(
                        "application.already-decided",
                        f"the application is {app.status}; scores change only before selection",
                    )
                ],
                status=409,
            )
        app.score = score
        app.updated_at = utcnow()
        uow.repo.save()
        uow.commit()
        return application_out(app)


def reject(
    uow: Uow, *, principal: Principal, policy: AdmissionsPolicy, clock: Clock, application_id: uuid.UUID, reason: str
) -> ApplicationOut:
    """Staff refuse an application; a seat it held goes to the next on the waitlist."""
    with uow:
        app, cohort = seat_change(uow.repo, principal, application_id)
        if app.status not in ("submitted", "waitlisted", "selected"):
            raise RuleViolation([RuleFailure("application.not-open", f"the application is {app.status}")], status=409)
        freed_seat = app.status == "selected" and not app.above_capacity
        failure = RuleFailure("application.rejected-by-staff", reason)
        app.status, app.reasons, app.decided_at, app.updated_at = "rejected", [failure.as_dict()], utcnow(), utcnow()
        app.waitlist_position = None
        uow.emit(*outgoing.application_decided(app, "rejected", [failure]))
        if freed_seat:
            promote_next(uow, cohort, policy=policy, today=clock.today())
        uow.repo.save()
        uow.commit()
        return application_out(app)
