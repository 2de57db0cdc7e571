"""Until when a seat can be taken: never after the cohort has ended, and only so long after its start.

A trainee who joins after the start is measured from the join date (attendance), but a
cohort half over leaves too little training for a newcomer, and a seat accepted after the
end could never be attended. Accepting is refused once the cohort has ended
(``seat.cohort-ended``) or once more than ``late_join_max_days`` days have passed since its
start (``seat.join-too-late``; staff may record the earlier day a trainee actually joined,
which is then what counts). Selection offers no seat once the cohort has ended, and the
waitlist promotes nobody once a newcomer could no longer join.

The default of 14 days is a policy choice: two weeks after the start cover the usual
late places (a waitlisted applicant promoted when someone selected does not turn up in
the first week or two) while leaving most of a typical cohort of three to six months ahead
of the newcomer; a deployment sets its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from shared.rules import RuleFailure

LATE_JOIN_MAX_DAYS = 14


@dataclass(frozen=True)
class JoiningPolicy:
    late_join_max_days: int = LATE_JOIN_MAX_DAYS  # days after the start on which a seat can still be taken


def last_joining_day(start_date: date, end_date: date, policy: JoiningPolicy) -> date:
    """The last day on which a seat of the cohort can be taken."""
    return min(start_date + timedelta(days=policy.late_join_max_days), end_date)


def cohort_ended(end_date: date, today: date) -> list[RuleFailure]:
    """A cohort whose end has passed has no seat to offer or take."""
    if today > end_date:
        return [RuleFailure("seat.cohort-ended", f"the cohort ended on {end_date}; its seats can no longer be taken")]
    return []


def joining_failures(
    start_date: date, end_date: date, today: date, policy: JoiningPolicy, *, joined_on: date | None = None
) -> list[RuleFailure]:
    """Why a seat of the cohort cannot be taken ``today`` by someone joining on ``joined_on`` (today when None;
    staff may record an earlier day on which the trainee actually joined). Empty when it can."""
    if ended := cohort_ended(end_date, today):
        return ended
    last = last_joining_day(start_date, end_date, policy)
    if (joined_on or today) > last:
        return [
            RuleFailure(
                "seat.join-too-late",
                f"the cohort started on {start_date}; seats can be taken up to "
                f"{policy.late_join_max_days} days after the start (until {last})",
            )
        ]
    return []
