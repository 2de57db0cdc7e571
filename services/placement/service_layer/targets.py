"""A programme's employment-rate target: one figure per programme, set by placement staff, read by the dashboard.

Targets are the centre's, not a campus's: a programme runs on several campuses and aims at one rate.
"""

from __future__ import annotations

from services.placement.adapters.orm import ProgrammeTarget
from services.placement.adapters.repository import PlacementRepository
from services.placement.schemas import TargetIn, TargetOut
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[PlacementRepository]


def target_out(t: ProgrammeTarget) -> TargetOut:
    return TargetOut(
        programme_code=t.programme_code, employment_rate=t.employment_rate, set_by=t.set_by, set_at=t.set_at
    )


def list_targets(uow: Uow) -> list[TargetOut]:
    with uow:
        return [target_out(t) for t in uow.repo.targets()]


def get_target(uow: Uow, programme_code: str) -> TargetOut:
    with uow:
        t = uow.repo.target(programme_code)
        if t is None:
            raise not_found("target", programme_code)
        return target_out(t)


def set_target(uow: Uow, *, principal: Principal, programme_code: str, body: TargetIn) -> TargetOut:
    with uow:
        t = uow.repo.target(programme_code, lock=True)
        if t is None:
            t = ProgrammeTarget(
                programme_code=programme_code, employment_rate=body.employment_rate, set_by=principal.sub
            )
            uow.repo.add_target(t)
        else:
            t.employment_rate, t.set_by, t.set_at = body.employment_rate, principal.sub, utcnow()
        uow.repo.refresh(t)  # the answer shows the row as stored
        out = target_out(t)
        uow.commit()
        return out
