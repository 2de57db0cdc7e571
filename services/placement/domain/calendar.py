"""Calendar arithmetic the placement rules share: months after a date, calendar quarters."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_after(day: date, n: int) -> tuple[date, date]:
    """First and last day of the ``n``-th calendar quarter after the quarter containing ``day``."""
    year, q = quarter_of(day)
    index = year * 4 + (q - 1) + n
    year, q0 = divmod(index, 4)
    start = date(year, q0 * 3 + 1, 1)
    end = add_months(start, 3) - timedelta(days=1)
    return start, end
