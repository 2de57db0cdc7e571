"""Loading what the caller may see: a row of another campus is answered as not found, like a missing one."""

from __future__ import annotations

import uuid

from services.placement.adapters.orm import Employer, Followup, Graduate, Internship, Posting
from services.placement.adapters.repository import PlacementRepository
from shared.auth import Principal
from shared.problems import not_found


def load_graduate(
    repo: PlacementRepository, principal: Principal, graduate_id: uuid.UUID, *, lock: bool = False
) -> Graduate:
    graduate = repo.graduate(graduate_id, lock=lock)
    if graduate is None:
        raise not_found("graduate", graduate_id)
    principal.check_campus(graduate.campus, "graduate", graduate_id)
    return graduate


def load_followup(repo: PlacementRepository, principal: Principal, followup_id: uuid.UUID) -> tuple[Followup, Graduate]:
    f = repo.followup(followup_id)
    if f is None or not principal.sees_campus(f.campus):
        raise not_found("follow-up", followup_id)
    g = repo.graduate(f.graduate_id)
    assert g is not None
    return f, g


def load_employer(repo: PlacementRepository, principal: Principal, employer_id: uuid.UUID) -> Employer:
    employer = repo.employer(employer_id)
    if employer is None or not principal.sees_campus(employer.campus):
        raise not_found("employer", employer_id)
    return employer


def load_posting(
    repo: PlacementRepository, principal: Principal, posting_id: uuid.UUID, *, lock: bool = False
) -> Posting:
    posting = repo.posting(posting_id, lock=lock)
    if posting is None or not principal.sees_campus(posting.campus):
        raise not_found("posting", posting_id)
    return posting


def load_internship(
    repo: PlacementRepository, principal: Principal, internship_id: uuid.UUID, *, lock: bool = False
) -> Internship:
    internship = repo.internship(internship_id, lock=lock)
    if internship is None or not principal.sees_campus(internship.campus):
        raise not_found("internship", internship_id)
    return internship
