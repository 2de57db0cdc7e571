"""Follow-up outcomes, which one counts on a date, and the employment rate.

Categories (DOMAIN.md): employed, self-employed / start-up, further education,
military service, not seeking work, seeking work, unreachable. Outcomes are dated
(``as_of``); what counts on a date is the latest outcome dated on or before it (ties
broken by the order they were recorded).

Employment rate (취업률) = (employed + self-employed) / (completers − further education
− military service − not seeking). A completer with no outcome yet, or one seeking
work or unreachable, stays in the denominator. Seoul 2017: 1,323 / 2,006 → 66%.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from shared.rules import RuleFailure

# The order is the stored code: never reorder, only append.
CATEGORIES = (
    "employed",
    "self_employed",
    "further_education",
    "military_service",
    "not_seeking",
    "seeking_work",
    "unreachable",
)
EMPLOYED = frozenset({"employed", "self_employed"})
NOT_TARGETS = frozenset({"further_education", "military_service", "not_seeking"})
EMPLOYMENT_TYPES = ("regular", "contract", "intern")
MAX_MONTHLY_WAGE = 1_000_000_000


@dataclass(frozen=True)
class Outcome:
    category: str
    as_of: date
    seq: int = 0  # order of recording for the same graduate
    monthly_wage: int | None = None


@dataclass(frozen=True)
class Employment:
    employer_name: str | None
    start_date: date | None
    employment_type: str | None
    insured: bool | None
    monthly_wage: int | None


def check_outcome(
    category: str, as_of: date, completion_date: date, employment: Employment | None
) -> list[RuleFailure]:
    """Every reason an outcome cannot be recorded, named."""
    failures: list[RuleFailure] = []
    if category not in CATEGORIES:
        failures.append(RuleFailure("outcome.category", f"unknown category {category!r}", "category"))
    if as_of < completion_date:
        failures.append(
            RuleFailure("outcome.before-completion", "an outcome cannot be dated before the completion date", "as_of")
        )
    if employment is not None:
        if employment.monthly_wage is not None and employment.monthly_wage < 0:
            failures.append(
                RuleFailure("outcome.wage-negative", "the monthly wage cannot be below zero", "employment.monthly_wage")
            )
        if employment.monthly_wage is not None and employment.monthly_wage > MAX_MONTHLY_WAGE:
            failures.append(
                RuleFailure(
                    "outcome.wage-implausible", "the monthly wage is above 1,000,000,000 KRW", "employment.monthly_wage"
                )
            )
        if employment.employment_type is not None and employment.employment_type not in EMPLOYMENT_TYPES:
            failures.append(
                RuleFailure(
                    "outcome.employment-type", "type is regular, contract or intern", "employment.employment_type"
                )
            )
        if employment.start_date is not None and employment.start_date > as_of:
            failures.append(
                RuleFailure(
                    "outcome.start-after-as-of",
                    "the job cannot start after the date the outcome is recorded as of",
                    "employment.start_date",
                )
            )
        if category not in EMPLOYED:
            failures.append(
                RuleFailure(
                    "outcome.employment-details",
                    "employment details belong to the employed or self-employed categories",
                    "employment",
                )
            )
    elif category == "employed":
        failures.append(
            RuleFailure(
                "outcome.employment-required",
                "an employed outcome needs employer, start date, type, insurance and wage",
                "employment",
            )
        )
    return failures


def latest_as_of(outcomes: list[Outcome], on: date) -> Outcome | None:
    best = None
    for o in outcomes:
        if o.as_of <= on and (best is None or (o.as_of, o.seq) > (best.as_of, best.seq)):
            best = o
    return best


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator

    @property
    def percent(self) -> int | None:
        """Whole percent, half up (0.6595… → 66)."""
        if self.denominator == 0:
            return None
        exact = Fraction(self.numerator * 100, self.denominator)
        return int((Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal(1), ROUND_HALF_UP))


def employment_rate(categories: list[str | None]) -> Ratio:
    """One latest category per completer (None: no outcome yet)."""
    employed = sum(1 for c in categories if c in EMPLOYED)
    excluded = sum(1 for c in categories if c in NOT_TARGETS)
    return Ratio(employed, len(categories) - excluded)


def median(values: list[int]) -> int | None:
    """The median in whole KRW (the mean of the two middle values, half up, for an even count)."""
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    if n % 2:
        return s[n // 2]
    total = s[n // 2 - 1] + s[n // 2]
    return total // 2 + (total % 2)
