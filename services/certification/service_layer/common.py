"""Helpers the certification service-layer modules share: campus scope and trainee windows."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import Session

from services.certification.adapters import orm
from services.certification.domain.qualifications import Qualification
from services.certification.domain.window import ClaimWindow
from shared.auth import Principal
from shared.problems import Problem
from shared.queries import in_campuses


def acts_as_trainee(principal: Principal) -> bool:
    """A trainee token (no staff role): it may act only for its own trainee id (its ``sub``)."""
    return principal.is_trainee


def check_self(principal: Principal, trainee_id: uuid.UUID) -> None:
    if acts_as_trainee(principal) and principal.sub != str(trainee_id):
        raise Problem(403, "claim.other-trainee", "Not your claim",
                      "A trainee may submit and read only their own claims.",
                      extra={"errors": [{"rule": "claim.other-trainee",
                                         "message": "trainee_id is not the trainee of this token",
                                         "field": "trainee_id"}]})


def window_rows(session: Session, principal: Principal, trainee_id: uuid.UUID) -> list[orm.ClaimWindow]:
    """The trainee's enrollments this principal may see (a trainee sees all of their own)."""
    query = select(orm.ClaimWindow).where(orm.ClaimWindow.trainee_id == trainee_id)
    if not acts_as_trainee(principal):
        query = in_campuses(query, orm.ClaimWindow.campus, principal)
    return list(session.execute(query.order_by(orm.ClaimWindow.start_date)).scalars())


def to_window(row: orm.ClaimWindow) -> ClaimWindow:
    return ClaimWindow(cohort_id=row.cohort_id, campus=row.campus, programme_code=row.programme_code,
                       qualification_codes=frozenset(row.qualification_codes), start_date=row.start_date,
                       status=row.status, completion_date=row.completion_date, closed_on=row.closed_on)


def to_qualification(row: orm.Qualification | None) -> Qualification | None:
    if row is None:
        return None
    return Qualification(code=row.code, grade=row.grade, written_fee=row.written_fee,
                         practical_fee=row.practical_fee, programme_codes=frozenset(row.programme_codes))
