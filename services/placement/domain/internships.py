"""Internships (Woman-Up): pay at the city living wage, and the conversion incentive, once.

Full-time month = 209 paid hours (40 h a week plus the paid weekly rest day):
11,436 KRW × 209 = 2,390,124 KRW. Part-time pay is pro rata of the weekly hours,
rounded down to the won. A 3-month internship pays three such months. When the
employer converts the intern to a permanent hire, 3,000,000 KRW is due to the
employer, once per internship.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.placement.domain.calendar import add_months
from services.placement.domain.outcomes import EMPLOYED
from shared.rules import RuleFailure

STATUSES = ("active", "completed", "converted", "cancelled")
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
    if hire_date < start:
        return [
            RuleFailure("internship.hire-before-start", "the permanent hire cannot predate the internship", "hire_date")
        ]
    return []
