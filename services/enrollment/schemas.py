"""Request and response bodies of the enrollment API, with OpenAPI examples."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, computed_field, model_validator

from services.enrollment.domain.eligibility import DEFAULT_MIN_AGE, PRIORITY_CATEGORIES, RESIDENCY_STATUSES
from services.enrollment.domain.policy import DEFAULT_COMPLETION_THRESHOLD
from shared.inputs import Day, Flag, InputModel, PastDay, WallClock

Track = Literal[
    "mid_career_special",
    "company_partnered",
    "specialist_technical",
    "national_qualification",
    "ai_hightech",
    "work_experience_bridge",
    "career_break_women",
    "other",
]
Residency = Literal[RESIDENCY_STATUSES]  # type: ignore[valid-type]
Priority = Literal[PRIORITY_CATEGORIES]  # type: ignore[valid-type]
Gender = Literal["female", "male", "other"]
BIRTH_DATE_RULE = "birth_date must be a past date after 1900"
TRAINEE_ID = (
    "the person's id in the other services (attendance, certification, placement and their events call it "
    "trainee_id): the same value as the applicant's id here"
)
APPLICANT = "9b2f4c7e-1d3a-4e5b-8c6d-7e8f9a0b1c2d"
Code = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")


def _example(**example: object) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class CampusIn(InputModel):
    model_config = _example(code="jungbu", name="Jungbu Campus", city="Seoul")
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    city: str = Field("", max_length=100)


class CampusOut(BaseModel):
    code: str
    name: str
    city: str


class ProgrammeIn(InputModel):
    model_config = _example(
        code="JB-WELD-2026",
        title="Special Welding",
        campus="jungbu",
        track="national_qualification",
        total_hours=960,
        completion_threshold=0.8,
        qualification_codes=["WELD-CRAFTSMAN"],
        min_age=15,
    )
    code: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = Field(min_length=1, max_length=300)
    campus: str = Code
    track: Track
    total_hours: int = Field(ge=1, le=5000)
    completion_threshold: float = Field(DEFAULT_COMPLETION_THRESHOLD, ge=0.5, le=1.0)
    qualification_codes: list[str] = Field(default_factory=list, max_length=20)
    min_age: int = Field(DEFAULT_MIN_AGE, ge=0, le=100)
    max_age: int | None = Field(None, ge=0, le=120)
    allowed_residency: list[Residency] | None = Field(
        None, description="default: city resident, foreign permanent resident, marriage immigrant or their child"
    )
    career_break_women_only: Flag = False

    @model_validator(mode="after")
    def _ages(self) -> ProgrammeIn:
        if self.max_age is not None and self.max_age < self.min_age:
            raise ValueError("max_age must not be below min_age")
        return self


class ProgrammeOut(BaseModel):
    id: uuid.UUID
    code: str
    title: str
    campus: str
    track: str
    total_hours: int
    completion_threshold: float
    qualification_codes: list[str]
    min_age: int
    max_age: int | None
    allowed_residency: list[str]
    career_break_women_only: bool


class Timetable(InputModel):
    model_config = _example(weekdays=[0, 1, 2, 3, 4], start="09:00", end="18:00", break_minutes=60, holidays=[])
    weekdays: list[int] = Field(
        default=[0, 1, 2, 3, 4], min_length=1, max_length=7, description="0 = Monday ... 6 = Sunday"
    )
    start: WallClock = time(9, 0)
    end: WallClock = time(18, 0)
    break_minutes: int = Field(60, ge=0, le=600)
    holidays: list[Day] = Field(default_factory=list, max_length=400)

    @model_validator(mode="after")
    def _check(self) -> Timetable:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are the campus's wall-clock times, without a UTC offset")
        if any(d < 0 or d > 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        if self.end <= self.start:
            raise ValueError("a session must end after it starts")
        return self


class CohortIn(InputModel):
    model_config = _example(
        programme_id="6f1c1c1e-3d1a-4c55-9b7e-2f0f4c7e9a10",
        label="2026-2",
        capacity=20,
        application_opens="2026-12-01",
        application_closes="2026-12-20",
        start_date="2027-01-04",
        end_date="2027-06-30",
        timetable={"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00", "break_minutes": 60},
    )
    programme_id: uuid.UUID
    label: str = Field(min_length=1, max_length=100)
    capacity: int = Field(ge=1, le=1000)
    application_opens: Day
    application_closes: Day
    start_date: Day
    end_date: Day
    timetable: Timetable = Field(default_factory=Timetable)

    @model_validator(mode="after")
    def _dates(self) -> CohortIn:
        if self.application_closes < self.application_opens:
            raise ValueError("application_closes is before application_opens")
        if self.start_date < self.application_opens:
            raise ValueError("start_date is before application_opens")
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if (self.end_date - self.start_date).days > 3 * 366:
            raise ValueError("a cohort runs three years at the most")
        return self


class SessionOut(BaseModel):
    date: date
    start: WallClock
    end: WallClock
    hours: float


class CohortOut(BaseModel):
    id: uuid.UUID
    programme_id: uuid.UUID
    programme_code: str
    campus: str
    label: str
    capacity: int
    application_opens: date
    application_closes: date
    start_date: date
    end_date: date
    selection_done: bool
    session_count: int
    plan_version: int = Field(1, description="1 when published, one more on each timetable change")


SELECTED = "offered a seat and not answered yet: within capacity plus above capacity"
WITHIN_CAPACITY = "offered a seat of the cohort's capacity, not answered yet"
ABOVE_CAPACITY = "offered a seat on top of capacity (leaving care, 15-34), not answered yet"


class CohortStats(BaseModel):
    model_config = _example(
        cohort_id="9a3d2b1c-7e4f-4a6b-8c9d-0e1f2a3b4c5d",
        capacity=20,
        applications=37,
        eligible=35,
        ineligible=2,
        competition_ratio=1.85,
        priority_quota=6,
        selected=21,
        selected_within_capacity=20,
        selected_above_capacity=1,
        priority_selected=6,
        above_capacity=1,
        waitlisted=14,
        accepted=0,
        declined=0,
        withdrawn=0,
        seats_taken=20,
        seats_free=0,
    )
    cohort_id: uuid.UUID
    capacity: int
    applications: int
    eligible: int
    ineligible: int
    competition_ratio: float = Field(description="applications / capacity")
    priority_quota: int
    selected_within_capacity: int = Field(description=WITHIN_CAPACITY)
    selected_above_capacity: int = Field(description=ABOVE_CAPACITY)

    @computed_field(description=SELECTED)  # type: ignore[prop-decorator]
    @property
    def selected(self) -> int:
        return self.selected_within_capacity + self.selected_above_capacity

    priority_selected: int = Field(
        description="priority applicants holding a seat of the capacity (offered or accepted)"
    )
    above_capacity: int = Field(description="applicants admitted above capacity (offered or accepted)")
    waitlisted: int
    accepted: int
    declined: int
    withdrawn: int
    seats_taken: int
    seats_free: int


class ApplicantIn(InputModel):
    model_config = _example(
        campus="jungbu",
        name="Kim Minji",
        birth_date="1994-05-17",
        gender="female",
        residency_status="city_resident",
        career_break=True,
        priority_categories=["single_parent"],
        leaving_care=False,
        email="minji@example.org",
        phone="010-0000-0000",
        name_romanised="Kim Minji",
    )
    campus: str = Code
    name: str = Field(min_length=1, max_length=200)
    name_romanised: str | None = Field(
        None, max_length=200, description="the name in Latin letters (as on a passport), family name first or last"
    )
    birth_date: PastDay
    gender: Gender | None = None
    residency_status: Residency
    career_break: Flag = False
    priority_categories: list[Priority] = Field(default_factory=list, max_length=6)
    leaving_care: Flag = False
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40, pattern=r"^[0-9+\-() ]{4,40}$")

    @model_validator(mode="after")
    def _birth(self) -> ApplicantIn:
        # Not today nor later: the use case checks it against the centre's clock (``applicants.born_before``).
        if self.birth_date.year < 1900:
            raise ValueError(BIRTH_DATE_RULE)
        return self


class ApplicantOut(BaseModel):
    model_config = _example(
        id=APPLICANT,
        trainee_id=APPLICANT,
        campus="jungbu",
        name="Kim Minji",
        birth_date="1994-05-17",
        gender="female",
        residency_status="city_resident",
        career_break=True,
        priority_categories=["single_parent"],
        leaving_care=False,
        email="minji@example.org",
        phone="010-0000-0000",
    )
    id: uuid.UUID = Field(description="the applicant's id")
    campus: str
    name: str
    birth_date: date
    gender: str | None
    residency_status: str
    career_break: bool
    priority_categories: list[str]
    leaving_care: bool
    email: str | None
    phone: str | None
    name_romanised: str | None = None
    merged_into: uuid.UUID | None = Field(
        None,
        description="set when this record was merged into another: the surviving record, which stands for the person",
    )

    @computed_field(description=TRAINEE_ID)  # type: ignore[prop-decorator]
    @property
    def trainee_id(self) -> uuid.UUID:
        return self.id


class DuplicateOut(BaseModel):
    """A record that looks like the same person, and why."""

    model_config = _example(
        applicant_id="0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11",
        campus="jungbu",
        name="김민지",
        name_romanised="Kim Minji",
        birth_date="1994-05-17",
        reasons=["birth_date+name", "phone"],
        score=1.0,
    )
    applicant_id: uuid.UUID
    campus: str
    name: str
    name_romanised: str | None
    birth_date: date
    reasons: list[Literal["birth_date+name", "email", "phone", "name", "birth_date"]] = Field(
        description="birth_date+name: same birth date and name (Hangul, or romanised either way round); email, "
        "phone: the same after normalisation; name, birth_date: one of the two also matches"
    )
    score: float = Field(ge=0, le=1, description="the reasons' weights added up (at most 1)")


class ApplicantCreated(ApplicantOut):
    possible_duplicates: list[DuplicateOut] = Field(
        default_factory=list, description="records on your campuses that look like the same person; nothing is refused"
    )


class MergeIn(InputModel):
    model_config = _example(duplicate_id="0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11", reason="same person, phone confirmed")
    duplicate_id: uuid.UUID = Field(description="the record merged into this one (it is kept, pointing here)")
    reason: str = Field(min_length=1, max_length=500)


class MergeOut(BaseModel):
    survivor_id: uuid.UUID
    duplicate_id: uuid.UUID
    reason: str
    merged_by: str
    merged_at: datetime
    person: list[uuid.UUID] = Field(description="every record of the person: the survivor first, then those merged")


class ApplicationIn(InputModel):
    model_config = _example(
        applicant_id="0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11",
        cohort_id="9a3d2b1c-7e4f-4a6b-8c9d-0e1f2a3b4c5d",
        score=82.5,
    )
    applicant_id: uuid.UUID
    cohort_id: uuid.UUID
    score: float = Field(0, ge=0, le=100, description="document and interview score")


class ScoreIn(InputModel):
    score: float = Field(ge=0, le=100)


class Reason(BaseModel):
    rule: str
    message: str
    field: str | None = None


class ApplicationOut(BaseModel):
    model_config = _example(
        id="5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        applicant_id=APPLICANT,
        trainee_id=APPLICANT,
        cohort_id="9a3d2b1c-7e4f-4a6b-8c9d-0e1f2a3b4c5d",
        campus="jungbu",
        score=82.5,
        applied_at="2026-12-03T10:15:00Z",
        status="selected",
        priority=True,
        above_capacity=False,
        waitlist_position=None,
        reasons=[{"rule": "selection.priority-quota", "message": "selected under the priority quota", "field": None}],
        enrollment_id=None,
    )
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
    reasons: list[Reason]
    enrollment_id: uuid.UUID | None = None

    @computed_field(description=TRAINEE_ID)  # type: ignore[prop-decorator]
    @property
    def trainee_id(self) -> uuid.UUID:
        return self.applicant_id


class RejectIn(InputModel):
    reason: str = Field(min_length=1, max_length=500)


class SelectionOut(BaseModel):
    """What selection decided, counted as ``/stats`` counts it right after: the same names, the same figures."""

    model_config = _example(
        cohort_id="9a3d2b1c-7e4f-4a6b-8c9d-0e1f2a3b4c5d",
        capacity=20,
        priority_quota=6,
        selected=21,
        selected_within_capacity=20,
        selected_above_capacity=1,
        priority_selected=6,
        above_capacity=1,
        waitlisted=14,
    )
    cohort_id: uuid.UUID
    capacity: int
    priority_quota: int
    selected_within_capacity: int = Field(description=WITHIN_CAPACITY)
    selected_above_capacity: int = Field(description=ABOVE_CAPACITY)

    @computed_field(description=SELECTED)  # type: ignore[prop-decorator]
    @property
    def selected(self) -> int:
        return self.selected_within_capacity + self.selected_above_capacity

    priority_selected: int = Field(description="priority applicants given a seat of the capacity")
    above_capacity: int = Field(description="applicants admitted above capacity (here: selected_above_capacity)")
    waitlisted: int


class AcceptIn(InputModel):
    model_config = _example(joined_on="2027-03-02")
    joined_on: PastDay | None = Field(
        None,
        description="the day the trainee joined, when the seat is recorded after the fact (today when left out); "
        "attendance measures the trainee from this day",
    )


class WithdrawIn(InputModel):
    model_config = _example(date="2027-02-15", reason="early_employment")
    date: Day
    reason: Literal["early_employment", "personal", "health", "dropout", "moved", "other"]


class EnrollmentOut(BaseModel):
    model_config = _example(
        id="3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b",
        application_id="5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        trainee_id=APPLICANT,
        cohort_id="9a3d2b1c-7e4f-4a6b-8c9d-0e1f2a3b4c5d",
        campus="jungbu",
        status="enrolled",
        enrolled_on="2026-12-10",
        withdrawn_on=None,
        withdraw_reason=None,
        outcome_date=None,
        final_rate=None,
    )
    id: uuid.UUID
    application_id: uuid.UUID
    trainee_id: uuid.UUID = Field(description=TRAINEE_ID)
    cohort_id: uuid.UUID
    campus: str
    status: str
    enrolled_on: date
    withdrawn_on: date | None
    withdraw_reason: str | None
    outcome_date: date | None
    final_rate: float | None


class ImportRow(BaseModel):
    row: int
    status: Literal["imported", "refused"]
    application_id: uuid.UUID | None = None
    applicant_id: uuid.UUID | None = None
    application_status: str | None = None
    errors: list[Reason] = []
    possible_duplicates: list[DuplicateOut] = []

    @computed_field(description=TRAINEE_ID)  # type: ignore[prop-decorator]
    @property
    def trainee_id(self) -> uuid.UUID | None:
        return self.applicant_id


class ImportReport(BaseModel):
    cohort_id: uuid.UUID
    rows: int
    imported: int
    refused: int
    report: list[ImportRow]


class TimetableChangeIn(InputModel):
    """One change to a published timetable; ``reason`` is required and kept with the change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "cancel", "session_date": "2027-03-01", "reason": "Independence Movement Day"},
                {"kind": "add", "date": "2027-03-06", "start": "09:00", "end": "18:00", "reason": "make-up day"},
                {
                    "kind": "move",
                    "session_date": "2027-04-14",
                    "date": "2027-04-16",
                    "start": "13:00",
                    "end": "18:00",
                    "reason": "workshop closed for inspection",
                },
                {"kind": "extend", "end_date": "2027-07-09", "reason": "two weeks of cancelled sessions made up"},
            ]
        }
    )
    kind: Literal["cancel", "add", "move", "extend"]
    session_date: Day | None = Field(None, description="cancel, move: the date of the session changed")
    session_start: WallClock | None = Field(
        None, description="cancel, move: its start time (needed only when the day has more than one session)"
    )
    date: Day | None = Field(None, description="add: the new session's date; move: its new date (default: same)")
    start: WallClock | None = Field(None, description="add: start time; move: new start (default: same)")
    end: WallClock | None = Field(None, description="add: end time; move: new end (default: same)")
    end_date: Day | None = Field(None, description="extend: the cohort's new end date")
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> TimetableChangeIn:
        if any(t is not None and t.tzinfo is not None for t in (self.session_start, self.start, self.end)):
            raise ValueError("times are the campus's wall-clock times, without a UTC offset")
        if self.kind in ("cancel", "move") and self.session_date is None:
            raise ValueError(f"session_date is required to {self.kind} a session")
        if self.kind == "add" and (self.date is None or self.start is None or self.end is None):
            raise ValueError("date, start and end are required to add a session")
        if self.kind == "move" and self.date is None and self.start is None and self.end is None:
            raise ValueError("a move needs a new date, start or end")
        if self.kind == "extend" and self.end_date is None:
            raise ValueError("end_date is required to extend the cohort")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("a session must end after it starts")
        return self


class PlannedSession(BaseModel):
    date: date
    start: WallClock
    end: WallClock
    hours: float


class TimetableChangeOut(BaseModel):
    id: uuid.UUID
    cohort_id: uuid.UUID
    plan_version: int = Field(description="the cohort's plan version this change made")
    kind: str
    session: PlannedSession | None = Field(None, description="the session cancelled, or where a moved one was")
    new_session: PlannedSession | None = Field(None, description="the session added, or where a moved one went")
    old_end_date: date | None = None
    new_end_date: date | None = None
    reason: str
    changed_by: str
    changed_at: datetime
