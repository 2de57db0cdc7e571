"""Who may apply: the default policy of DOMAIN.md, narrowed per programme.

Default: aged 15 or more on the start date; a city resident, a registered foreign
permanent resident, or a marriage immigrant or their child. A programme may narrow it
(an age band, women with a career break). Every failed rule is returned, none dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.rules import RuleFailure

RESIDENCY_STATUSES = (
    "city_resident",
    "foreign_permanent_resident",
    "marriage_immigrant",
    "marriage_immigrant_child",
    "non_resident",
)
DEFAULT_RESIDENCY = frozenset(RESIDENCY_STATUSES) - {"non_resident"}
PRIORITY_CATEGORIES = (
    "basic_livelihood",
    "near_poverty",
    "national_merit",
    "single_parent",
    "welfare_facility_resident",
    "disabled",
)
DEFAULT_MIN_AGE = 15


@dataclass(frozen=True)
class EligibilityPolicy:
    min_age: int = DEFAULT_MIN_AGE
    max_age: int | None = None
    allowed_residency: frozenset[str] = DEFAULT_RESIDENCY
    career_break_women_only: bool = False


@dataclass(frozen=True)
class ApplicantFacts:
    birth_date: date
    residency_status: str
    gender: str | None = None
    career_break: bool = False
    priority_categories: frozenset[str] = field(default_factory=frozenset)
    leaving_care: bool = False


def age_on(birth_date: date, day: date) -> int:
    """Full years of age on ``day`` (a 29 February birthday counts from 1 March in other years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_eligibility(policy: EligibilityPolicy, applicant: ApplicantFacts, start_date: date) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    age = age_on(applicant.birth_date, start_date)
    if age < policy.min_age:
        failures.append(
            RuleFailure(
                "eligibility.min-age",
                f"aged {age} on the start date {start_date}; the minimum is {policy.min_age}",
                "birth_date",
            )
        )
    if policy.max_age is not None and age > policy.max_age:
        failures.append(
            RuleFailure(
                "eligibility.max-age",
                f"aged {age} on the start date {start_date}; the maximum is {policy.max_age}",
                "birth_date",
            )
        )
    if applicant.residency_status not in policy.allowed_residency:
        allowed = ", ".join(sorted(policy.allowed_residency))
        failures.append(
            RuleFailure(
                "eligibility.residency",
                f"residency '{applicant.residency_status}' is not admitted; admitted: {allowed}",
                "residency_status",
            )
        )
    if policy.career_break_women_only and not (applicant.gender == "female" and applicant.career_break):
        failures.append(
            RuleFailure(
                "eligibility.career-break-women", "this programme is for women with a career break", "career_break"
            )
        )
    return failures


def is_priority(applicant: ApplicantFacts) -> bool:
    """In one of the socially-considerate groups that the priority quota serves."""
    return bool(applicant.priority_categories & set(PRIORITY_CATEGORIES))


LEAVING_CARE_AGES = (15, 34)


def admitted_above_capacity(applicant: ApplicantFacts, start_date: date) -> bool:
    """Young people leaving care, aged 15-34 on the start date, are admitted on top of capacity."""
    low, high = LEAVING_CARE_AGES
    return applicant.leaving_care and low <= age_on(applicant.birth_date, start_date) <= high
