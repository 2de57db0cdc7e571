"""Internships (Woman-Up): pay at the city living wage, and the conversion incentive, once.

Full-time month = 209 paid hours (40 h a week plus the paid weekly rest day):
11,436 KRW × 209 = 2,390,124 KRW. Part-time pay is pro rata of the weekly hours,
rounded down to the won. A 3-month internship pays three such months. When the
employer converts the intern to a permanent hire, 3,000,000 KRW is due to the
employer, once per internship.

An internship may end early (the intern leaves, or the placement is stopped): the months worked in full are
paid in full, and the last, partial month is paid pro rata for the calendar days worked out of the calendar
days of that internship month, rounded down to the won. The monthly wage already pays the weekly rest days,
so a calendar-day share is how a monthly wage is prorated. Internship months run from the start date
(a 4 March start has months 4 March-3 April, 4 April-3 May, ...). An internship ended early is not converted
and no incentive falls due for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.placement.domain.calendar import add_months
from services.placement.domain.outcomes import EMPLOYED
from shared.rules import RuleFailure

STATUSES = ("active", "completed", "converted", "cancelled", "ended_early")
POSTING_STATUSES = ("open", "closed")
# Latest outcomes that make a graduate no candidate for an internship.
NOT_CANDIDATES = EMPLOYED | {"further_education", "military_service"}


@dataclass(frozen=True)
class PayPolicy:
    hourly_krw: int = 11_436
    full_time_monthly_hours: int = 209
    full_time_weekly_hours: int = 40
    months: int = 3


@dataclass(frozen=True)
class IncentivePolicy:
    """What the employer is due, once, when an intern is hired permanently."""

    amount_krw: int = 3_000_000


def monthly_pay(policy: PayPolicy, weekly_hours: int | None = None) -> int:
    weekly = policy.full_time_weekly_hours if weekly_hours is None else weekly_hours
    return policy.hourly_krw * policy.full_time_monthly_hours * weekly // policy.full_time_weekly_hours


def total_pay(policy: PayPolicy, weekly_hours: int | None = None) -> int:
    return monthly_pay(policy, weekly_hours) * policy.months


def end_date(start: date, policy: PayPolicy) -> date:
    return add_months(start, policy.months) - timedelta(days=1)


def term_months(start: date, planned_end: date) -> int:
    """The internship's own term in months, read off its planned dates (``end_date`` set them when it started):
    a later change of the term setting does not reach internships already running."""
    months = 0
    while add_months(start, months + 1) - timedelta(days=1) <= planned_end:
        months += 1
    return months


def pay_until(start: date, last_day: date, monthly: int, months: int) -> int:
    """What an internship of ``months`` months at ``monthly`` KRW, starting on ``start`` and ending on ``last_day``
    (inclusive), pays: the internship months worked in full, in full; the partial last month pro rata for its
    calendar days worked out of its calendar days, rounded down to the won."""
    if last_day < start:
        return 0
    full = 0
    while full < months and add_months(start, full + 1) - timedelta(days=1) <= last_day:
        full += 1
    if full == months:
        return monthly * months
    month_start = add_months(start, full)
    month_days = (add_months(start, full + 1) - month_start).days
    worked = (last_day - month_start).days + 1
    return monthly * full + monthly * worked // month_days


def check_early_end(status: str, start: date, planned_end: date, last_day: date) -> list[RuleFailure]:
    """An active internship may end on a day from its start up to the day before its planned end."""
    if status != "active":
        return [
            RuleFailure(
                "internship.not-active",
                f"only an active internship can end early; this one is {status.replace('_', ' ')}",
            )
        ]
    if last_day < start:
        return [RuleFailure("internship.end-before-start", "the last day cannot precede the start", "date")]
    if last_day >= planned_end:
        return [
            RuleFailure(
                "internship.end-not-early",
                f"the internship ends on {planned_end.isoformat()} anyway; an early end is before that day",
                "date",
            )
        ]
    return []


def check_start(weekly_hours: int, policy: PayPolicy) -> list[RuleFailure]:
    if not 1 <= weekly_hours <= policy.full_time_weekly_hours:
        return [
            RuleFailure(
                "internship.weekly-hours",
                f"weekly hours must be between 1 and {policy.full_time_weekly_hours}",
                "weekly_hours",
            )
        ]
    return []


def check_conversion(status: str, incentive_already_due: bool, start: date, hire_date: date) -> list[RuleFailure]:
    if status == "converted" or incentive_already_due:
        return [
            RuleFailure(
                "incentive.once-per-internship", "this internship was already converted; its incentive is due only once"
            )
        ]
    if status == "cancelled":
        return [RuleFailure("internship.cancelled", "a cancelled internship cannot be converted")]
    if status == "ended_early":
        return [
            RuleFailure(
                "internship.ended-early",
                "an internship ended early cannot be converted, and no incentive is due for it",
            )
        ]
    if hire_date < start:
        return [
            RuleFailure("internship.hire-before-start", "the permanent hire cannot predate the internship", "hire_date")
        ]
    return []
