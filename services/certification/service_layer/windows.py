"""Each trainee's claim windows, kept from enrollment's and attendance's events.

Events of different topics may arrive in any order (a completion before the enrollment),
so every handler upserts the (trainee, cohort) row and fills only what its event knows.
"""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from services.certification.adapters.orm import ClaimWindow
from services.certification.schemas import WindowOut
from services.certification.service_layer.common import check_self, to_window, window_rows
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import not_found


def _row(session: Session, trainee_id: uuid.UUID, cohort_id: uuid.UUID, campus: str,
         programme_code: str) -> ClaimWindow:
    row = session.execute(select(ClaimWindow).where(ClaimWindow.trainee_id == trainee_id,
                                                    ClaimWindow.cohort_id == cohort_id)).scalar_one_or_none()
    if row is None:
        row = ClaimWindow(trainee_id=trainee_id, cohort_id=cohort_id, campus=campus, programme_code=programme_code)
        session.add(row)
    row.updated_at = utcnow()
    return row


def enrolled(session: Session, *, trainee_id: uuid.UUID, cohort_id: uuid.UUID, campus: str, programme_code: str,
             qualification_codes: list[str], start_date: date, end_date: date, enrolled_on: date) -> None:
    row = _row(session, trainee_id, cohort_id, campus, programme_code)
    row.campus, row.programme_code = campus, programme_code
    row.qualification_codes = sorted(set(row.qualification_codes or []) | set(qualification_codes))
    row.start_date, row.end_date, row.enrolled_on = start_date, end_date, enrolled_on
    session.flush()


def closed(session: Session, *, trainee_id: uuid.UUID, cohort_id: uuid.UUID, campus: str, programme_code: str,
           status: str, on: date, qualification_codes: list[str] | None = None) -> None:
    """Completed (on = completion date), withdrawn or not completed (on = the date the right ends)."""
    row = _row(session, trainee_id, cohort_id, campus, programme_code)
    if qualification_codes:
        row.qualification_codes = sorted(set(row.qualification_codes or []) | set(qualification_codes))
    row.status = status
    if status == "completed":
        row.completion_date, row.closed_on = on, None
    else:
        row.closed_on = on
    session.flush()


def windows_of(session: Session, *, principal: Principal, trainee_id: uuid.UUID,
               window_months: int) -> list[WindowOut]:
    check_self(principal, trainee_id)
    rows = window_rows(session, principal, trainee_id)
    if not rows:
        raise not_found("trainee", trainee_id)
    return [WindowOut(trainee_id=r.trainee_id, cohort_id=r.cohort_id, campus=r.campus,
                      programme_code=r.programme_code, qualification_codes=r.qualification_codes,
                      start_date=r.start_date, end_date=r.end_date, status=r.status,
                      completion_date=r.completion_date, closed_on=r.closed_on,
                      last_exam_date=to_window(r).last_day(window_months)) for r in rows]
