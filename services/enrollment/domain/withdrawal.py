"""Withdrawals: the date a trainee leaves.

A withdrawal falls within the enrollment (not before the trainee enrolled, not after the cohort's end), and it
is recorded on or after the day it happens, never ahead: every service acts on ``trainee.withdrawn`` as it
arrives (attendance stops counting the trainee, certification closes the exam-fee window, placement may record
an early employment), so a withdrawal dated ahead would take effect at once, weeks early.
"""

from __future__ import annotations

from datetime import date

from shared.rules import RuleFailure


def date_failures(day: date, *, today: date, enrolled_on: date, cohort_end: date) -> list[RuleFailure]:
    """Every rule the withdrawal date breaks (none: the withdrawal may be recorded)."""
    failures = []
    if day > today:
        failures.append(
            RuleFailure(
                "withdrawal.date-in-future",
                f"a withdrawal is recorded on or after the day it happens (today is {today})",
                "date",
            )
        )
    if day > cohort_end:
        failures.append(RuleFailure("withdrawal.after-end", f"the cohort ended on {cohort_end}", "date"))
    if day < enrolled_on:
        failures.append(RuleFailure("withdrawal.before-enrollment", f"the trainee enrolled on {enrolled_on}", "date"))
    return failures
