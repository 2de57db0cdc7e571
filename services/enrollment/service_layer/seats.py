"""Offered seats: accepting one (the enrollment, ``trainee.enrolled``) or declining it."""

from __future__ import annotations

import uuid

from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.domain import history
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.domain.seats import joining_failures
from services.enrollment.schemas import AcceptIn, ApplicationOut
from services.enrollment.service_layer import outgoing
from services.enrollment.service_layer.applications import application_out
from services.enrollment.service_layer.selection import promote_next, seat_change
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.idempotency import Idempotency
from shared.problems import RuleFailure, RuleViolation, not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]


def accept(
    uow: Uow,
    *,
    principal: Principal,
    policy: AdmissionsPolicy,
    clock: Clock,
    application_id: uuid.UUID,
    idem: Idempotency | None,
    body: AcceptIn | None = None,
) -> ApplicationOut:
    """The selected applicant takes the seat: enrolled, and ``trainee.enrolled`` goes out.

    The trainee joins today, or on the earlier day staff record (``body.joined_on``). No seat is taken after the
    cohort's end, nor by someone joining later than the late-join limit after its start.

    This is the busiest write of an admissions round, so it reads everything it needs in one statement
    (``seat_to_accept``) and writes with plain statements (``enroll_accepted``)."""
    with uow:
        if replayed := uow.replay(idem, ApplicationOut):
            return replayed
        # Accepting turns an offered seat into an enrollment: the seat count does not change, so the cohort is
        # not locked (accepts run in parallel). The application row lock orders it against a decline or a
        # rejection of the same offer; the applicant row lock against the same person accepting an overlapping
        # cohort.
        offer = uow.repo.seat_to_accept(application_id)
        if offer is None or not principal.sees_campus(offer.campus):
            raise not_found("application", application_id)
        if offer.status == "accepted":
            raise RuleViolation(
                [RuleFailure("seat.already-accepted", "this seat has already been accepted")], status=409
            )
        if offer.status != "selected":
            raise RuleViolation(
                [RuleFailure("seat.not-offered", f"the application is {offer.status}, not selected")], status=409
            )
        today = clock.today()
        joined_on = body.joined_on if body is not None and body.joined_on is not None else today
        if late := joining_failures(offer.start_date, offer.end_date, today, policy.joining, joined_on=joined_on):
            raise RuleViolation(late, status=409)
        # The person may have other records (merged into one survivor): their courses count too, and the
        # survivor's row is held as well, so two records of one person do not take overlapping seats at once.
        past = uow.repo.history_of_person(offer.applicant_id, merged_into=offer.merged_into)
        failures = history.check_history(past, offer.terms, policy.readmission)
        if failures:
            raise RuleViolation(failures)
        enrollment_id = uuid.uuid4()
        uow.repo.enroll_accepted(offer, enrollment_id=enrollment_id, on=joined_on, now=utcnow())
        uow.emit(*outgoing.trainee_enrolled(offer, enrollment_id=enrollment_id, enrolled_on=joined_on))
        result = application_out(offer, enrollment_id)
        uow.remember(idem, result)
        uow.commit()
        return result


def decline(
    uow: Uow, *, principal: Principal, policy: AdmissionsPolicy, clock: Clock, application_id: uuid.UUID
) -> ApplicationOut:
    """The selected applicant declines; the seat goes to the next on the waitlist while seats can be taken."""
    with uow:
        app, cohort = seat_change(uow.repo, principal, application_id)
        if app.status != "selected":
            raise RuleViolation(
                [RuleFailure("seat.not-offered", f"the application is {app.status}, not selected")], status=409
            )
        app.status, app.updated_at = "declined", utcnow()
        uow.repo.save()
        if not app.above_capacity:
            promote_next(uow, cohort, policy=policy, today=clock.today())
        uow.commit()
        return application_out(app)
