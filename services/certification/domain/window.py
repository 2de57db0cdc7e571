"""A trainee's claim window, built from enrollment's and attendance's events.

A trainee may claim the fee of an exam sat while enrolled (from the cohort start) or
within 12 months (setting) of completion. A withdrawn or dropped-out (not completed)
trainee loses the right for exams after the withdrawal / dropout date; an exam on that
day is still inside. While the trainee is enrolled and no outcome is known, the window
reaches 12 months past the cohort's end date (the latest completion there can be), and
moves with it when the cohort is extended; open at its end while that date is unknown.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass, field
from datetime import date

from shared.rules import RuleFailure

WINDOW_MONTHS_AFTER_COMPLETION = 12
STATUSES = ("enrolled", "completed", "not_completed", "withdrawn")


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it has no such day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ClaimWindow:
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    qualification_codes: frozenset[str] = field(default_factory=frozenset)
    start_date: date | None = None  # cohort start; None until trainee.enrolled has arrived
    status: str = "enrolled"
    completion_date: date | None = None
    closed_on: date | None = None  # withdrawal or dropout date
    end_date: date | None = None  # cohort end, as its latest plan has it; None until known

    def last_day(self, months_after_completion: int = WINDOW_MONTHS_AFTER_COMPLETION) -> date | None:
        """The last exam date the window admits; None while it is open."""
        if self.status == "completed" and self.completion_date is not None:
            return add_months(self.completion_date, months_after_completion)
        if self.status in ("withdrawn", "not_completed") and self.closed_on is not None:
            return self.closed_on
        if self.status == "enrolled" and self.end_date is not None:
            return add_months(self.end_date, months_after_completion)
        return None


def window_failures(
    window: ClaimWindow, exam_date: date, months_after_completion: int = WINDOW_MONTHS_AFTER_COMPLETION
) -> list[RuleFailure]:
    """Why ``exam_date`` is outside ``window`` (empty when inside)."""
    if window.start_date is not None and exam_date < window.start_date:
        return [
            RuleFailure(
                "claim.window.before-enrollment",
                f"the exam on {exam_date} was before the cohort started on {window.start_date}",
                "exam_date",
            )
        ]
    last = window.last_day(months_after_completion)
    if last is None or exam_date <= last:
        return []
    if window.status == "completed":
        return [
            RuleFailure(
                "claim.window.after-completion",
                f"the exam on {exam_date} is more than {months_after_completion} months after "
                f"completion on {window.completion_date} (last day {last})",
                "exam_date",
            )
        ]
    if window.status == "enrolled":
        return [
            RuleFailure(
                "claim.window.after-end",
                f"the exam on {exam_date} is more than {months_after_completion} months after the cohort's "
                f"end on {window.end_date} (last day {last})",
                "exam_date",
            )
        ]
    if window.status == "withdrawn":
        return [
            RuleFailure(
                "claim.window.after-withdrawal",
                f"the exam on {exam_date} is after the withdrawal on {window.closed_on}",
                "exam_date",
            )
        ]
    return [
        RuleFailure(
            "claim.window.after-dropout",
            f"the exam on {exam_date} is after the trainee stopped without completing on {window.closed_on}",
            "exam_date",
        )
    ]
