"""One clock for the platform: 'now' and 'today' in the centre's timezone.

Every rule that says "today" (a claim's deadline, a follow-up's due date, a session that has not
started yet) is to read it from the ``Clock`` it is given (``app.state.clock`` for the API,
``HandlerContext.clock`` for event handlers), not from ``date.today()`` or a process-wide ``TZ``.
Stored timestamps stay in UTC (``shared.db.utcnow``). Nothing relies on the process's ``TZ``.

Request bodies are checked before any use case runs, so the input types' sanity bounds (a date not in
the future, at most ten years ahead: ``shared.inputs``) read the platform clock, which each service
sets to the same clock it injects (``use_platform_clock``).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, zone: str = "Asia/Seoul") -> None:
        self.zone = ZoneInfo(zone)

    def now(self) -> datetime:
        """The current instant, aware, in the centre's zone."""
        return datetime.now(self.zone)

    def today(self) -> date:
        """The centre's calendar date now."""
        return self.now().date()


_platform = Clock()


def platform_clock() -> Clock:
    """The clock the service set for this process (the centre's default zone until it does)."""
    return _platform


def use_platform_clock(clock: Clock) -> None:
    global _platform
    _platform = clock
