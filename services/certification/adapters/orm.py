"""Certification's tables (its own database; no other service reads them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field

from shared.db import service_base, utcnow

Base = service_base()

LIVE = text("status <> 'rejected'")


class Qualification(Base, table=True):
    """A national technical qualification; a fee of None has not been set by the centre yet."""

    code: str = Field(primary_key=True, max_length=60)
    name: str = Field(max_length=200)
    grade: str = Field(max_length=30)  # craftsman, industrial_engineer, engineer, master
    written_fee: int | None = None
    practical_fee: int | None = None
    programme_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class CohortPlan(Base, table=True):
    """A cohort as enrollment's cohort events describe it (the dates and qualifications claims depend on)."""

    __tablename__ = "cohort"

    id: uuid.UUID = Field(primary_key=True)
    campus: str = Field(max_length=40)
    programme_code: str = Field(max_length=60)
    qualification_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    start_date: date
    end_date: date
    plan_version: int = 1
    updated_at: datetime = Field(default_factory=utcnow)


class ClaimWindow(Base, table=True):
    """One enrollment of a trainee, as enrollment's and attendance's events told it."""

    __tablename__ = "claim_window"
    __table_args__ = (UniqueConstraint("trainee_id", "cohort_id", name="uq_claim_window_trainee_cohort"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    trainee_id: uuid.UUID = Field(index=True)
    cohort_id: uuid.UUID = Field(index=True)
    campus: str = Field(index=True, max_length=40)
    programme_code: str = Field(max_length=60)
    qualification_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    start_date: date | None = None
    end_date: date | None = None
    enrolled_on: date | None = None
    status: str = Field(default="enrolled", max_length=20)  # enrolled, completed, not_completed, withdrawn
    completion_date: date | None = None
    closed_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Claim(Base, table=True):
    __table_args__ = (
        # One live claim per qualification, stage and exam date; one live claim per receipt (rejected ones free both).
        Index(
            "uq_claim_live_exam",
            "trainee_id",
            "qualification_code",
            "stage",
            "exam_date",
            unique=True,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        ),
        Index("uq_claim_live_receipt", "receipt_key", unique=True, postgresql_where=LIVE, sqlite_where=LIVE),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    trainee_id: uuid.UUID = Field(index=True)
    cohort_id: uuid.UUID = Field(index=True)
    campus: str = Field(index=True, max_length=40)
    qualification_code: str = Field(foreign_key="qualification.code", max_length=60)
    stage: str = Field(max_length=20)
    exam_date: date
    amount_paid: int
    standard_fee: int
    amount: int
    receipt_number: str = Field(max_length=60)
    receipt_key: str = Field(max_length=60)
    admission_slip_number: str = Field(max_length=60)
    status: str = Field(default="submitted", index=True, max_length=20)  # submitted, approved, rejected, paid
    reasons: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    submitted_by: str = Field(max_length=100)
    submitted_at: datetime = Field(default_factory=utcnow)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class PayoutBatch(Base, table=True):
    __tablename__ = "payout_batch"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    campus: str = Field(index=True, max_length=40)
    payout_count: int = 0
    total_amount: int = 0
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class Payout(Base, table=True):
    """One payment of one claim: the unique claim_id is what makes a payment happen once."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    claim_id: uuid.UUID = Field(foreign_key="claim.id", unique=True)
    batch_id: uuid.UUID = Field(foreign_key="payout_batch.id", index=True)
    reference: str = Field(max_length=40, unique=True)
    trainee_id: uuid.UUID
    campus: str = Field(index=True, max_length=40)
    amount: int
    paid_by: str = Field(max_length=100)
    paid_at: datetime = Field(default_factory=utcnow)


class QualificationObtained(Base, table=True):
    __tablename__ = "qualification_obtained"
    __table_args__ = (UniqueConstraint("trainee_id", "qualification_code", name="uq_obtained_trainee_qualification"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    trainee_id: uuid.UUID = Field(index=True)
    cohort_id: uuid.UUID | None = Field(default=None, index=True)
    campus: str = Field(index=True, max_length=40)
    qualification_code: str = Field(foreign_key="qualification.code", max_length=60)
    grade: str = Field(max_length=30)
    obtained_on: date
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(default_factory=utcnow)


class PayoutAccount(Base, table=True):
    """Where a trainee's reimbursements are sent. The number is stored encrypted (``adapters/vault.py``); its last
    four digits are kept apart so it can be shown masked without decrypting."""

    __tablename__ = "payout_account"

    trainee_id: uuid.UUID = Field(primary_key=True)
    campus: str = Field(index=True, max_length=40)
    holder: str = Field(max_length=100)
    bank_code: str = Field(max_length=3)
    bank_name: str = Field(max_length=40)
    number_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    number_last4: str = Field(max_length=4)
    key_id: str = Field(index=True, max_length=12)
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow)
