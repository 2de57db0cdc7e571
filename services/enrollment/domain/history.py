"""A person's admission history: the re-admission limit and overlapping enrollments.

For short courses (350 hours or fewer) a person may be re-admitted at most twice
within three years: with three participations in short courses that started in the
three years before the new start, a fourth is refused. Withdrawals before the start
do not count. Nobody is enrolled in two cohorts whose dates overlap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from shared.rules import RuleFailure

SHORT_COURSE_MAX_HOURS = 350
MAX_READMISSIONS = 2
WINDOW_YEARS = 3
COUNTED_STATUSES = frozenset({"enrolled", "completed", "not_completed", "withdrawn"})
ACTIVE_STATUSES = frozenset({"enrolled"})


@dataclass(frozen=True)
class ReadmissionPolicy:
    short_course_max_hours: int = SHORT_COURSE_MAX_HOURS
    max_readmissions: int = MAX_READMISSIONS
    window_years: int = WINDOW_YEARS


@dataclass(frozen=True)
class Participation:
    cohort_id: uuid.UUID
    start_date: date
    end_date: date
    total_hours: int
    status: str  # enrolled, completed, not_completed, withdrawn
    withdrawn_before_start: bool = False


@dataclass(frozen=True)
class CohortTerms:
    cohort_id: uuid.UUID
    start_date: date
    end_date: date
    total_hours: int


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def counted_short_participations(history: list[Participation], new: CohortTerms, policy: ReadmissionPolicy) -> int:
    since = years_before(new.start_date, policy.window_years)
    return sum(
        1
        for p in history
        if p.cohort_id != new.cohort_id
        and p.status in COUNTED_STATUSES
        and not p.withdrawn_before_start
        and p.total_hours <= policy.short_course_max_hours
        and since <= p.start_date < new.start_date
    )


def check_history(
    history: list[Participation], new: CohortTerms, policy: ReadmissionPolicy = ReadmissionPolicy()
) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    if new.total_hours <= policy.short_course_max_hours:
        prior = counted_short_participations(history, new, policy)
        if prior > policy.max_readmissions:
            failures.append(
                RuleFailure(
                    "readmission.limit",
                    f"{prior} short-course participations in the {policy.window_years} years before {new.start_date}; "
                    f"a short course ({policy.short_course_max_hours} h or fewer) allows at most "
                    f"{policy.max_readmissions} re-admissions",
                )
            )
    if any(p.cohort_id == new.cohort_id and p.status in ACTIVE_STATUSES for p in history):
        # only a person with several records (merged) can get here: one record applies to a cohort once
        failures.append(
            RuleFailure(
                "enrollment.already-seated",
                "this person already holds a seat in this cohort under another of their records",
            )
        )
    for p in history:
        if (
            p.cohort_id != new.cohort_id
            and p.status in ACTIVE_STATUSES
            and p.start_date <= new.end_date
            and new.start_date <= p.end_date
        ):
            failures.append(
                RuleFailure(
                    "enrollment.overlap",
                    f"already enrolled in a cohort running {p.start_date} to {p.end_date}, which overlaps",
                )
            )
            break
    return failures
