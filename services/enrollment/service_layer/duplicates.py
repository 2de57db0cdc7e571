"""One person, one record: listing the records that look like the same person, and merging two of them.

A merge keeps both rows. The duplicate points to the survivor (``merged_into``) and every application,
enrollment and trainee id stays as it was, since other services know the trainee by the id announced in
``trainee.enrolled``; from then on "the person" is the survivor and every record merged into it (along a
chain of merges, see ``EnrollmentRepository.person``), and the re-admission limit and the overlap rule
count the courses of all of them. The survivor takes the duplicate's keys, so a later registration of
the person matches the survivor (merged records are never offered as candidates). Who merged, when and
why is kept (``ApplicantMerge``).
"""

from __future__ import annotations

import uuid

from services.enrollment.adapters.orm import ApplicantMerge
from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.domain import identity
from services.enrollment.schemas import DuplicateOut, MergeIn, MergeOut
from services.enrollment.service_layer.applicants import possible_duplicates, visible_applicant
from shared.auth import Principal
from shared.problems import RuleFailure, RuleViolation, not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]


def list_duplicates(uow: Uow, *, principal: Principal, applicant_id: uuid.UUID) -> list[DuplicateOut]:
    """Records of the principal's campuses that look like this person (for a merged record: like the person
    it now belongs to), most alike first."""
    with uow:
        repo = uow.repo
        visible_applicant(repo, principal, applicant_id)
        person = repo.person(applicant_id)
        survivor = repo.applicant(person[0])
        assert survivor is not None
        return possible_duplicates(repo, principal, survivor, person)


def merge(uow: Uow, *, principal: Principal, survivor_id: uuid.UUID, body: MergeIn) -> MergeOut:
    """Merge ``body.duplicate_id`` into ``survivor_id``: the duplicate stays, pointing to the survivor."""
    with uow:
        repo = uow.repo
        if survivor_id == body.duplicate_id:
            itself = identity.MergeSide(survivor_id, None)
            raise RuleViolation(identity.check_merge(itself, itself))
        for ident in (survivor_id, body.duplicate_id):
            found = visible_applicant(repo, principal, ident)
            if not principal.sees_campus(found.campus):
                raise RuleViolation(
                    [
                        RuleFailure(
                            "merge.other-campus",
                            f"record {ident} belongs to campus {found.campus}, which is not yours; "
                            "its own campus merges it",
                            "duplicate_id" if ident == body.duplicate_id else None,
                        )
                    ]
                )
        rows = {a.id: a for a in repo.lock_applicants([survivor_id, body.duplicate_id])}
        survivor, duplicate = rows.get(survivor_id), rows.get(body.duplicate_id)
        if survivor is None or duplicate is None:
            raise not_found("applicant", survivor_id if survivor is None else body.duplicate_id)
        failures = identity.check_merge(
            identity.MergeSide(survivor.id, survivor.merged_into),
            identity.MergeSide(duplicate.id, duplicate.merged_into),
        )
        if failures:
            raise RuleViolation(failures, status=409)
        duplicate.merged_into = survivor.id
        repo.save()
        record = ApplicantMerge(
            survivor_id=survivor.id, duplicate_id=duplicate.id, reason=body.reason, merged_by=principal.sub
        )
        repo.add(record)
        repo.add_keys(survivor.id, frozenset(repo.keys_of(duplicate.id)))
        person = repo.person(survivor.id)
        uow.commit()
        return MergeOut(
            survivor_id=survivor.id,
            duplicate_id=duplicate.id,
            reason=record.reason,
            merged_by=record.merged_by,
            merged_at=record.merged_at,
            person=person,
        )
