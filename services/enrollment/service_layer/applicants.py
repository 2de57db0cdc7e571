"""Applicants: the people who apply, who sees them, and the records that look like the same person."""

from __future__ import annotations

import uuid
from datetime import date

from services.enrollment.adapters.orm import Applicant
from services.enrollment.adapters.repository import EnrollmentRepository, identity_of
from services.enrollment.domain import identity
from services.enrollment.schemas import BIRTH_DATE_RULE, ApplicantCreated, ApplicantIn, ApplicantOut, DuplicateOut
from services.enrollment.service_layer.catalogue import require_campus
from shared.auth import Principal
from shared.clock import Clock
from shared.pagination import Page, PageParams
from shared.problems import Problem, RuleFailure, not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]
MAX_CANDIDATES = 20  # a centre's real duplicates are one or two; a list this long says the keys are too weak


def applicant_out(a: Applicant) -> ApplicantOut:
    return ApplicantOut.model_validate(a, from_attributes=True)


def born_before(body: ApplicantIn, today: date, *, field: str | None = "body") -> None:
    """A birth date is in the past: the same refusal the request's validation gives (422, ``value_error``)."""
    if body.birth_date >= today:
        where = field or "body"
        raise Problem(
            422,
            "validation-error",
            "The request is not valid",
            f"Invalid: {where}.",
            errors=[RuleFailure("value_error", f"Value error, {BIRTH_DATE_RULE}", field)],
        )


def new_applicant(repo: EnrollmentRepository, principal: Principal, body: ApplicantIn) -> Applicant:
    """A new applicant in the open work (the caller commits)."""
    principal.check_campus(body.campus, "campus", body.campus)
    require_campus(repo, principal, body.campus)
    applicant = Applicant(**body.model_dump())
    repo.add(applicant)
    repo.add_keys(applicant.id, identity.match_keys(identity_of(applicant)))
    return applicant


def possible_duplicates(
    repo: EnrollmentRepository, principal: Principal, applicant: Applicant, person: list[uuid.UUID] | None = None
) -> list[DuplicateOut]:
    """Records of the principal's campuses that look like the same person as ``applicant`` (other than the
    records of ``person``, already one), most alike first, each with its reasons."""
    person = person or [applicant.id]
    mine = [identity_of(applicant)] + [identity_of(r) for r in repo.applicants_by_id(person) if r.id != applicant.id]
    keys = frozenset(repo.keys_of(applicant.id)) | identity.match_keys(mine[0])
    found = []
    for other in repo.lookalikes(principal, keys, besides=person, limit=MAX_CANDIDATES):
        # A candidate is a surviving record: the key it shares may have come from a record merged into it.
        theirs = [identity_of(r) for r in repo.applicants_by_id(repo.person(other.id))]
        alike = identity.resemblance_of_people(mine, theirs)
        if alike is not None:
            found.append(
                DuplicateOut(
                    applicant_id=other.id,
                    campus=other.campus,
                    name=other.name,
                    name_romanised=other.name_romanised,
                    birth_date=other.birth_date,
                    reasons=list(alike.reasons),  # type: ignore[arg-type]
                    score=alike.score,
                )
            )
    found.sort(key=lambda d: -d.score)
    return found


def create_applicant(uow: Uow, *, principal: Principal, clock: Clock, body: ApplicantIn) -> ApplicantCreated:
    """A new applicant; records that look like the same person come back with it (staff decide, nothing is
    refused for it)."""
    born_before(body, clock.today())
    with uow:
        applicant = new_applicant(uow.repo, principal, body)
        lookalikes = possible_duplicates(uow.repo, principal, applicant)
        uow.commit()
        return ApplicantCreated(**applicant_out(applicant).model_dump(), possible_duplicates=lookalikes)


def visible_applicant(repo: EnrollmentRepository, principal: Principal, applicant_id: uuid.UUID) -> Applicant:
    """Staff see the applicants of their campuses and those who applied to one of their cohorts."""
    applicant = repo.applicant(applicant_id)
    if applicant is None:
        raise not_found("applicant", applicant_id)
    if principal.sees_campus(applicant.campus):
        return applicant
    if not repo.applied_in(applicant_id, principal.campus_filter() or frozenset()):
        raise not_found("applicant", applicant_id)
    return applicant


def get_applicant(uow: Uow, *, principal: Principal, applicant_id: uuid.UUID) -> ApplicantOut:
    with uow:
        return applicant_out(visible_applicant(uow.repo, principal, applicant_id))


def list_applicants(uow: Uow, *, principal: Principal, page: PageParams, campus: str | None) -> Page[ApplicantOut]:
    with uow:
        items, total = uow.repo.applicants(principal, page, campus=campus)
        return Page(items=[applicant_out(a) for a in items], total=total, limit=page.limit, offset=page.offset)
