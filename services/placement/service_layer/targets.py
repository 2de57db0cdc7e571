"""A programme's employment-rate target: one figure per programme, set by placement staff, read by the dashboard.

Targets are the centre's, not a campus's: a programme runs on several campuses and aims at one rate.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from services.placement.adapters.orm import ProgrammeTarget
from services.placement.schemas import TargetIn, TargetOut
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import not_found


def target_out(t: ProgrammeTarget) -> TargetOut:
    return TargetOut(programme_code=t.programme_code, employment_rate=t.employment_rate, set_by=t.set_by,
                     set_at=t.set_at)


def list_targets(session: Session) -> list[TargetOut]:
    rows = session.execute(select(ProgrammeTarget).order_by(ProgrammeTarget.programme_code)).scalars()
    return [target_out(t) for t in rows]


def get_target(session: Session, programme_code: str) -> TargetOut:
    t = session.get(ProgrammeTarget, programme_code)
    if t is None:
        raise not_found("target", programme_code)
    return target_out(t)


def set_target(session: Session, *, principal: Principal, programme_code: str, body: TargetIn) -> TargetOut:
    t = session.get(ProgrammeTarget, programme_code, with_for_update=True)
    if t is None:
        t = ProgrammeTarget(programme_code=programme_code, employment_rate=body.employment_rate, set_by=principal.sub)
        session.add(t)
    else:
        t.employment_rate, t.set_by, t.set_at = body.employment_rate, principal.sub, utcnow()
    session.commit()
    session.refresh(t)
    return target_out(t)
