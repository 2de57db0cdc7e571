"""Request and response bodies of the placement API, with OpenAPI examples."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.placement.domain.followups import CHANNELS, CONTACT_RESULTS
from services.placement.domain.internships import POSTING_STATUSES, STATUSES
from services.placement.domain.outcomes import CATEGORIES, EMPLOYMENT_TYPES
from shared.inputs import Day, Flag, InputModel, Moment

Category = Literal[CATEGORIES]  # type: ignore[valid-type]
EmploymentType = Literal[EMPLOYMENT_TYPES]  # type: ignore[valid-type]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
ContactResult = Literal[CONTACT_RESULTS]  # type: ignore[valid-type]
FollowupStatus = Literal["upcoming", "due", "overdue", "done"]
InternshipStatus = Literal[STATUSES]  # type: ignore[valid-type]
PostingStatus = Literal[POSTING_STATUSES]  # type: ignore[valid-type]
Code = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")


def _example(**example: object) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


# -- graduates and follow-ups ---------------------------------------------------
class FollowupOut(BaseModel):
    id: uuid.UUID
    graduate_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    name: str
    officer: str | None
    months: int
    due_date: date
    overdue_after: date
    status: FollowupStatus
    done_at: datetime | None


class GraduateOut(BaseModel):
    id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    name: str
    completion_date: date
    final_rate: float | None
    early_employment: bool
    officer: str | None
    qualification_codes: list[str]
    first_qualification: date | None


class QualificationOut(BaseModel):
    qualification_code: str
    grade: str
    obtained_on: date


class OfficerIn(InputModel):
    model_config = _example(officer="officer-kim")
    officer: str | None = Field(
        min_length=1, max_length=200, description="the officer's staff id (token sub); null unassigns"
    )


class ContactIn(InputModel):
    model_config = _example(
        attempted_at="2025-03-03T10:15:00+09:00", channel="phone", result="no_answer", note="try again after 18:00"
    )
    # Not after today: the use case checks it with the service's clock (a 422 naming the field, date.future).
    attempted_at: Moment | None = Field(None, description="when; default now")
    channel: Channel
    result: ContactResult
    note: str = Field("", max_length=500, description="no resident registration numbers or contact details")


class ContactOut(BaseModel):
    id: uuid.UUID
    followup_id: uuid.UUID
    graduate_id: uuid.UUID
    attempted_at: datetime
    channel: str
    result: str
    note: str
    officer: str


# -- outcomes -----------------------------------------------------------------
class EmploymentIn(InputModel):
    model_config = _example(
        employer_name="Hanbit Robotics",
        start_date="2025-03-04",
        employment_type="regular",
        insured=True,
        monthly_wage=2_600_000,
    )
    employer_id: uuid.UUID | None = Field(None, description="an employer of the pool, when it is one")
    employer_name: str | None = Field(None, min_length=1, max_length=200)
    start_date: Day | None = None
    employment_type: EmploymentType | None = None
    insured: Flag | None = Field(None, description="enrolled in employment insurance")
    monthly_wage: int | None = Field(None, description="KRW per month")


class OutcomeIn(InputModel):
    model_config = _example(
        graduate_id="6f1c2b9e-3d7a-4c1e-9a53-2b8d4f0e7a11",
        category="employed",
        as_of="2025-03-31",
        employment={
            "employer_name": "Hanbit Robotics",
            "start_date": "2025-03-04",
            "employment_type": "regular",
            "insured": True,
            "monthly_wage": 2_600_000,
        },
    )
    graduate_id: uuid.UUID = Field(description="the trainee id of the graduate")
    category: Category
    # Day, not PastDay: the demo and the end-to-end journeys close a cohort today and record the outcome a
    # month on, so "not after today" would stop them (see the report of this change).
    as_of: Day
    employment: EmploymentIn | None = None
    note: str = Field("", max_length=500)


class OutcomeOut(BaseModel):
    id: uuid.UUID
    graduate_id: uuid.UUID
    campus: str
    category: str
    as_of: date
    months_after_completion: int
    employer_id: uuid.UUID | None
    employer_name: str | None
    start_date: date | None
    employment_type: str | None
    insured: bool | None
    monthly_wage: int | None
    source: str
    note: str
    recorded_by: str
    recorded_at: datetime
    closed_followups: list[int] = []


class GraduateDetail(GraduateOut):
    followups: list[FollowupOut]
    outcomes: list[OutcomeOut]
    qualifications: list[QualificationOut]


# -- employers, postings, internships -------------------------------------------
class EmployerIn(InputModel):
    model_config = _example(
        campus="womanup",
        name="Hanbit Robotics",
        business_number="123-45-67890",
        industry="robotics",
        joined_on="2024-03-01",
    )
    campus: str = Code
    name: str = Field(min_length=1, max_length=200)
    business_number: str | None = Field(None, pattern=r"^\d{3}-?\d{2}-?\d{5}$", description="사업자등록번호")
    industry: str = Field("", max_length=100)
    joined_on: Day | None = None  # not after today: the use case checks it with the service's clock


class EmployerOut(BaseModel):
    id: uuid.UUID
    campus: str
    name: str
    business_number: str | None
    industry: str
    joined_on: date | None
    active: bool


class PostingIn(InputModel):
    model_config = _example(
        employer_id="0b5d9a1e-6c0f-4f2b-8a8e-51b7d2f3c4a9",
        role="Junior data analyst",
        conditions="Mon-Fri 09:00-18:00, Seongsu",
        weekly_hours=40,
        openings=2,
        required_qualifications=["BIGDATA-ENG"],
    )
    employer_id: uuid.UUID
    role: str = Field(min_length=1, max_length=200)
    conditions: str = Field("", max_length=2000)
    weekly_hours: int = Field(40, ge=1, le=84)
    openings: int = Field(1, ge=1, le=1000)
    required_qualifications: list[str] = Field(default_factory=list, max_length=20)


class PostingOut(BaseModel):
    employer_id: uuid.UUID
    role: str
    conditions: str
    weekly_hours: int
    openings: int
    required_qualifications: list[str]
    id: uuid.UUID
    campus: str
    status: PostingStatus
    monthly_pay: int = Field(description="at the living wage for the weekly hours")
    closed_at: datetime | None = None
    close_reason: str = ""


class PostingCloseIn(InputModel):
    model_config = _example(reason="both openings filled")
    reason: str = Field("", max_length=500, description="why the posting closes (no personal data)")


class MatchOut(BaseModel):
    graduate_id: uuid.UUID
    name: str
    cohort_id: uuid.UUID
    programme_code: str
    completion_date: date
    latest_outcome: str | None
    matching_qualifications: list[str]
    score: int


class InternshipIn(InputModel):
    model_config = _example(
        posting_id="3b7d2c1a-9e8f-4a6b-8c5d-1e2f3a4b5c6d",
        graduate_id="6f1c2b9e-3d7a-4c1e-9a53-2b8d4f0e7a11",
        start_date="2025-04-01",
        weekly_hours=40,
    )
    posting_id: uuid.UUID
    graduate_id: uuid.UUID
    start_date: Day
    weekly_hours: int | None = Field(None, description="default: the posting's")


class InternshipOut(BaseModel):
    id: uuid.UUID
    posting_id: uuid.UUID
    employer_id: uuid.UUID
    graduate_id: uuid.UUID
    campus: str
    start_date: date
    end_date: date
    weekly_hours: int
    hourly_krw: int
    monthly_pay: int
    total_pay: int = Field(description="the whole internship's pay; for one ended early, the pay of the days worked")
    status: InternshipStatus
    hire_date: date | None
    ended_on: date | None = Field(None, description="the last day worked, when the internship ended early")
    end_reason: str = ""
    incentive: IncentiveOut | None = None


class InternshipEndIn(InputModel):
    model_config = _example(date="2025-05-20", reason="the intern moved to another city")
    date: Day = Field(description="the last day worked (not after today, before the planned end)")
    reason: str = Field(min_length=1, max_length=500, description="why it ends early (no personal data)")


class ConvertIn(InputModel):
    model_config = _example(hire_date="2025-07-01", monthly_wage=2_700_000, insured=True)
    hire_date: Day
    monthly_wage: int | None = Field(None, ge=0, le=1_000_000_000, description="KRW per month in the permanent job")
    insured: Flag = True


class IncentiveOut(BaseModel):
    id: uuid.UUID
    internship_id: uuid.UUID
    employer_id: uuid.UUID
    graduate_id: uuid.UUID
    campus: str
    amount: int
    due_on: date


# -- reports --------------------------------------------------------------------
class RatioOut(BaseModel):
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator / denominator, null when the denominator is 0")
    percent: int | None = Field(description="whole percent, half up")


class MedianOut(BaseModel):
    value: int | None = Field(description="KRW")
    count: int = Field(description="how many values the median is over")


class IndicatorRow(BaseModel):
    group: str | None = Field(description="campus, programme code or cohort id; null for the total")
    completers: int
    employment_rate: RatioOut
    employment_rate_6m: RatioOut
    employment_rate_12m: RatioOut
    median_monthly_wage: MedianOut
    certificate_attainment: RatioOut
    wioa_employment_q2: RatioOut
    wioa_employment_q4: RatioOut
    wioa_median_earnings_q2: MedianOut


class ReportOut(BaseModel):
    as_of: date
    group_by: str | None
    filters: dict[str, str | None]
    rows: list[IndicatorRow]
    total: IndicatorRow
    definitions: dict[str, str]


InternshipOut.model_rebuild()


class TargetIn(InputModel):
    model_config = _example(employment_rate=0.75)
    employment_rate: float = Field(
        gt=0,
        le=1,
        description="the employment rate the programme aims at, 0-1 "
        "(0.75 = 75%); drawn as the target line of the employment dashboard",
    )


class TargetOut(TargetIn):
    programme_code: str
    set_by: str
    set_at: datetime
