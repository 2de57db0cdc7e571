"""An in-memory ``EnrollmentRepository`` for the use-case tests: the same methods, the same ORM objects, in dicts.

Locks mean nothing here (one test, one thread); "visible" follows the principal's campuses as the real
repository does (``shared.queries.get_visible``: a 404 either way).
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from services.enrollment.adapters.orm import (
    Applicant,
    ApplicantKey,
    ApplicantMerge,
    Application,
    Campus,
    Cohort,
    Enrollment,
    Programme,
    TimetableChange,
)
from services.enrollment.adapters.repository import OFFERED_APPLICATION, SEAT_STATUSES, Decision, SeatOffer
from services.enrollment.domain import history, selection
from shared.auth import Principal
from shared.problems import not_found


class FakeEnrollmentRepository:
    def __init__(self) -> None:
        self.campuses_: dict[str, Campus] = {}
        self.programmes_: dict[uuid.UUID, Programme] = {}
        self.cohorts_: dict[uuid.UUID, Cohort] = {}
        self.applicants_: dict[uuid.UUID, Applicant] = {}
        self.applications_: dict[uuid.UUID, Application] = {}
        self.enrollments_: dict[uuid.UUID, Enrollment] = {}
        self.timetable_changes_: dict[uuid.UUID, TimetableChange] = {}
        self.keys_: dict[tuple[uuid.UUID, str], ApplicantKey] = {}
        self.merges_: dict[uuid.UUID, ApplicantMerge] = {}

    def _table(self, row: Any) -> dict[Any, Any]:
        return {
            Campus: self.campuses_,
            Programme: self.programmes_,
            Cohort: self.cohorts_,
            Applicant: self.applicants_,
            Application: self.applications_,
            Enrollment: self.enrollments_,
            TimetableChange: self.timetable_changes_,
            ApplicantKey: self.keys_,
            ApplicantMerge: self.merges_,
        }[type(row)]

    # -- any row --------------------------------------------------------------------------------------
    def add(self, row: Any) -> None:
        if isinstance(row, ApplicantKey):
            self.keys_[(row.applicant_id, row.key)] = row
            return
        self._table(row)[row.code if isinstance(row, Campus) else row.id] = row

    def save(self) -> None:
        pass  # the objects are the stored ones

    def reread(self, row: Any) -> None:
        pass

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """A savepoint: the tables as they were come back if the block raises."""
        tables = (
            "campuses_",
            "programmes_",
            "cohorts_",
            "applicants_",
            "applications_",
            "enrollments_",
            "timetable_changes_",
            "keys_",
            "merges_",
        )
        saved = {name: copy.copy(getattr(self, name)) for name in tables}
        try:
            yield
        except BaseException:
            for name, table in saved.items():
                setattr(self, name, table)
            raise

    # -- reads ----------------------------------------------------------------------------------------
    @staticmethod
    def _visible(row: Any, principal: Principal, what: str, ident: Any) -> Any:
        if row is None or not principal.sees_campus(row.campus):
            raise not_found(what, ident)
        return row

    def campus(self, code: str) -> Campus | None:
        return self.campuses_.get(code)

    def programme(self, programme_id: uuid.UUID) -> Programme | None:
        return self.programmes_.get(programme_id)

    def cohort(self, cohort_id: uuid.UUID) -> Cohort | None:
        return self.cohorts_.get(cohort_id)

    def timetable_changes(self, cohort_id: uuid.UUID) -> list[TimetableChange]:
        return sorted(
            (r for r in self.timetable_changes_.values() if r.cohort_id == cohort_id), key=lambda r: r.plan_version
        )

    def visible_cohort(self, principal: Principal, cohort_id: uuid.UUID, *, lock: bool = False) -> Cohort:
        return self._visible(self.cohorts_.get(cohort_id), principal, "cohort", cohort_id)

    def applicant(self, applicant_id: uuid.UUID) -> Applicant | None:
        return self.applicants_.get(applicant_id)

    def application(self, application_id: uuid.UUID) -> Application | None:
        return self.applications_.get(application_id)

    def visible_application(self, principal: Principal, application_id: uuid.UUID) -> Application:
        return self._visible(self.applications_.get(application_id), principal, "application", application_id)

    def lock_application(self, application_id: uuid.UUID) -> Application | None:
        return self.applications_.get(application_id)

    def visible_enrollment(self, principal: Principal, enrollment_id: uuid.UUID) -> Enrollment:
        return self._visible(self.enrollments_.get(enrollment_id), principal, "enrollment", enrollment_id)

    def applied_in(self, applicant_id: uuid.UUID, campuses: frozenset[str]) -> bool:
        return any(a.applicant_id == applicant_id and a.campus in campuses for a in self.applications_.values())

    def has_applied(self, applicant_ids: list[uuid.UUID], cohort_id: uuid.UUID) -> bool:
        return any(a.applicant_id in applicant_ids and a.cohort_id == cohort_id for a in self.applications_.values())

    def participations(self, applicant_ids: list[uuid.UUID]) -> list[history.Participation]:
        out = []
        for e in self.enrollments_.values():
            if e.applicant_id in applicant_ids:
                cohort = self.cohorts_[e.cohort_id]
                hours = self.programmes_[cohort.programme_id].total_hours
                out.append(
                    history.Participation(
                        cohort.id, cohort.start_date, cohort.end_date, hours, e.status, e.withdrawn_before_start
                    )
                )
        return out

    # -- one person, one record -----------------------------------------------------------------------
    def person(self, applicant_id: uuid.UUID, *, lock: bool = False) -> list[uuid.UUID]:
        root = applicant_id
        while (parent := self.applicants_[root].merged_into) is not None:
            root = parent
        members, frontier = [root], [root]
        while frontier:
            frontier = [a.id for a in self.applicants_.values() if a.merged_into in frontier]
            members += frontier
        return members

    def applicants_by_id(self, applicant_ids: list[uuid.UUID]) -> list[Applicant]:
        return [self.applicants_[i] for i in applicant_ids if i in self.applicants_]

    def lock_applicants(self, applicant_ids: list[uuid.UUID]) -> list[Applicant]:
        return [self.applicants_[i] for i in sorted(applicant_ids) if i in self.applicants_]

    def add_keys(self, applicant_id: uuid.UUID, keys: frozenset[str]) -> None:
        for key in keys:
            self.add(ApplicantKey(applicant_id=applicant_id, key=key))

    def keys_of(self, applicant_id: uuid.UUID) -> list[str]:
        return [key for owner, key in self.keys_ if owner == applicant_id]

    def lookalikes(
        self, principal: Principal, keys: frozenset[str], *, besides: list[uuid.UUID], limit: int
    ) -> list[Applicant]:
        sharing = {owner for owner, key in self.keys_ if key in keys}
        found = [
            a
            for a in self.applicants_.values()
            if a.id in sharing and a.id not in besides and a.merged_into is None and principal.sees_campus(a.campus)
        ]
        return sorted(found, key=lambda a: (a.created_at, a.id))[:limit]

    def enrollment_id_of(self, application_id: uuid.UUID) -> uuid.UUID | None:
        return next((e.id for e in self.enrollments_.values() if e.application_id == application_id), None)

    def enrollment_of(self, trainee_id: uuid.UUID, cohort_id: uuid.UUID) -> Enrollment | None:
        return next(
            (e for e in self.enrollments_.values() if e.applicant_id == trainee_id and e.cohort_id == cohort_id), None
        )

    # -- selection and seats --------------------------------------------------------------------------
    def candidates(self, cohort_id: uuid.UUID) -> list[tuple[selection.Candidate, uuid.UUID]]:
        return [
            (selection.Candidate(a.id, a.score, a.applied_at, a.priority, a.above_capacity), a.applicant_id)
            for a in self.applications_.values()
            if a.cohort_id == cohort_id and a.status == "submitted"
        ]

    def record_decisions(self, decisions: list[Decision], now: datetime) -> None:
        for app_id, status, position, why in decisions:
            app = self.applications_[app_id]
            app.status, app.waitlist_position, app.reasons = status, position, [w.as_dict() for w in why]
            app.decided_at = app.updated_at = now

    def application_counts(self, cohort_id: uuid.UUID) -> list[tuple[str, bool, bool, int]]:
        counted = Counter(
            (a.status, a.priority, a.above_capacity) for a in self.applications_.values() if a.cohort_id == cohort_id
        )
        return [(status, priority, above, n) for (status, priority, above), n in counted.items()]

    def seats_taken(self, cohort_id: uuid.UUID) -> int:
        return sum(
            1
            for a in self.applications_.values()
            if a.cohort_id == cohort_id and a.status in SEAT_STATUSES and not a.above_capacity
        )

    def first_waitlisted(self, cohort_id: uuid.UUID) -> Application | None:
        waiting = [a for a in self.applications_.values() if a.cohort_id == cohort_id and a.status == "waitlisted"]
        return min(waiting, key=lambda a: a.waitlist_position or 0, default=None)

    def seat_to_accept(self, application_id: uuid.UUID) -> SeatOffer | None:
        app = self.applications_.get(application_id)
        if app is None:
            return None
        applicant, cohort = self.applicants_[app.applicant_id], self.cohorts_[app.cohort_id]
        programme = self.programmes_[cohort.programme_id]
        return SeatOffer(
            **{f: getattr(app, f) for f in OFFERED_APPLICATION},
            name=applicant.name,
            birth_date=applicant.birth_date,
            merged_into=applicant.merged_into,
            start_date=cohort.start_date,
            end_date=cohort.end_date,
            plan_version=cohort.plan_version,
            programme_code=programme.code,
            total_hours=programme.total_hours,
        )

    def history_of_person(
        self, applicant_id: uuid.UUID, *, merged_into: uuid.UUID | None
    ) -> list[history.Participation]:
        return self.participations(self.person(applicant_id))

    def enroll_accepted(self, offer: SeatOffer, *, enrollment_id: uuid.UUID, on: date, now: datetime) -> None:
        self.add(
            Enrollment(
                id=enrollment_id,
                application_id=offer.id,
                applicant_id=offer.applicant_id,
                cohort_id=offer.cohort_id,
                campus=offer.campus,
                enrolled_on=on,
                updated_at=now,
            )
        )
        offer.status = "accepted"
        app = self.applications_[offer.id]
        app.status, app.updated_at = "accepted", now
