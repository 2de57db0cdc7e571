"""Enrollment's tables (its own database; no other service reads them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from services.enrollment.domain.eligibility import DEFAULT_MIN_AGE
from services.enrollment.domain.policy import DEFAULT_COMPLETION_THRESHOLD
from shared.db import service_base, utcnow

Base = service_base()


class Campus(Base, table=True):
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    city: str = Field(default="", max_length=100)


class Programme(Base, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    title: str = Field(max_length=300)
    campus: str = Field(foreign_key="campus.code", index=True, max_length=40)
    track: str = Field(max_length=60)
    total_hours: int
    completion_threshold: float = DEFAULT_COMPLETION_THRESHOLD
    qualification_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_age: int = DEFAULT_MIN_AGE
    max_age: int | None = None
    allowed_residency: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    career_break_women_only: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Cohort(Base, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    programme_id: uuid.UUID = Field(foreign_key="programme.id", index=True)
    campus: str = Field(index=True, max_length=40)
    label: str = Field(max_length=100)
    capacity: int
    application_opens: date
    application_closes: date
    start_date: date
    end_date: date
    timetable: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sessions: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    plan_version: int = 1  # 1 when published, one more on each timetable change
    selection_done_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class TimetableChange(Base, table=True):
    """Each change to a published timetable: who, when, why and what (the plan version it made)."""

    __tablename__ = "timetable_change"
    __table_args__ = (UniqueConstraint("cohort_id", "plan_version", name="uq_timetable_change_cohort_version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cohort_id: uuid.UUID = Field(foreign_key="cohort.id", index=True)
    plan_version: int
    kind: str = Field(max_length=20)  # cancel, add, move, extend
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=500)
    changed_by: str = Field(max_length=200)
    changed_at: datetime = Field(default_factory=utcnow)


class Applicant(Base, table=True):
    """A person; no resident registration number is ever stored, only the birth date."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    campus: str = Field(index=True, max_length=40)
    name: str = Field(max_length=200)
    birth_date: date
    gender: str | None = Field(default=None, max_length=20)
    residency_status: str = Field(max_length=40)
    career_break: bool = False
    priority_categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    leaving_care: bool = False
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    name_romanised: str | None = Field(default=None, max_length=200)
    # Set once this record was found to be another's duplicate: the record it was merged into. The row stays
    # (its applications, enrollments and the trainee id other services know it by); the person is the
    # surviving record and every record merged into it, along a chain of merges.
    merged_into: uuid.UUID | None = Field(default=None, foreign_key="applicant.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ApplicantKey(Base, table=True):
    """A normalised key a person is recognised by (``domain/identity.match_keys``): two records that share
    one are candidates to be the same person. Indexed, so a registration finds them without a scan."""

    applicant_id: uuid.UUID = Field(foreign_key="applicant.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=400, index=True)


class ApplicantMerge(Base, table=True):
    """Who merged which record into which, when and why (the history; nothing is deleted)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    survivor_id: uuid.UUID = Field(foreign_key="applicant.id", index=True)
    duplicate_id: uuid.UUID = Field(foreign_key="applicant.id", unique=True)
    reason: str = Field(max_length=500)
    merged_by: str = Field(max_length=200)
    merged_at: datetime = Field(default_factory=utcnow)


class Application(Base, table=True):
    __table_args__ = (UniqueConstraint("applicant_id", "cohort_id", name="uq_application_applicant_cohort"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    applicant_id: uuid.UUID = Field(foreign_key="applicant.id", index=True)
    cohort_id: uuid.UUID = Field(foreign_key="cohort.id", index=True)
    campus: str = Field(index=True, max_length=40)
    score: float = 0
    applied_at: datetime = Field(default_factory=utcnow)
    # submitted, ineligible, selected, waitlisted, accepted, declined, rejected, withdrawn
    status: str = Field(default="submitted", index=True, max_length=20)
    priority: bool = False
    above_capacity: bool = False
    waitlist_position: int | None = None
    reasons: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Enrollment(Base, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(foreign_key="application.id", unique=True)
    applicant_id: uuid.UUID = Field(foreign_key="applicant.id", index=True)
    cohort_id: uuid.UUID = Field(foreign_key="cohort.id", index=True)
    campus: str = Field(index=True, max_length=40)
    # enrolled, withdrawn, completed, not_completed
    status: str = Field(default="enrolled", max_length=20)
    enrolled_on: date
    withdrawn_on: date | None = None
    withdrawn_before_start: bool = False
    withdraw_reason: str | None = Field(default=None, max_length=60)
    outcome_date: date | None = None
    final_rate: float | None = None
    updated_at: datetime = Field(default_factory=utcnow)
