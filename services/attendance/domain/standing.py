"""A trainee's standing: rate, maximum possible rate, at risk, completion, monthly allowance.

Rules (DOMAIN.md, attendance):
- rate = attended days / scheduled training days; excused counts as attended;
- a trainee who joins after the start is scheduled from the join date: the sessions before
  it are not theirs, for the rate, the maximum possible rate, at risk, the monthly
  allowance and completion alike (``joined_on`` below);
- every three lates / early leaves / outs count as one absence (the third, sixth, ...
  such day is the one that is no longer attended);
- completion: final rate >= the programme's threshold (80% by default), decided at the end;
- at risk: the rate so far is below the threshold, or even attending every remaining
  session could not reach it (maximum possible rate);
- monthly unit periods: a month below 80% pays nothing; otherwise 5,800 KRW per attended
  day of 5+ hours (cap 116,000) plus 2,500 KRW per attended day under 5 hours (cap 50,000).

Rates are exact fractions here; callers round for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from services.attendance.domain.marks import ABSENT, ATTENDED, MINOR


@dataclass(frozen=True)
class StandingPolicy:
    """How absences are counted and the completion threshold a cohort without its own uses."""

    minor_per_absence: int = 3
    completion_threshold: float = 0.8


DEFAULT_STANDING_POLICY = StandingPolicy()


@dataclass(frozen=True)
class Day:
    """One scheduled training day; ``mark`` is None while the session has not been held."""

    date: date
    hours: float
    mark: str | None


@dataclass(frozen=True)
class Counts:
    scheduled: int
    held: int
    marked_absent: int
    minor: int
    converted_absences: int
    attended: int
    remaining: int

    @property
    def absences(self) -> int:
        return self.marked_absent + self.converted_absences


def scheduled_from(days: list[Day], joined_on: date | None) -> list[Day]:
    """The days scheduled for a trainee who joined on ``joined_on``: those on or after it (all when None)."""
    if joined_on is None:
        return days
    return [d for d in days if d.date >= joined_on]


def before_joining(day: date, joined_on: date | None) -> bool:
    """A session on ``day`` was held before the trainee joined: it is not theirs to attend or be marked for."""
    return joined_on is not None and day < joined_on


def attended_flags(days: list[Day], minor_per_absence: int = 3) -> list[bool | None]:
    """Per day: attended (True), not (False) or not held yet (None), after the three-to-one conversion."""
    flags: list[bool | None] = []
    minor_seen = 0
    for day in sorted(days, key=lambda d: d.date):
        if day.mark is None:
            flags.append(None)
        elif day.mark in MINOR:
            minor_seen += 1
            flags.append(minor_seen % minor_per_absence != 0)
        else:
            flags.append(day.mark in ATTENDED)
    return flags


def counts(days: list[Day], minor_per_absence: int = 3, *, joined_on: date | None = None) -> Counts:
    """The trainee's tallies over their scheduled days (from ``joined_on`` when given)."""
    days = scheduled_from(days, joined_on)
    held = [d for d in days if d.mark is not None]
    minor = sum(1 for d in held if d.mark in MINOR)
    marked_absent = sum(1 for d in held if d.mark == ABSENT)
    converted = minor // minor_per_absence
    return Counts(
        scheduled=len(days),
        held=len(held),
        marked_absent=marked_absent,
        minor=minor,
        converted_absences=converted,
        attended=len(held) - marked_absent - converted,
        remaining=len(days) - len(held),
    )


def current_rate(c: Counts) -> Fraction:
    """Attended over the sessions held so far (1 before any session was held)."""
    return Fraction(c.attended, c.held) if c.held else Fraction(1)


def max_possible_rate(c: Counts) -> Fraction:
    """The rate reached if the trainee attends every remaining session."""
    return Fraction(c.attended + c.remaining, c.scheduled) if c.scheduled else Fraction(1)


def final_rate(c: Counts) -> Fraction:
    """Attended over every scheduled training day (sessions never held count as not attended)."""
    return Fraction(c.attended, c.scheduled) if c.scheduled else Fraction(0)


def threshold_fraction(threshold: float) -> Fraction:
    return Fraction(str(threshold))


def at_risk_reason(c: Counts, threshold: float) -> str | None:
    """'cannot_reach_threshold', 'below_threshold' or None when the trainee is not at risk."""
    t = threshold_fraction(threshold)
    if max_possible_rate(c) < t:
        return "cannot_reach_threshold"
    if current_rate(c) < t:
        return "below_threshold"
    return None


def should_warn(was_at_risk: bool, now_at_risk: bool) -> bool:
    """Warn once per crossing: only when the trainee goes from not at risk to at risk."""
    return now_at_risk and not was_at_risk


def completed(c: Counts, threshold: float) -> bool:
    return final_rate(c) >= threshold_fraction(threshold)


def completion_outcome(c: Counts, threshold: float, *, withdrawn: bool) -> tuple[str, str | None]:
    """('completed', None) or ('not_completed', reason): the one completion rule, at the close or after it."""
    if withdrawn:
        return "not_completed", "withdrawn"
    if completed(c, threshold):
        return "completed", None
    return "not_completed", "below_threshold"


@dataclass(frozen=True)
class AllowancePolicy:
    month_threshold: float = 0.8
    full_day_hours: float = 5.0
    full_day_krw: int = 5_800
    full_day_cap_krw: int = 116_000
    short_day_krw: int = 2_500
    short_day_cap_krw: int = 50_000


DEFAULT_ALLOWANCE_POLICY = AllowancePolicy()


@dataclass(frozen=True)
class MonthPeriod:
    month: str  # YYYY-MM
    scheduled_days: int
    held_days: int
    attended_days: int
    full_days_attended: int
    short_days_attended: int
    rate: Fraction | None
    complete: bool
    allowance_krw: int


def allowance(full_days: int, short_days: int, rate: Fraction | None, policy: AllowancePolicy) -> int:
    if rate is None or rate < threshold_fraction(policy.month_threshold):
        return 0
    return min(full_days * policy.full_day_krw, policy.full_day_cap_krw) + min(
        short_days * policy.short_day_krw, policy.short_day_cap_krw
    )


def monthly_periods(
    days: list[Day],
    policy: AllowancePolicy = AllowancePolicy(),
    minor_per_absence: int = 3,
    *,
    joined_on: date | None = None,
) -> list[MonthPeriod]:
    """One unit period per calendar month; the conversion is counted within each month.

    A month still in progress is rated over its sessions held so far (``complete`` False). The month a
    trainee joined in is rated over its sessions from ``joined_on``; months before it have no period.
    """
    months: dict[str, list[Day]] = {}
    for d in sorted(scheduled_from(days, joined_on), key=lambda d: d.date):
        months.setdefault(f"{d.date.year:04d}-{d.date.month:02d}", []).append(d)
    out = []
    for month, mdays in months.items():
        flags = attended_flags(mdays, minor_per_absence)
        held = sum(1 for f in flags if f is not None)
        attended = [d for d, f in zip(mdays, flags) if f]
        full = sum(1 for d in attended if d.hours >= policy.full_day_hours)
        short = len(attended) - full
        rate = Fraction(len(attended), held) if held else None
        out.append(
            MonthPeriod(
                month=month,
                scheduled_days=len(mdays),
                held_days=held,
                attended_days=len(attended),
                full_days_attended=full,
                short_days_attended=short,
                rate=rate,
                complete=held == len(mdays),
                allowance_krw=allowance(full, short, rate, policy),
            )
        )
    return out
