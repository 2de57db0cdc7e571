"""Timetables are local wall-clock times (no zone); the injected ``Clock`` says what now is and in which zone."""

from __future__ import annotations

from datetime import datetime

from shared.clock import Clock


def wall_now(clock: Clock) -> datetime:
    """Now in the centre's local time, without tzinfo (sessions are local wall-clock times)."""
    return clock.now().replace(tzinfo=None)


def to_wall(at: datetime, clock: Clock) -> datetime:
    if at.tzinfo is None:
        return at  # already local wall-clock time
    return at.astimezone(clock.zone).replace(tzinfo=None)


def aware(value: datetime | None, clock: Clock) -> datetime | None:
    """Local wall-clock times are stored and shown with the centre's zone."""
    if value is None:
        return None
    return value.replace(tzinfo=clock.zone) if value.tzinfo is None else value.astimezone(clock.zone)
