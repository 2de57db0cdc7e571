"""Enrollment's repository: every query, lock and bulk write of the service, named by what it means.

The service layer asks this for campuses, programmes, cohorts, applicants, applications and enrollments and
hands it new rows; it never sees a statement. Rows are the ORM (SQLModel) objects of ``adapters/orm.py``;
where a rule needs something else (an applicant's admission history), it gets the domain's objects.

Locks: a seat change locks the cohort row first, then the application row, in that order everywhere.
On PostgreSQL the locks are ``FOR NO KEY UPDATE`` (see ``shared/queries.py``); SQLite serialises writers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlmodel import Session

from services.enrollment.adapters.orm import (
    Applicant,
    ApplicantKey,
    Application,
    Campus,
    Cohort,
    Enrollment,
    Programme,
    TimetableChange,
)
from services.enrollment.domain import eligibility, history, identity, selection
from shared.auth import Principal
from shared.db import fast_execute
from shared.pagination import PageParams, paginate
from shared.problems import RuleFailure
from shared.queries import get_visible, in_campuses, where_given

SEAT_STATUSES = ("selected", "accepted")

Decision = tuple[uuid.UUID, str, int | None, list[RuleFailure]]  # application, status, waitlist position, why


# -- mapping between rows and the domain's objects -----------------------------------------------------
def facts(applicant: Applicant) -> eligibility.ApplicantFacts:
    return eligibility.ApplicantFacts(
        birth_date=applicant.birth_date,
        residency_status=applicant.residency_status,
        gender=applicant.gender,
        career_break=applicant.career_break,
        priority_categories=frozenset(applicant.priority_categories),
        leaving_care=applicant.leaving_care,
    )


def eligibility_policy(programme: Programme) -> eligibility.EligibilityPolicy:
    return eligibility.EligibilityPolicy(
        min_age=programme.min_age,
        max_age=programme.max_age,
        allowed_residency=frozenset(programme.allowed_residency),
        career_break_women_only=programme.career_break_women_only,
    )


def identity_of(applicant: Applicant) -> identity.Identity:
    return identity.Identity(
        name=applicant.name,
        birth_date=applicant.birth_date,
        name_romanised=applicant.name_romanised,
        phone=applicant.phone,
        email=applicant.email,
    )


@dataclass(slots=True)
class SeatOffer:
    """An offered seat as accepting it reads it, in one statement: the application's own columns (named as
    ``Application``'s), the applicant's name, birth date and the record it was merged into (if any), and the
    cohort's and programme's terms. Plain values: no entity is built for the busiest write of a round."""

    id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    score: float
    applied_at: datetime
    status: str
    priority: bool
    above_capacity: bool
    waitlist_position: int | None
    reasons: list[dict]
    name: str
    birth_date: date
    merged_into: uuid.UUID | None
    start_date: date
    end_date: date
    plan_version: int
    programme_code: str
    total_hours: int

    @property
    def terms(self) -> history.CohortTerms:
        return history.CohortTerms(self.cohort_id, self.start_date, self.end_date, self.total_hours)


# Where each of SeatOffer's values comes from: the application's own columns (OFFERED_APPLICATION), and these.
_OFFER_EXTRAS = {
    "name": Applicant.name,
    "birth_date": Applicant.birth_date,
    "merged_into": Applicant.merged_into,
    "start_date": Cohort.start_date,
    "end_date": Cohort.end_date,
    "plan_version": Cohort.plan_version,
    "programme_code": Programme.code,
    "total_hours": Programme.total_hours,
}
OFFERED_APPLICATION = [f.name for f in fields(SeatOffer) if f.name not in _OFFER_EXTRAS]
_OFFER_COLUMNS = [
    _OFFER_EXTRAS[f.name] if f.name in _OFFER_EXTRAS else getattr(Application, f.name) for f in fields(SeatOffer)
]


def terms(cohort: Cohort, programme: Programme) -> history.CohortTerms:
    return history.CohortTerms(cohort.id, cohort.start_date, cohort.end_date, programme.total_hours)


# -- statements built once; values go in as parameters ---------------------------------------------------
_PARTICIPATION_COLUMNS = (
    select(
        Cohort.id,
        Cohort.start_date,
        Cohort.end_date,
        Programme.total_hours,
        Enrollment.status,
        Enrollment.withdrawn_before_start,
    )
    .join(Cohort, Cohort.id == Enrollment.cohort_id)
    .join(Programme, Programme.id == Cohort.programme_id)
)
_PARTICIPATIONS_OF = _PARTICIPATION_COLUMNS.where(
    Enrollment.applicant_id.in_(bindparam("b_applicants", expanding=True))
)
_MEMBERS = select(Applicant.id).where(Applicant.id == bindparam("b_root")).cte("members", recursive=True)
_MEMBERS = _MEMBERS.union_all(select(Applicant.id).where(Applicant.merged_into == _MEMBERS.c.id))
# The history of a person whose surviving record is ``b_root``: every record merged into it, along chains.
_PERSON_PARTICIPATIONS = _PARTICIPATION_COLUMNS.where(Enrollment.applicant_id.in_(select(_MEMBERS.c.id)))
_SEAT_TO_ACCEPT = (
    select(*_OFFER_COLUMNS)  # in SeatOffer's order
    .join(Applicant, Applicant.id == Application.applicant_id)
    .join(Cohort, Cohort.id == Application.cohort_id)
    .join(Programme, Programme.id == Cohort.programme_id)
    .where(Application.id == bindparam("b_application"))
    .with_for_update(of=[Application, Applicant], key_share=True)  # NO KEY UPDATE: see shared/queries.py
)
# The values are bound by names no column has (e_id, e_status, ...): in the CTE below, SQLAlchemy would also SET,
# in the UPDATE, each column whose name is a key of the parameters.
_INSERT_ENROLLMENT = insert(Enrollment.__table__).values(  # type: ignore[attr-defined]
    {c.name: bindparam(f"e_{c.name}", type_=c.type) for c in Enrollment.__table__.c}  # type: ignore[attr-defined]
)
_SET_STATUS = (
    update(Application.__table__)  # type: ignore[attr-defined]
    .where(Application.__table__.c.id == bindparam("b_id"))  # type: ignore[attr-defined]
    .values(status=bindparam("b_status"), updated_at=bindparam("b_updated_at"))
)
# PostgreSQL: the accepted seat's enrollment and its application's new status in one statement (the UPDATE as a
# data-modifying CTE of the INSERT): one round trip fewer on the busiest write of an admissions round.
_ENROLL_ACCEPTED_PG = _INSERT_ENROLLMENT.add_cte(_SET_STATUS.cte("accepted_application"))
_DECISIONS_PG = text(
    "UPDATE application AS a SET status = v.status, waitlist_position = v.position, reasons = v.reasons, "
    "decided_at = :now, updated_at = :now FROM json_to_recordset(CAST(:decisions AS json)) "
    "AS v(id uuid, status text, position int, reasons json) WHERE a.id = v.id"
)


class EnrollmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- any row --------------------------------------------------------------------------------------
    def add(self, row: Any) -> None:
        """A new row, written now so that its id and defaults are there and later queries see it."""
        self.session.add(row)
        self.session.flush()

    def save(self) -> None:
        """Rows changed in place: written now, so the queries that follow (seat counts) see the change."""
        self.session.flush()

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """A part of the work that is undone alone if it raises (a savepoint); the rest goes on."""
        with self.session.begin_nested():
            yield

    # -- campuses -------------------------------------------------------------------------------------
    def campus(self, code: str) -> Campus | None:
        return self.session.get(Campus, code)

    def campuses(self, principal: Principal) -> list[Campus]:
        query = in_campuses(select(Campus), Campus.code, principal).order_by(Campus.code)
        return list(self.session.execute(query).scalars())

    # -- programmes -----------------------------------------------------------------------------------
    def programme(self, programme_id: uuid.UUID) -> Programme | None:
        return self.session.get(Programme, programme_id)

    def visible_programme(self, principal: Principal, programme_id: uuid.UUID) -> Programme:
        return get_visible(self.session, Programme, programme_id, principal, "programme")

    def programme_code_taken(self, code: str) -> bool:
        return self.session.execute(select(Programme.id).where(Programme.code == code)).first() is not None

    def programmes(
        self, principal: Principal, page: PageParams, *, campus: str | None, track: str | None
    ) -> tuple[list[Programme], int]:
        query = in_campuses(select(Programme), Programme.campus, principal).order_by(Programme.code)
        query = where_given(query, (Programme.campus, campus), (Programme.track, track))
        return paginate(self.session, query, page)

    # -- cohorts --------------------------------------------------------------------------------------
    def cohort(self, cohort_id: uuid.UUID) -> Cohort | None:
        return self.session.get(Cohort, cohort_id)

    def visible_cohort(self, principal: Principal, cohort_id: uuid.UUID, *, lock: bool = False) -> Cohort:
        """The cohort, or a 404; ``lock``: held until the work ends (its seats are about to change)."""
        return get_visible(self.session, Cohort, cohort_id, principal, "cohort", lock=lock)

    def cohorts(
        self,
        principal: Principal,
        page: PageParams,
        *,
        campus: str | None,
        programme_id: uuid.UUID | None,
        open_on: date | None,
    ) -> tuple[list[tuple[Cohort, Programme]], int]:
        query = in_campuses(select(Cohort), Cohort.campus, principal).order_by(Cohort.start_date, Cohort.id)
        query = where_given(query, (Cohort.campus, campus), (Cohort.programme_id, programme_id))
        if open_on:
            query = query.where(Cohort.application_opens <= open_on, Cohort.application_closes >= open_on)
        cohorts, total = paginate(self.session, query, page)
        programmes = {
            p.id: p
            for p in self.session.execute(
                select(Programme).where(Programme.id.in_({c.programme_id for c in cohorts}))
            ).scalars()
        }
        return [(c, programmes[c.programme_id]) for c in cohorts], total

    def timetable_changes(self, cohort_id: uuid.UUID) -> list[TimetableChange]:
        """The cohort's timetable changes in the order they were made."""
        query = select(TimetableChange).where(TimetableChange.cohort_id == cohort_id)
        return list(self.session.execute(query.order_by(TimetableChange.plan_version)).scalars())

    def application_counts(self, cohort_id: uuid.UUID) -> list[tuple[str, bool, bool, int]]:
        """The cohort's applications counted by (status, priority, above capacity)."""
        rows = self.session.execute(
            select(Application.status, Application.priority, Application.above_capacity, func.count())
            .where(Application.cohort_id == cohort_id)
            .group_by(Application.status, Application.priority, Application.above_capacity)
        ).all()
        return [(status, priority, above, n) for status, priority, above, n in rows]

    # -- applicants -----------------------------------------------------------------------------------
    def applicant(self, applicant_id: uuid.UUID) -> Applicant | None:
        return self.session.get(Applicant, applicant_id)

    def applied_in(self, applicant_id: uuid.UUID, campuses: frozenset[str]) -> bool:
        """Has the applicant applied to a cohort of one of these campuses?"""
        return (
            self.session.execute(
                select(Application.id)
                .where(Application.applicant_id == applicant_id, Application.campus.in_(campuses))
                .limit(1)
            ).first()
            is not None
        )

    def applicants(self, principal: Principal, page: PageParams, *, campus: str | None) -> tuple[list[Applicant], int]:
        query = select(Applicant).order_by(Applicant.created_at, Applicant.id)
        query = in_campuses(query, Applicant.campus, principal)
        if campus:
            query = query.where(Applicant.campus == campus)
        return paginate(self.session, query, page)

    def participations(self, applicant_ids: list[uuid.UUID]) -> list[history.Participation]:
        """The admission history of these records (a person's, see ``person``): every cohort they were enrolled
        in and how it ended."""
        return self._participations(self.session.execute(_PARTICIPATIONS_OF, {"b_applicants": applicant_ids}))

    @staticmethod
    def _participations(rows: Any) -> list[history.Participation]:
        return [
            history.Participation(
                cohort_id=cohort_id,
                start_date=start,
                end_date=end,
                total_hours=hours,
                status=status,
                withdrawn_before_start=before_start,
            )
            for cohort_id, start, end, hours, status, before_start in rows
        ]

    def history_of_person(
        self, applicant_id: uuid.UUID, *, merged_into: uuid.UUID | None
    ) -> list[history.Participation]:
        """The admission history of the person this record belongs to, the surviving record's row held until the
        work ends. A record merged into none (nearly every one) is its person's surviving record, and the caller
        holds its row already (``seat_to_accept``): one statement reads its history with that of every record
        merged into it. Otherwise the chain is followed first (``person``)."""
        if merged_into is not None:
            return self.participations(self.person(applicant_id, lock=True))
        return self._participations(fast_execute(self.session, _PERSON_PARTICIPATIONS, {"b_root": applicant_id}))

    # -- one person, one record -----------------------------------------------------------------------
    def person(self, applicant_id: uuid.UUID, *, lock: bool = False) -> list[uuid.UUID]:
        """The person this record belongs to: the surviving record first (found along the chain of merges),
        then every record merged into it, directly or along a chain. ``lock``: the surviving record's row is
        held until the work ends, so two records of one person do not take overlapping seats in parallel."""
        root = applicant_id
        seen = {root}
        while (
            parent := self.session.execute(select(Applicant.merged_into).where(Applicant.id == root)).scalar()
        ) is not None:
            if parent in seen:  # never written so (a merge refuses a merged survivor); stop rather than loop
                break
            seen.add(parent)
            root = parent
        if lock:
            self.session.execute(select(Applicant.id).where(Applicant.id == root).with_for_update(key_share=True))
        members = select(Applicant.id).where(Applicant.id == root).cte("members", recursive=True)
        members = members.union_all(select(Applicant.id).where(Applicant.merged_into == members.c.id))
        merged = [i for i in self.session.execute(select(members.c.id)).scalars() if i != root]
        return [root, *merged]

    def applicants_by_id(self, applicant_ids: list[uuid.UUID]) -> list[Applicant]:
        """The records, in the order of ``applicant_ids``."""
        rows = {
            a.id: a for a in self.session.execute(select(Applicant).where(Applicant.id.in_(applicant_ids))).scalars()
        }
        return [rows[i] for i in applicant_ids if i in rows]

    def lock_applicants(self, applicant_ids: list[uuid.UUID]) -> list[Applicant]:
        """The records, read again and held until the work ends (in id order, so two merges cannot deadlock)."""
        return list(
            self.session.execute(
                select(Applicant)
                .where(Applicant.id.in_(applicant_ids))
                .order_by(Applicant.id)
                .with_for_update(key_share=True)
                .execution_options(populate_existing=True)
            ).scalars()
        )

    def add_keys(self, applicant_id: uuid.UUID, keys: frozenset[str]) -> None:
        """Keys the record is recognised by, those it already has left as they are."""
        have = set(self.keys_of(applicant_id))
        for key in sorted(keys - have):
            self.session.add(ApplicantKey(applicant_id=applicant_id, key=key))
        self.session.flush()

    def keys_of(self, applicant_id: uuid.UUID) -> list[str]:
        return list(
            self.session.execute(select(ApplicantKey.key).where(ApplicantKey.applicant_id == applicant_id)).scalars()
        )

    def lookalikes(
        self, principal: Principal, keys: frozenset[str], *, besides: list[uuid.UUID], limit: int
    ) -> list[Applicant]:
        """Records of the principal's campuses, not merged into another, that share one of ``keys`` (through the
        key index), other than ``besides``."""
        if not keys:
            return []
        sharing = select(ApplicantKey.applicant_id).where(ApplicantKey.key.in_(sorted(keys)))
        query = (
            select(Applicant)
            .where(Applicant.id.in_(sharing), Applicant.id.not_in(besides), Applicant.merged_into.is_(None))
            .order_by(Applicant.created_at, Applicant.id)
            .limit(limit)
        )
        return list(self.session.execute(in_campuses(query, Applicant.campus, principal)).scalars())

    # -- applications ---------------------------------------------------------------------------------
    def application(self, application_id: uuid.UUID) -> Application | None:
        return self.session.get(Application, application_id)

    def visible_application(self, principal: Principal, application_id: uuid.UUID) -> Application:
        return get_visible(self.session, Application, application_id, principal, "application")

    def lock_application(self, application_id: uuid.UUID) -> Application | None:
        """The application, read again and held until the work ends (after its cohort's lock)."""
        return self.session.execute(
            select(Application)
            .where(Application.id == application_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()

    def has_applied(self, applicant_ids: list[uuid.UUID], cohort_id: uuid.UUID) -> bool:
        """Has one of these records (a person's) applied to the cohort?"""
        return (
            self.session.execute(
                select(Application.id).where(
                    Application.applicant_id.in_(applicant_ids), Application.cohort_id == cohort_id
                )
            ).first()
            is not None
        )

    def applications(
        self,
        principal: Principal,
        page: PageParams,
        *,
        campus: str | None,
        cohort_id: uuid.UUID | None,
        status: str | None,
    ) -> tuple[list[Application], int]:
        query = select(Application).order_by(Application.applied_at, Application.id)
        query = in_campuses(query, Application.campus, principal)
        query = where_given(
            query, (Application.campus, campus), (Application.cohort_id, cohort_id), (Application.status, status)
        )
        return paginate(self.session, query, page)

    # -- selection and seats --------------------------------------------------------------------------
    def candidates(self, cohort_id: uuid.UUID) -> list[tuple[selection.Candidate, uuid.UUID]]:
        """The cohort's applications waiting for selection, each with its applicant's id."""
        rows = self.session.execute(
            select(
                Application.id,
                Application.score,
                Application.applied_at,
                Application.priority,
                Application.above_capacity,
                Application.applicant_id,
            ).where(Application.cohort_id == cohort_id, Application.status == "submitted")
        ).all()
        return [(selection.Candidate(*row[:5]), row[5]) for row in rows]

    def record_decisions(self, decisions: list[Decision], now: datetime) -> None:
        """Write many decisions at once: on PostgreSQL one UPDATE from one JSON parameter, executemany elsewhere."""
        if not decisions:
            return
        if self.session.get_bind().dialect.name != "postgresql":
            self.session.execute(
                update(Application),
                [
                    dict(
                        id=app_id,
                        status=status,
                        waitlist_position=position,
                        reasons=[w.as_dict() for w in why],
                        decided_at=now,
                        updated_at=now,
                    )
                    for app_id, status, position, why in decisions
                ],
            )
            return
        self.session.execute(
            _DECISIONS_PG,
            dict(
                now=now,
                decisions=json.dumps(
                    [
                        {
                            "id": str(app_id),
                            "status": status,
                            "position": position,
                            "reasons": [w.as_dict() for w in why],
                        }
                        for app_id, status, position, why in decisions
                    ]
                ),
            ),
        )
        self.session.expire_all()

    def seats_taken(self, cohort_id: uuid.UUID) -> int:
        """Seats offered or accepted, those above capacity not counted."""
        return self.session.execute(
            select(func.count())
            .select_from(Application)
            .where(
                Application.cohort_id == cohort_id,
                Application.status.in_(SEAT_STATUSES),
                Application.above_capacity.is_(False),
            )
        ).scalar_one()

    def first_waitlisted(self, cohort_id: uuid.UUID) -> Application | None:
        return self.session.execute(
            select(Application)
            .where(Application.cohort_id == cohort_id, Application.status == "waitlisted")
            .order_by(Application.waitlist_position)
            .limit(1)
        ).scalar_one_or_none()

    def seat_to_accept(self, application_id: uuid.UUID) -> SeatOffer | None:
        """The offered seat, in one statement; the application and the applicant rows are held until the work
        ends (not the cohort: the seat count does not change, so accepts run in parallel)."""
        found = fast_execute(self.session, _SEAT_TO_ACCEPT, {"b_application": application_id}).fetchone()
        return None if found is None else SeatOffer(*found)

    def enroll_accepted(self, offer: SeatOffer, *, enrollment_id: uuid.UUID, on: date, now: datetime) -> None:
        """The accepted seat's enrollment and the application marked accepted, with plain statements (the
        busiest write of an admissions round skips the ORM's unit of work): one on PostgreSQL, two elsewhere."""
        enrollment = dict(
            e_id=enrollment_id,
            e_application_id=offer.id,
            e_applicant_id=offer.applicant_id,
            e_cohort_id=offer.cohort_id,
            e_campus=offer.campus,
            e_status="enrolled",
            e_enrolled_on=on,
            e_withdrawn_on=None,
            e_withdrawn_before_start=False,
            e_withdraw_reason=None,
            e_outcome_date=None,
            e_final_rate=None,
            e_updated_at=now,
        )
        accepted = dict(b_id=offer.id, b_status="accepted", b_updated_at=now)
        if self.session.get_bind().dialect.name == "postgresql":
            fast_execute(self.session, _ENROLL_ACCEPTED_PG, {**accepted, **enrollment})
        else:
            self.session.execute(_INSERT_ENROLLMENT, enrollment)
            self.session.execute(_SET_STATUS, accepted)
        offer.status = "accepted"

    # -- enrollments ----------------------------------------------------------------------------------
    def enrollment_id_of(self, application_id: uuid.UUID) -> uuid.UUID | None:
        return self.session.execute(select(Enrollment.id).where(Enrollment.application_id == application_id)).scalar()

    def visible_enrollment(self, principal: Principal, enrollment_id: uuid.UUID) -> Enrollment:
        return get_visible(self.session, Enrollment, enrollment_id, principal, "enrollment")

    def reread(self, row: Any) -> None:
        """Read the row again from the database (after taking a lock that orders this work after others)."""
        self.session.refresh(row)

    def enrollments(
        self,
        principal: Principal,
        page: PageParams,
        *,
        campus: str | None,
        cohort_id: uuid.UUID | None,
        trainee_id: uuid.UUID | None,
        status: str | None,
    ) -> tuple[list[Enrollment], int]:
        query = select(Enrollment).order_by(Enrollment.enrolled_on, Enrollment.id)
        query = in_campuses(query, Enrollment.campus, principal)
        query = where_given(
            query,
            (Enrollment.campus, campus),
            (Enrollment.cohort_id, cohort_id),
            (Enrollment.applicant_id, trainee_id),
            (Enrollment.status, status),
        )
        return paginate(self.session, query, page)

    def enrollment_of(self, trainee_id: uuid.UUID, cohort_id: uuid.UUID) -> Enrollment | None:
        return self.session.execute(
            select(Enrollment).where(Enrollment.applicant_id == trainee_id, Enrollment.cohort_id == cohort_id)
        ).scalar_one_or_none()
