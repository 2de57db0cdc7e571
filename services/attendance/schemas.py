"""Request and response bodies of the attendance API, with OpenAPI examples."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.attendance.domain.excuses import REASON_CODES
from shared.inputs import InputModel, Moment, WallClock, check_text

MarkName = Literal["present", "late", "early_leave", "out", "absent", "excused"]
PunchKind = Literal["in", "out"]
Method = Literal["qr", "card", "staff"]
ReasonCode = Literal[tuple(REASON_CODES)]  # type: ignore[valid-type]


def _example(**example: object) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class CohortOut(BaseModel):
    id: uuid.UUID
    campus: str
    programme_code: str
    programme_title: str
    completion_threshold: float
    qualification_codes: list[str]
    start_date: date
    end_date: date
    session_count: int
    roster_size: int
    closed_on: date | None


class SessionOut(BaseModel):
    id: uuid.UUID
    cohort_id: uuid.UUID
    date: date
    start: WallClock
    end: WallClock
    hours: float


class CheckInIn(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "trainee_id": "0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11",
                    "kind": "in",
                    "method": "card",
                    "at": "2027-03-02T09:04:00+09:00",
                },
                {
                    "trainee_id": "0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11",
                    "kind": "in",
                    "method": "qr",
                    "code": "40718263",
                },
            ]
        }
    )
    trainee_id: uuid.UUID
    kind: PunchKind = Field("in", description="'in' on arrival or return, 'out' on leaving")
    method: Method = "qr"
    at: Moment | None = Field(None, description="when it happened (staff only; a trainee's check-in is now)")
    code: str | None = Field(
        None,
        max_length=32,
        description="the session's rotating check-in code (GET "
        "sessions/{id}/qr-code), required of a trainee checking in itself; accepted in its own "
        "30-second window and the next; refused as check-in.code-expired, "
        "check-in.code-foreign-session, check-in.code-malformed or check-in.code-required",
    )


class TraineeMarkRow(BaseModel):
    """One session of a trainee's cohorts with the trainee's mark (null: nothing recorded yet)."""

    session_id: uuid.UUID
    cohort_id: uuid.UUID
    programme_title: str
    date: date
    start: WallClock
    end: WallClock
    hours: float
    mark: MarkName | None
    check_in_at: datetime | None
    check_out_at: datetime | None


class QrCodeOut(BaseModel):
    model_config = _example(
        session_id="5d0f3c1e-7a0b-4c2e-9f31-8b7d6a5e4c30",
        code="40718263",
        window_s=30,
        issued_at="2027-03-02T09:00:00+09:00",
        refresh_at="2027-03-02T09:00:30+09:00",
        valid_until="2027-03-02T09:01:00+09:00",
    )
    session_id: uuid.UUID
    code: str = Field(description="eight digits; show it (as a QR code or as text) on the classroom's screen")
    window_s: int = Field(description="the code changes this often")
    issued_at: datetime = Field(description="the start of this code's window")
    refresh_at: datetime = Field(description="when the next code is shown: fetch again then")
    valid_until: datetime = Field(description="check-ins with this code are refused from then (code-expired)")


class BulkReading(BaseModel):
    """One reading of a bulk request: the fields of a check-in, validated at the cost a batch of thousands
    can bear. Only ``code`` is free text, and it gets ``check_text`` of its own; the others are a UUID, a
    choice of words and a timestamp, so ``InputModel``'s walk over every field of every item is left out."""

    trainee_id: uuid.UUID
    kind: PunchKind = Field("in", description="'in' on arrival or return, 'out' on leaving")
    method: Method = "qr"
    at: Moment | None = Field(None, description="when it happened (now if left out)")
    code: Annotated[str, Field(max_length=32), AfterValidator(check_text)] | None = Field(
        None, description="not used in a bulk request (a kiosk's readings are staff entries)"
    )


class BulkCheckInIn(InputModel):
    model_config = _example(
        items=[
            {
                "trainee_id": "0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11",
                "kind": "in",
                "method": "card",
                "at": "2027-03-02T08:58:00+09:00",
            }
        ]
    )
    items: list[BulkReading] = Field(min_length=1, max_length=50_000)


class PunchOut(BaseModel):
    kind: str
    at: datetime
    method: str


class MarkOut(BaseModel):
    session_id: uuid.UUID
    cohort_id: uuid.UUID
    trainee_id: uuid.UUID
    date: date
    mark: MarkName | None = Field(description="null while the session is on and nothing is recorded")
    source: str
    check_in_at: datetime | None = None
    check_out_at: datetime | None = None
    punches: list[PunchOut] = []
    reason_code: str | None = None
    evidence_ref: str | None = None


class BulkRow(BaseModel):
    index: int
    trainee_id: uuid.UUID
    status: Literal["accepted", "duplicate", "refused"]
    mark: str | None = None
    rule: str | None = None
    message: str | None = None


class BulkReport(BaseModel):
    session_id: uuid.UUID
    received: int
    accepted: int
    duplicates: int
    refused: int
    rows: list[BulkRow]


class MarkIn(InputModel):
    model_config = _example(
        mark="excused",
        reason="reserve-forces training, notice attached",
        reason_code="reserve_forces",
        evidence_ref="MND-2027-0042",
    )
    mark: MarkName
    reason: str = Field(min_length=1, max_length=500, description="why the mark is set or changed")
    reason_code: str | None = Field(None, max_length=40, description=f"for excused: one of {', '.join(REASON_CODES)}")
    evidence_ref: str | None = Field(None, max_length=200, description="for excused: the evidence document reference")


class MarkChangeOut(BaseModel):
    previous_mark: str | None
    new_mark: str
    reason: str
    reason_code: str | None
    evidence_ref: str | None
    changed_by: str
    changed_at: datetime


class MarkDetail(MarkOut):
    history: list[MarkChangeOut] = []


class MonthOut(BaseModel):
    month: str
    scheduled_days: int
    held_days: int
    attended_days: int
    full_days_attended: int
    short_days_attended: int
    rate: float | None
    complete: bool
    allowance_krw: int


class StandingOut(BaseModel):
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    status: str
    scheduled_days: int
    held_days: int
    attended_days: int
    absences: int = Field(description="marked absences plus those converted from lates / early leaves / outs")
    marked_absences: int
    lates_early_leaves_outs: int
    converted_absences: int
    remaining_days: int
    current_rate: float
    max_possible_rate: float
    threshold: float
    at_risk: bool
    at_risk_reason: str | None
    outcome: str | None = None
    final_rate: float | None = None
    decided_at: datetime | None = Field(None, description="when the completion was decided")
    late_decision: bool = Field(
        False, description="decided after the cohort had closed: the enrollment reached the roster late"
    )
    months: list[MonthOut]


class RosterRow(BaseModel):
    trainee_id: uuid.UUID
    name: str
    status: str
    enrolled_on: date
    withdrawn_on: date | None
    at_risk: bool
    current_rate: float | None
    max_possible_rate: float | None
    outcome: str | None = Field(None, description="completed or not_completed once decided")
    decided_at: datetime | None = None
    late_decision: bool = Field(
        False, description="decided after the cohort had closed: the enrollment reached the roster late"
    )


class SessionRosterRow(BaseModel):
    trainee_id: uuid.UUID
    name: str
    status: str
    mark: str | None
    check_in_at: datetime | None
    check_out_at: datetime | None


class SessionRoster(BaseModel):
    session: SessionOut
    rows: list[SessionRosterRow]


class SheetRow(BaseModel):
    trainee_id: uuid.UUID
    name: str
    marks: dict[str, str | None] = Field(description="date -> mark")
    attended_days: int
    rate: float | None
    allowance_krw: int


class Sheet(BaseModel):
    cohort_id: uuid.UUID
    month: str
    dates: list[date]
    rows: list[SheetRow]


class AtRiskRow(BaseModel):
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    name: str
    reason: str | None
    current_rate: float | None
    max_possible_rate: float | None


class CloseOut(BaseModel):
    cohort_id: uuid.UUID
    closed_on: date
    completed: int
    not_completed: int
    already_decided: int
