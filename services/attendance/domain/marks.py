"""One session's mark, decided from the check-in and check-out times.

DOMAIN.md: arriving up to 10 minutes after the start is on time, later is late; leaving
more than 10 minutes before the end is early leave; an out and a return is an out;
missing half or more of the session's hours is an absence; nothing recorded by the end
of the session is an absence. Excused marks are set by staff only.

Staff set a mark on a session once it has started; only an excuse (출석인정, with its reason code and
evidence) may be entered ahead, as a reserve-forces notice arrives before the training day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.rules import RuleFailure

PRESENT, LATE, EARLY_LEAVE, OUT, ABSENT, EXCUSED = "present", "late", "early_leave", "out", "absent", "excused"
MARKS = (PRESENT, LATE, EARLY_LEAVE, OUT, ABSENT, EXCUSED)
MINOR = frozenset({LATE, EARLY_LEAVE, OUT})
ATTENDED = frozenset({PRESENT, LATE, EARLY_LEAVE, OUT, EXCUSED})

IN, OUT_PUNCH = "in", "out"


@dataclass(frozen=True)
class MarkPolicy:
    grace_minutes: int = 10
    early_leave_minutes: int = 10
    absence_fraction: float = 0.5


DEFAULT_MARK_POLICY = MarkPolicy()


@dataclass(frozen=True)
class CheckInPolicy:
    """When readings are taken: from ``opens_minutes`` before the start to ``closes_minutes`` after the end;
    and how many one bulk request may carry."""

    opens_minutes: int = 30
    closes_minutes: int = 30
    bulk_max_readings: int = 5_000


DEFAULT_CHECK_IN_POLICY = CheckInPolicy()


@dataclass(frozen=True)
class CheckInWindow:
    """When a session's readings are taken, in local wall-clock time (worked out once for a batch of them)."""

    opens: datetime
    closes: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime, policy: CheckInPolicy) -> CheckInWindow:
        return cls(start - timedelta(minutes=policy.opens_minutes), end + timedelta(minutes=policy.closes_minutes))

    def failure(self, at: datetime) -> RuleFailure | None:
        """None when a reading at ``at`` (local wall-clock time) falls in the window."""
        if not self.opens <= at <= self.closes:
            return RuleFailure(
                "check-in.outside-window",
                f"check-ins for this session are taken from {self.opens:%Y-%m-%d %H:%M} to {self.closes:%H:%M} "
                "local time",
                "at",
            )
        return None


def window_failure(at: datetime, start: datetime, end: datetime, policy: CheckInPolicy) -> RuleFailure | None:
    """None when a reading at ``at`` (local wall-clock time) falls in the session's check-in window."""
    return CheckInWindow.of(start, end, policy).failure(at)


def not_started_failure(mark: str, start: datetime, now: datetime) -> RuleFailure | None:
    """None when a staff mark may be set now: the session has started (``now`` and ``start`` are local
    wall-clock times), or the mark is an excuse planned in advance."""
    if mark != EXCUSED and now < start:
        return RuleFailure(
            "mark.session-not-started",
            f"the session starts at {start:%Y-%m-%d %H:%M} local time; until then only an excuse can be entered",
            "mark",
        )
    return None


@dataclass(frozen=True)
class Punch:
    """One reading of a card, QR code or a staff entry: ``in`` or ``out`` at a local time."""

    kind: str
    at: datetime


@dataclass(frozen=True)
class Presence:
    check_in: datetime | None
    check_out: datetime | None
    outs: tuple[tuple[datetime, datetime], ...]


def normalise(punches: list[Punch]) -> list[Punch]:
    """Sorted by time, with repeated punches of the same kind dropped (a card read twice is harmless)."""
    out: list[Punch] = []
    for p in sorted(punches, key=lambda p: (p.at, p.kind)):
        if out and out[-1].kind == p.kind:
            continue  # a second 'in' while in, or a second 'out' while out: a duplicate
        if not out and p.kind == OUT_PUNCH:
            continue  # an 'out' before any 'in' tells nothing
        out.append(p)
    return out


def presence(punches: list[Punch]) -> Presence:
    """First in, last out (if the trainee did not come back) and every out-and-return in between."""
    seq = normalise(punches)
    if not seq:
        return Presence(None, None, ())
    outs = tuple((seq[i].at, seq[i + 1].at) for i in range(1, len(seq) - 1, 2)) if len(seq) > 2 else ()
    check_out = seq[-1].at if seq[-1].kind == OUT_PUNCH else None
    return Presence(seq[0].at, check_out, outs)


def _minutes(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0) / 60


def missed_minutes(p: Presence, start: datetime, end: datetime) -> float:
    """Minutes of the session the trainee was not there (before arriving, while out, after leaving)."""
    if p.check_in is None:
        return _minutes(end - start)
    missed = _minutes(min(p.check_in, end) - start)
    for left, back in p.outs:
        left, back = max(left, start), min(back, end)
        missed += _minutes(back - left)
    if p.check_out is not None:
        missed += _minutes(end - max(p.check_out, start))
    return missed


def decide(
    punches: list[Punch], start: datetime, end: datetime, hours: float, policy: MarkPolicy = MarkPolicy()
) -> str:
    """The mark a session earns from the punches.

    A session that was not recorded at all is absent. Missing half or more of the
    session's hours is absent. Otherwise late (after the grace), then early leave, then
    out, in that order of precedence: a session earns one mark. A missing check-out
    means the trainee stayed to the end.
    """
    return mark_of(presence(punches), start, end, hours, policy)


def mark_of(p: Presence, start: datetime, end: datetime, hours: float, policy: MarkPolicy = MarkPolicy()) -> str:
    """``decide`` for punches already reduced to their ``presence``."""
    if p.check_in is None or p.check_in >= end:
        return ABSENT
    session_minutes = hours * 60 if hours > 0 else _minutes(end - start)
    if missed_minutes(p, start, end) >= policy.absence_fraction * session_minutes:
        return ABSENT
    if p.check_in > start + timedelta(minutes=policy.grace_minutes):
        return LATE
    if p.check_out is not None and p.check_out < end - timedelta(minutes=policy.early_leave_minutes):
        return EARLY_LEAVE
    if p.outs:
        return OUT
    return PRESENT
