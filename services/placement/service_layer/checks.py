"""Input checks that need the centre's today, done by the use case with the clock it is given.

They answer as the schema's validators did: a 422 ``validation-error`` problem naming the body field, with
the rule ``date.future``, so moving the check out of the schema changed nothing a client sees.
"""

from __future__ import annotations

from datetime import date, datetime

from shared.clock import Clock
from shared.problems import Problem
from shared.rules import RuleFailure


def _future(field: str, today: date) -> Problem:
    failure = RuleFailure("date.future", f"this is something that already happened: not after today ({today})", field)
    return Problem(422, "validation-error", "The request is not valid", f"Invalid: {field}.", errors=[failure])


def day_not_after_today(value: date | None, clock: Clock, field: str) -> None:
    """Refuse a date of something that already happened when it is after the centre's today."""
    today = clock.today()
    if value is not None and value > today:
        raise _future(field, today)


def moment_not_after_today(value: datetime | None, clock: Clock, field: str) -> None:
    """Refuse a timestamp whose date, in the centre's time zone, is after the centre's today."""
    if value is None:
        return
    local = value.astimezone(clock.zone) if value.tzinfo else value
    today = clock.today()
    if local.date() > today:
        raise _future(field, today)
