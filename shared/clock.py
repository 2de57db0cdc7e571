"""One clock for the platform: 'now' and 'today' in the centre's timezone.

Every rule that says "today" (a claim's deadline, a follow-up's due date, a session that has not
started yet) reads it from the ``Clock`` the app or the consumer was given, never from
``date.today()`` or a process-wide ``TZ``. Stored timestamps stay in UTC (``shared.db.utcnow``);
only calendar dates and wall-clock times follow the centre's zone. Tests pass a ``FixedClock``.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request


class Clock:
    def __init__(self, zone: str = "Asia/Seoul") -> None:
        self.zone = ZoneInfo(zone)

    def now(self) -> datetime:
        """The current instant, aware, in the centre's zone."""
        return datetime.now(self.zone)

    def today(self) -> date:
        """The centre's calendar date now."""
        return self.now().date()

    def local(self, at: datetime) -> datetime:
        """``at`` (aware; naive is taken as UTC) as the centre's wall-clock time, naive."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        return at.astimezone(self.zone).replace(tzinfo=None)

    def local_now(self) -> datetime:
        """The centre's wall-clock time now, naive (how session times are stored)."""
        return self.now().replace(tzinfo=None)


class FixedClock(Clock):
    """A clock that stands still until moved: for tests and for replaying a day."""

    def __init__(self, at: datetime, zone: str = "Asia/Seoul") -> None:
        super().__init__(zone)
        self._at = at if at.tzinfo else at.replace(tzinfo=self.zone)

    def now(self) -> datetime:
        return self._at.astimezone(self.zone)

    def advance(self, by: timedelta) -> None:
        self._at = self._at + by

    def set(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=self.zone)



async def _request_clock(request: Request) -> Clock:
    return request.app.state.clock


ClockDep = Annotated[Clock, Depends(_request_clock)]
"""The app's clock in an endpoint (``app.state.clock``, made from the ``TIMEZONE`` setting)."""
