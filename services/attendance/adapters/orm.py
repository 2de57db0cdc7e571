"""Attendance's tables (its own database; no other service reads them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field

from services.attendance.domain.standing import DEFAULT_STANDING_POLICY
from shared.db import service_base, utcnow

Base = service_base()


class Cohort(Base, table=True):
    """A cohort as enrollment's snapshot describes it (cohort.published / trainee.enrolled)."""

    id: uuid.UUID = Field(primary_key=True)
    campus: str = Field(index=True, max_length=40)
    programme_code: str = Field(max_length=60)
    programme_title: str = Field(default="", max_length=300)
    track: str = Field(default="", max_length=60)
    total_hours: int = 0
    completion_threshold: float = DEFAULT_STANDING_POLICY.completion_threshold
    qualification_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    start_date: date
    end_date: date = Field(index=True)
    snapshot_hash: str = Field(default="", max_length=64)
    plan_version: int = 1  # the version of enrollment's plan these rows follow
    closed_at: datetime | None = None
    closed_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class TrainingSession(Base, table=True):
    """One scheduled training day of a cohort; the id is derived from cohort, date and start.

    A session the plan no longer has (cancelled, or moved elsewhere) is deleted if nobody has a mark on it;
    one with marks stays, ``cancelled``: out of the plan, its marks kept but no longer counted."""

    __tablename__ = "training_session"
    __table_args__ = (UniqueConstraint("cohort_id", "date", "start", name="uq_training_session_slot"),)

    id: uuid.UUID = Field(primary_key=True)
    cohort_id: uuid.UUID = Field(foreign_key="cohort.id", index=True)
    date: date
    start: time
    end: time
    hours: float
    cancelled: bool = False


class PendingEnrollment(Base, table=True):
    """A trainee.enrolled held until the cohort's plan (at its version or later) has arrived."""

    __tablename__ = "pending_enrollment"
    __table_args__ = (UniqueConstraint("cohort_id", "trainee_id", name="uq_pending_enrollment_cohort_trainee"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cohort_id: uuid.UUID = Field(index=True)
    trainee_id: uuid.UUID
    plan_version: int
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the event's data
    withdrawn_on: date | None = None  # a withdrawal that arrived while the enrollment was held
    withdraw_reason: str | None = Field(default=None, max_length=60)
    received_at: datetime = Field(default_factory=utcnow)


class RosterEntry(Base, table=True):
    __tablename__ = "roster_entry"
    __table_args__ = (UniqueConstraint("cohort_id", "trainee_id", name="uq_roster_entry_cohort_trainee"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cohort_id: uuid.UUID = Field(foreign_key="cohort.id", index=True)
    trainee_id: uuid.UUID = Field(index=True)
    enrollment_id: uuid.UUID | None = None
    campus: str = Field(index=True, max_length=40)
    name: str = Field(default="", max_length=200)
    enrolled_on: date
    status: str = Field(default="active", max_length=20)  # active, withdrawn
    withdrawn_on: date | None = None
    withdraw_reason: str | None = Field(default=None, max_length=60)
    at_risk: bool = Field(default=False, index=True)
    at_risk_reason: str | None = Field(default=None, max_length=40)
    current_rate: float | None = None
    max_possible_rate: float | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Mark(Base, table=True):
    """A trainee's mark for one session, with the punches it was decided from."""

    __table_args__ = (
        UniqueConstraint("session_id", "trainee_id", name="uq_mark_session_trainee"),
        Index("ix_mark_cohort_trainee", "cohort_id", "trainee_id"),
    )

    # On PostgreSQL the column also has a default (gen_random_uuid(), migration 0005): a bulk request's COPY
    # leaves the id to the database. The schema comes from the migrations, which are tested against this model.
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="training_session.id")
    cohort_id: uuid.UUID
    trainee_id: uuid.UUID
    mark: str = Field(max_length=20)
    source: str = Field(default="punches", max_length=20)  # punches, staff
    punches: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    check_in_at: datetime | None = None
    check_out_at: datetime | None = None
    reason_code: str | None = Field(default=None, max_length=40)
    evidence_ref: str | None = Field(default=None, max_length=200)
    updated_by: str = Field(default="", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)


class MarkChange(Base, table=True):
    """Every staff correction or excuse: who, when, why and the previous value."""

    __tablename__ = "mark_change"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(index=True)
    trainee_id: uuid.UUID = Field(index=True)
    previous_mark: str | None = Field(default=None, max_length=20)
    new_mark: str = Field(max_length=20)
    reason: str = Field(max_length=500)
    reason_code: str | None = Field(default=None, max_length=40)
    evidence_ref: str | None = Field(default=None, max_length=200)
    changed_by: str = Field(max_length=200)
    changed_at: datetime = Field(default_factory=utcnow)


class Completion(Base, table=True):
    """The completion decision, once per trainee per cohort (the primary key guards it)."""

    cohort_id: uuid.UUID = Field(primary_key=True)
    trainee_id: uuid.UUID = Field(primary_key=True)
    campus: str = Field(max_length=40)
    outcome: str = Field(max_length=20)  # completed, not_completed
    final_rate: float
    reason: str | None = Field(default=None, max_length=60)
    decided_on: date  # the cohort's closing day, also for a late decision
    decided_at: datetime = Field(default_factory=utcnow)
    late: bool = False  # decided after the close: the enrollment reached the roster of a closed cohort


class AtRiskWarning(Base, table=True):
    """Each at-risk warning published (one per crossing)."""

    __tablename__ = "at_risk_warning"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cohort_id: uuid.UUID = Field(index=True)
    trainee_id: uuid.UUID = Field(index=True)
    reason: str = Field(max_length=40)
    current_rate: float
    max_possible_rate: float
    warned_at: datetime = Field(default_factory=utcnow)
