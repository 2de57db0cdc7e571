"""Enrollments: the trainees who took a seat, and withdrawals."""

from __future__ import annotations

import uuid

from services.enrollment.adapters.orm import Enrollment
from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.domain import withdrawal
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.schemas import EnrollmentOut, WithdrawIn
from services.enrollment.service_layer import outgoing
from services.enrollment.service_layer.selection import promote_next
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.problems import RuleFailure, RuleViolation
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]


def enrollment_out(e: Enrollment) -> EnrollmentOut:
    return EnrollmentOut(
        id=e.id,
        application_id=e.application_id,
        trainee_id=e.applicant_id,
        cohort_id=e.cohort_id,
        campus=e.campus,
        status=e.status,
        enrolled_on=e.enrolled_on,
        withdrawn_on=e.withdrawn_on,
        withdraw_reason=e.withdraw_reason,
        outcome_date=e.outcome_date,
        final_rate=e.final_rate,
    )


def get_enrollment(uow: Uow, *, principal: Principal, enrollment_id: uuid.UUID) -> EnrollmentOut:
    with uow:
        return enrollment_out(uow.repo.visible_enrollment(principal, enrollment_id))


def list_enrollments(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    campus: str | None,
    cohort_id: uuid.UUID | None,
    trainee_id: uuid.UUID | None,
    status: str | None,
) -> Page[EnrollmentOut]:
    with uow:
        items, total = uow.repo.enrollments(
            principal, page, campus=campus, cohort_id=cohort_id, trainee_id=trainee_id, status=status
        )
        return Page(items=[enrollment_out(e) for e in items], total=total, limit=page.limit, offset=page.offset)


def withdraw(
    uow: Uow,
    *,
    principal: Principal,
    policy: AdmissionsPolicy,
    clock: Clock,
    enrollment_id: uuid.UUID,
    body: WithdrawIn,
) -> EnrollmentOut:
    """A trainee leaves, recorded on or after the day; before the start the seat goes to the next on the waitlist."""
    with uow:
        repo = uow.repo
        enrollment = repo.visible_enrollment(principal, enrollment_id)
        cohort = repo.visible_cohort(principal, enrollment.cohort_id, lock=True)
        repo.reread(enrollment)  # as it is now that the cohort is ours
        if enrollment.status != "enrolled":
            raise RuleViolation(
                [RuleFailure("enrollment.not-active", f"the enrollment is {enrollment.status}")], status=409
            )
        failures = withdrawal.date_failures(
            body.date, today=clock.today(), enrolled_on=enrollment.enrolled_on, cohort_end=cohort.end_date
        )
        if failures:
            raise RuleViolation(failures)
        before_start = body.date < cohort.start_date
        enrollment.status, enrollment.withdrawn_on, enrollment.withdraw_reason = "withdrawn", body.date, body.reason
        enrollment.withdrawn_before_start, enrollment.updated_at = before_start, utcnow()
        app = repo.application(enrollment.application_id)
        assert app is not None
        app.status, app.updated_at = "withdrawn", utcnow()
        repo.save()
        programme = repo.programme(cohort.programme_id)
        assert programme is not None
        uow.emit(*outgoing.trainee_withdrawn(enrollment, cohort, programme))
        if before_start and not app.above_capacity:
            promote_next(uow, cohort, policy=policy, today=clock.today())
        uow.commit()
        return enrollment_out(enrollment)
