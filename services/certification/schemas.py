"""Request and response bodies of the certification API, with OpenAPI examples."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.certification.domain.qualifications import GRADES, STAGES
from shared.inputs import Day, InputModel

Grade = Literal[GRADES]  # type: ignore[valid-type]
Stage = Literal[STAGES]  # type: ignore[valid-type]
QualCode = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_\-]+$")
# Whole KRW. The largest fee DOMAIN.md knows is 166,700 KRW; 10,000,000 is far beyond any exam fee.
MAX_KRW = 10_000_000
Krw = Field(ge=0, le=MAX_KRW, description="whole KRW")
EvidenceNumber = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9\- /]+$")


def _example(**example: object) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class Reason(BaseModel):
    rule: str
    message: str
    field: str | None = None


class QualificationIn(InputModel):
    model_config = _example(
        code="WELD-CRAFTSMAN",
        name="Welding Craftsman (용접기능사)",
        grade="craftsman",
        written_fee=14500,
        practical_fee=None,
        programme_codes=["JB-WELD-2026"],
    )
    code: str = QualCode
    name: str = Field(min_length=1, max_length=200)
    grade: Grade
    written_fee: int | None = Field(None, ge=0, le=MAX_KRW, description="None: not yet set by the centre")
    practical_fee: int | None = Field(None, ge=0, le=MAX_KRW, description="None: not yet set by the centre")
    programme_codes: list[str] = Field(default_factory=list, max_length=200)


class QualificationOut(BaseModel):
    code: str
    name: str
    grade: Grade
    written_fee: int | None
    practical_fee: int | None
    programme_codes: list[str]


class ImportRow(BaseModel):
    row: int
    status: Literal["imported", "refused"]
    key: str | None = None
    errors: list[Reason] = []


class ImportReport(BaseModel):
    rows: int
    imported: int
    refused: int
    report: list[ImportRow]


class WindowOut(BaseModel):
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    qualification_codes: list[str]
    start_date: date | None
    end_date: date | None
    status: str
    completion_date: date | None
    closed_on: date | None
    last_exam_date: date | None = Field(
        None,
        description="the last exam date that can be reimbursed: 12 months after the cohort's end while enrolled, 12 "
        "months after completion, the date the right ended otherwise; None until the cohort's dates are known",
    )


class ClaimIn(InputModel):
    model_config = _example(
        trainee_id="6f1c1c1e-3d1a-4c55-9b7e-2f0f4c7e9a10",
        qualification_code="WELD-CRAFTSMAN",
        stage="written",
        exam_date="2027-03-14",
        amount_paid=14500,
        receipt_number="QN-2027-0001234",
        admission_slip_number="27-1-0456",
    )
    trainee_id: uuid.UUID
    qualification_code: str = QualCode
    stage: Stage
    exam_date: Day
    amount_paid: int = Field(gt=0, le=MAX_KRW, description="what the trainee paid, whole KRW")
    receipt_number: str = EvidenceNumber
    admission_slip_number: str = EvidenceNumber


class ClaimOut(BaseModel):
    id: uuid.UUID
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    qualification_code: str
    stage: str
    exam_date: date
    amount_paid: int
    standard_fee: int
    amount: int = Field(description="reimbursed: the lesser of amount_paid and standard_fee")
    receipt_number: str
    admission_slip_number: str
    status: Literal["submitted", "approved", "rejected", "paid"]
    reasons: list[Reason] = []
    submitted_at: datetime
    decided_at: datetime | None = None
    payout_reference: str | None = None


class RejectIn(InputModel):
    model_config = _example(reasons=[{"code": "evidence.unreadable", "message": "the receipt scan is unreadable"}])
    reasons: list[RejectReason] = Field(min_length=1, max_length=20)


class RejectReason(InputModel):
    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_.\-]+$")
    message: str = Field(min_length=1, max_length=500)


RejectIn.model_rebuild()


class PayoutOut(BaseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    batch_id: uuid.UUID
    reference: str
    trainee_id: uuid.UUID
    campus: str
    amount: int
    paid_at: datetime


class BatchPayIn(InputModel):
    model_config = _example(campus="jungbu", claim_ids=None)
    campus: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    claim_ids: list[uuid.UUID] | None = Field(
        None, max_length=20_000, description="None: every approved claim of the campus"
    )


class PayoutBatchOut(BaseModel):
    id: uuid.UUID
    campus: str
    payout_count: int
    total_amount: int
    created_at: datetime
    payouts: list[PayoutOut] = []
    warnings: list[BatchWarning] = Field(
        default=[], description="e.g. payees without a payout account: their bank-file cells are empty"
    )


class ResultIn(InputModel):
    model_config = _example(
        trainee_id="6f1c1c1e-3d1a-4c55-9b7e-2f0f4c7e9a10", qualification_code="WELD-CRAFTSMAN", date="2027-04-02"
    )
    trainee_id: uuid.UUID
    qualification_code: str = QualCode
    date: Day


class ResultOut(BaseModel):
    id: uuid.UUID
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID | None
    campus: str
    qualification_code: str
    grade: str
    obtained_on: date


# -- payout accounts --------------------------------------------------------------------
class AccountIn(InputModel):
    model_config = _example(holder="김지우", bank="004", account_number="123456-01-234567")
    holder: str = Field(min_length=1, max_length=100, description="the account holder's name")
    bank: str = Field(
        min_length=1, max_length=40, description="the bank's 3-digit code (004) or name (KB국민은행, 국민)"
    )
    account_number: str = Field(
        min_length=1, max_length=40, description="10 to 16 digits; hyphens and spaces are dropped"
    )


class AccountOut(BaseModel):
    """An account as every response shows it: the number masked (``****4567``)."""

    trainee_id: uuid.UUID
    campus: str
    holder: str
    bank_code: str
    bank_name: str
    account_number: str = Field(description="masked: the last four digits only", examples=["****4567"])
    updated_by: str
    updated_at: datetime


class RotationOut(BaseModel):
    rotated: int = Field(description="accounts re-encrypted under the newest key by this call")
    remaining: int = Field(description="accounts still under an older key")
    key_id: str = Field(description="the id (a digest, not the key) of the newest key")


class BatchWarning(BaseModel):
    rule: str
    message: str
    trainee_ids: list[uuid.UUID]


PayoutBatchOut.model_rebuild()
