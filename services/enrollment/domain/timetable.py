"""A cohort's timetable turned into dated sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class Session:
    date: date
    start: time
    end: time
    hours: float


def session_hours(start: time, end: time, break_minutes: int = 0) -> float:
    minutes = (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds // 60 - break_minutes
    return round(max(minutes, 0) / 60, 2)


def expand(
    start_date: date,
    end_date: date,
    weekdays: list[int],
    start: time,
    end: time,
    break_minutes: int = 0,
    holidays: frozenset[date] = frozenset(),
) -> list[Session]:
    """Every ``weekdays`` date (Monday=0) from start to end, holidays left out."""
    hours = session_hours(start, end, break_minutes)
    days = (end_date - start_date).days + 1
    return [
        Session(d, start, end, hours)
        for d in (start_date + timedelta(n) for n in range(days))
        if d.weekday() in weekdays and d not in holidays
    ]
