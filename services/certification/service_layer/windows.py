"""Each trainee's claim windows, kept from enrollment's and attendance's events.

Events of different topics may arrive in any order (a completion before the enrollment),
so every handler upserts the (trainee, cohort) row and fills only what its event knows.
The handlers' functions work in the consumer's open unit of work (its repository) and never commit.
"""

from __future__ import annotations

import uuid
from datetime import date

from services.certification.adapters.orm import ClaimWindow, CohortPlan
from services.certification.adapters.repository import CertificationRepository, to_window
from services.certification.domain.claims import ClaimPolicy
from services.certification.schemas import WindowOut
from services.certification.service_layer.access import check_self, window_scope
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import not_found
from shared.unit_of_work import UnitOfWork


def _row(
    repo: CertificationRepository, trainee_id: uuid.UUID, cohort_id: uuid.UUID, campus: str, programme_code: str
) -> ClaimWindow:
    row = repo.window(trainee_id, cohort_id)
    if row is None:
        row = ClaimWindow(trainee_id=trainee_id, cohort_id=cohort_id, campus=campus, programme_code=programme_code)
    row.updated_at = utcnow()
    return row


def enrolled_in_known_cohort(
    repo: CertificationRepository,
    *,
    trainee_id: uuid.UUID,
    cohort_id: uuid.UUID,
    campus: str,
    programme_code: str,
    enrolled_on: date,
) -> None:
    """A slim enrollment: the dates and qualifications come from the cohort kept from its events. Until the
    cohort has arrived the window is held without them (no start, open end) and the cohort fills them in."""
    row = _row(repo, trainee_id, cohort_id, campus, programme_code)
    row.campus, row.programme_code, row.enrolled_on = campus, programme_code, enrolled_on
    cohort = repo.cohort(cohort_id)
    if cohort is not None:
        _follow(row, cohort)
    repo.save_window(row)


def planned(
    repo: CertificationRepository,
    *,
    cohort_id: uuid.UUID,
    campus: str,
    programme_code: str,
    qualification_codes: list[str],
    start_date: date,
    end_date: date,
    plan_version: int,
) -> None:
    """cohort.published / cohort.rescheduled: keep the cohort's dates and qualifications (an older plan than
    the one kept changes nothing); every window of the cohort follows them."""
    cohort = repo.cohort(cohort_id)
    if cohort is not None and plan_version < cohort.plan_version:
        return
    if (
        cohort is not None
        and plan_version == cohort.plan_version
        and (cohort.start_date, cohort.end_date) == (start_date, end_date)
        and set(qualification_codes) <= set(cohort.qualification_codes or [])
    ):
        return  # the plan kept already (every earlier-form enrollment of a cohort carries it): its windows follow it
    if cohort is None:
        cohort = CohortPlan(
            id=cohort_id, campus=campus, programme_code=programme_code, start_date=start_date, end_date=end_date
        )
    cohort.campus, cohort.programme_code, cohort.qualification_codes = campus, programme_code, list(qualification_codes)
    cohort.start_date, cohort.end_date, cohort.plan_version, cohort.updated_at = (
        start_date,
        end_date,
        plan_version,
        utcnow(),
    )
    repo.save_cohort(cohort)
    for row in repo.windows_of_cohort(cohort_id):
        _follow(row, cohort)
        row.updated_at = utcnow()
        repo.save_window(row)


def _follow(row: ClaimWindow, cohort: CohortPlan) -> None:
    row.qualification_codes = sorted(set(row.qualification_codes or []) | set(cohort.qualification_codes))
    row.start_date, row.end_date = cohort.start_date, cohort.end_date


def closed(
    repo: CertificationRepository,
    *,
    trainee_id: uuid.UUID,
    cohort_id: uuid.UUID,
    campus: str,
    programme_code: str,
    status: str,
    on: date,
    qualification_codes: list[str] | None = None,
) -> None:
    """Completed (on = completion date), withdrawn or not completed (on = the date the right ends)."""
    row = _row(repo, trainee_id, cohort_id, campus, programme_code)
    if qualification_codes:
        row.qualification_codes = sorted(set(row.qualification_codes or []) | set(qualification_codes))
    row.status = status
    if status == "completed":
        row.completion_date, row.closed_on = on, None
    else:
        row.closed_on = on
    repo.save_window(row)


def windows_of(
    uow: UnitOfWork[CertificationRepository], *, principal: Principal, trainee_id: uuid.UUID, policy: ClaimPolicy
) -> list[WindowOut]:
    check_self(principal, trainee_id)
    with uow:
        rows = uow.repo.window_rows(trainee_id, window_scope(principal))
        if not rows:
            raise not_found("trainee", trainee_id)
        return [
            WindowOut(
                trainee_id=r.trainee_id,
                cohort_id=r.cohort_id,
                campus=r.campus,
                programme_code=r.programme_code,
                qualification_codes=r.qualification_codes,
                start_date=r.start_date,
                end_date=r.end_date,
                status=r.status,
                completion_date=r.completion_date,
                closed_on=r.closed_on,
                last_exam_date=to_window(r).last_day(policy.window_months),
            )
            for r in rows
        ]
