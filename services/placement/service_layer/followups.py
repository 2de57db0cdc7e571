"""The follow-ups' worklist (due and overdue on a day) and the contact attempts officers log against them."""

from __future__ import annotations

import uuid
from datetime import date

from services.placement.adapters.orm import ContactAttempt, Followup, Graduate
from services.placement.adapters.repository import PlacementRepository
from services.placement.domain import followups as fu
from services.placement.schemas import ContactIn, ContactOut, FollowupOut
from services.placement.service_layer.access import load_followup
from services.placement.service_layer.checks import moment_not_after_today
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[PlacementRepository]


def followup_out(f: Followup, g: Graduate, on: date) -> FollowupOut:
    return FollowupOut(
        id=f.id,
        graduate_id=g.id,
        cohort_id=g.cohort_id,
        campus=g.campus,
        programme_code=g.programme_code,
        name=g.name,
        officer=g.officer,
        months=f.months,
        due_date=f.due_date,
        overdue_after=f.overdue_after,
        status=fu.status(done=f.done_at is not None, window_opens=f.window_opens, overdue_after=f.overdue_after, on=on),
        done_at=f.done_at,
    )


def worklist(
    uow: Uow,
    clock: Clock,
    *,
    principal: Principal,
    page: PageParams,
    on: date | None = None,
    campus: str | None = None,
    officer: str | None = None,
    cohort_id: uuid.UUID | None = None,
    status: str | None = None,
    unassigned: bool = False,
) -> Page[FollowupOut]:
    """Open follow-ups whose window has opened (due and overdue), or one status, oldest due first."""
    on = on or clock.today()
    with uow:
        rows, total = uow.repo.worklist(
            scope=principal.campus_filter(),
            page=page,
            on=on,
            campus=campus,
            officer=officer,
            cohort_id=cohort_id,
            status=status,
            unassigned=unassigned,
        )
        return Page(items=[followup_out(f, g, on) for f, g in rows], total=total, limit=page.limit, offset=page.offset)


def get_followup(
    uow: Uow, clock: Clock, *, principal: Principal, followup_id: uuid.UUID, on: date | None = None
) -> FollowupOut:
    on = on or clock.today()
    with uow:
        return followup_out(*load_followup(uow.repo, principal, followup_id), on)


def log_contact(uow: Uow, clock: Clock, *, principal: Principal, followup_id: uuid.UUID, body: ContactIn) -> ContactOut:
    moment_not_after_today(body.attempted_at, clock, "body.attempted_at")
    with uow:
        f, g = load_followup(uow.repo, principal, followup_id)
        attempt = ContactAttempt(
            followup_id=f.id,
            graduate_id=g.id,
            campus=f.campus,
            attempted_at=body.attempted_at or utcnow(),
            channel=body.channel,
            result=body.result,
            note=body.note,
            officer=principal.sub,
        )
        uow.repo.add_contact(attempt)
        out = ContactOut.model_validate(attempt, from_attributes=True)
        uow.commit()
        return out


def list_contacts(uow: Uow, *, principal: Principal, followup_id: uuid.UUID) -> list[ContactOut]:
    with uow:
        f, _ = load_followup(uow.repo, principal, followup_id)
        return [ContactOut.model_validate(a, from_attributes=True) for a in uow.repo.contacts_of(f.id)]
