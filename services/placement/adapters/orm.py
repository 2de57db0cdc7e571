"""Placement's tables (its own database; no other service reads them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field

from shared.db import service_base, utcnow

Base = service_base()


class Graduate(Base, table=True):
    """A completer (or early-employment leaver), followed for a year. ``id`` is the trainee id."""

    id: uuid.UUID = Field(primary_key=True)
    cohort_id: uuid.UUID = Field(index=True)
    campus: str = Field(index=True, max_length=40)
    programme_code: str = Field(index=True, max_length=60)
    name: str = Field(default="", max_length=200)
    completion_date: date = Field(index=True)
    final_rate: float | None = None
    early_employment: bool = False
    officer: str | None = Field(default=None, index=True, max_length=200)
    qualification_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_qualification: date | None = None
    # Checkpoints the report looks at, fixed at completion (domain.indicators.checkpoints).
    at_6m: date
    at_12m: date
    cert_deadline: date
    q2_end: date
    q4_end: date
    outcome_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class Followup(Base, table=True):
    __table_args__ = (
        UniqueConstraint("graduate_id", "months", name="uq_followup_graduate_months"),
        Index(
            "ix_followup_open_window",
            "campus",
            "window_opens",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    graduate_id: uuid.UUID = Field(foreign_key="graduate.id", index=True)
    campus: str = Field(max_length=40)
    months: int
    due_date: date
    window_opens: date
    overdue_after: date
    done_at: datetime | None = None
    outcome_id: uuid.UUID | None = None


class ContactAttempt(Base, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    followup_id: uuid.UUID = Field(foreign_key="followup.id", index=True)
    graduate_id: uuid.UUID = Field(foreign_key="graduate.id", index=True)
    campus: str = Field(max_length=40)
    attempted_at: datetime
    channel: str = Field(max_length=20)
    result: str = Field(max_length=20)
    note: str = Field(default="", max_length=500)
    officer: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Outcome(Base, table=True):
    __table_args__ = (Index("ix_outcome_graduate_key", "graduate_id", "sort_key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    graduate_id: uuid.UUID = Field(foreign_key="graduate.id")
    campus: str = Field(index=True, max_length=40)
    category: str = Field(max_length=30)
    as_of: date
    months_after_completion: int
    seq: int
    sort_key: int = Field(sa_column=Column(BigInteger, nullable=False))
    employer_id: uuid.UUID | None = Field(default=None, foreign_key="employer.id")
    employer_name: str | None = Field(default=None, max_length=200)
    start_date: date | None = None
    employment_type: str | None = Field(default=None, max_length=20)
    insured: bool | None = None
    monthly_wage: int | None = None
    source: str = Field(default="officer", max_length=30)  # officer, early_employment, internship_conversion
    note: str = Field(default="", max_length=500)
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow)


class Qualification(Base, table=True):
    """A qualification obtained; kept even when the graduate has not arrived yet."""

    __table_args__ = (
        UniqueConstraint("trainee_id", "qualification_code", "obtained_on", name="uq_qualification_trainee_code_date"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    trainee_id: uuid.UUID = Field(index=True)
    qualification_code: str = Field(max_length=60)
    grade: str = Field(max_length=40)
    obtained_on: date
    campus: str = Field(default="", max_length=40)


class Employer(Base, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    campus: str = Field(index=True, max_length=40)
    name: str = Field(max_length=200)
    business_number: str | None = Field(default=None, max_length=20)
    industry: str = Field(default="", max_length=100)
    joined_on: date | None = None
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Posting(Base, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    employer_id: uuid.UUID = Field(foreign_key="employer.id", index=True)
    campus: str = Field(index=True, max_length=40)
    role: str = Field(max_length=200)
    conditions: str = Field(default="", max_length=2000)
    weekly_hours: int = 40
    openings: int = 1
    required_qualifications: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=20)  # open, closed
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    closed_by: str | None = Field(default=None, max_length=200)
    close_reason: str = Field(default="", max_length=500)


class Internship(Base, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    posting_id: uuid.UUID = Field(foreign_key="posting.id", index=True)
    employer_id: uuid.UUID = Field(foreign_key="employer.id", index=True)
    graduate_id: uuid.UUID = Field(foreign_key="graduate.id", index=True)
    campus: str = Field(index=True, max_length=40)
    start_date: date
    end_date: date
    weekly_hours: int
    hourly_krw: int
    monthly_pay: int
    total_pay: int
    status: str = Field(default="active", max_length=20)
    hire_date: date | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # An early end: the last day worked (end_date stays the planned end), why, and who recorded it.
    ended_on: date | None = None
    end_reason: str = Field(default="", max_length=500)
    ended_by: str | None = Field(default=None, max_length=200)


class Incentive(Base, table=True):
    """The employer incentive of a converted internship: one row per internship, ever."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    internship_id: uuid.UUID = Field(foreign_key="internship.id", unique=True)
    employer_id: uuid.UUID = Field(foreign_key="employer.id", index=True)
    graduate_id: uuid.UUID = Field(foreign_key="graduate.id")
    campus: str = Field(index=True, max_length=40)
    amount: int
    due_on: date
    created_at: datetime = Field(default_factory=utcnow)


class ProgrammeTarget(Base, table=True):
    """The employment rate a programme aims at (e.g. 0.75), drawn as a line on the dashboard's charts."""

    programme_code: str = Field(primary_key=True, max_length=60)
    employment_rate: float
    set_by: str = Field(max_length=200)
    set_at: datetime = Field(default_factory=utcnow)
