"""The follow-up schedule: every completer is contacted 1, 3, 6 and 12 months after completion.

A follow-up enters the officer's worklist ``lead_days`` before its due date (status
``due``) and becomes ``overdue`` when still open ``grace_days`` after it. Recording an
outcome closes every open follow-up whose window has opened by the outcome's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from services.placement.domain.calendar import add_months

FOLLOWUP_MONTHS = (1, 3, 6, 12)
Status = Literal["upcoming", "due", "overdue", "done"]

CHANNELS = ("phone", "sms", "email", "kakao", "visit", "employer", "other")
CONTACT_RESULTS = ("reached", "no_answer", "left_message", "wrong_number", "refused", "other")


@dataclass(frozen=True)
class FollowupPolicy:
    months: tuple[int, ...] = FOLLOWUP_MONTHS
    lead_days: int = 7
    grace_days: int = 14


@dataclass(frozen=True)
class PlannedFollowup:
    months: int
    due_date: date
    window_opens: date
    overdue_after: date


def schedule(completion_date: date, policy: FollowupPolicy = FollowupPolicy()) -> list[PlannedFollowup]:
    out = []
    for m in sorted(set(policy.months)):
        due = add_months(completion_date, m)
        out.append(
            PlannedFollowup(m, due, due - timedelta(days=policy.lead_days), due + timedelta(days=policy.grace_days))
        )
    return out


def status(*, done: bool, window_opens: date, overdue_after: date, on: date) -> Status:
    if done:
        return "done"
    if on > overdue_after:
        return "overdue"
    if on >= window_opens:
        return "due"
    return "upcoming"


def closes(window_opens: date, outcome_as_of: date) -> bool:
    """Does an outcome dated ``outcome_as_of`` answer a follow-up whose window opens on ``window_opens``?"""
    return window_opens <= outcome_as_of
