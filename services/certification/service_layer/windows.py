"""Each trainee's claim windows, kept from enrollment's and attendance's events.

Events of different topics may arrive in any order (a completion before the enrollment),
so every handler upserts the (trainee, cohort) row and fills only what its event knows.
The handlers' functions work in the consumer's open unit of work (its repository) and never commit.
"""

from __future__ import annotations

import uuid
from datetime import date

from services.certification.adapters.orm import ClaimWindow
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


def enrolled(
    repo: CertificationRepository,
    *,
    trainee_id: uuid.UUID,
    cohort_id: uuid.UUID,
    campus: str,
    programme_code: str,
    qualification_codes: list[str],
    start_date: date,
    end_date: date,
    enrolled_on: date,
) -> None:
    row = _row(repo, trainee_id, cohort_id, campus, programme_code)
    row.campus, row.programme_code = campus, programme_code
    row.qualification_codes = sorted(set(row.qualification_codes or []) | set(qualification_codes))
    row.start_date, row.end_date, row.enrolled_on = start_date, end_date, enrolled_on
    repo.save_window(row)


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
