"""A cohort's timetable turned into dated sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.rules import RuleFailure


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


# -- changes to a published timetable ---------------------------------------------------------------------
CHANGE_KINDS = ("cancel", "add", "move", "extend")


@dataclass(frozen=True)
class Plan:
    """A cohort's published plan: its dates and its sessions in order."""

    start_date: date
    end_date: date
    sessions: tuple[Session, ...]


@dataclass(frozen=True)
class Change:
    """One timetable change asked for.

    cancel: the session at ``day`` + ``start``; move: that session to ``new_day`` + ``new_start`` - ``new_end``
    (each defaulting to the session's own); add: a session on ``new_day`` from ``new_start`` to ``new_end``;
    extend: the end date to ``new_end_date``.
    """

    kind: str
    day: date | None = None
    start: time | None = None
    new_day: date | None = None
    new_start: time | None = None
    new_end: time | None = None
    new_end_date: date | None = None
    break_minutes: int = 0


@dataclass(frozen=True)
class Outcome:
    """The plan after a change, and what the change did to it."""

    plan: Plan
    removed: Session | None = None  # the session cancelled, or where a moved one was
    added: Session | None = None  # the session added, or where a moved one went
    old_end_date: date | None = None
    new_end_date: date | None = None


def _find(plan: Plan, day: date | None, start: time | None) -> Session | None:
    """The session on ``day`` at ``start``; without a start, the day's only session."""
    found = [s for s in plan.sessions if s.date == day and (start is None or s.start == start)]
    return found[0] if len(found) == 1 else None


def _check_new(plan: Plan, session: Session, today: date, ignore: Session | None = None) -> list[RuleFailure]:
    failures = []
    if session.date < today:
        failures.append(
            RuleFailure("timetable.in-the-past", f"a session cannot be placed on {session.date}, before today", "date")
        )
    if not plan.start_date <= session.date <= plan.end_date:
        failures.append(
            RuleFailure(
                "timetable.outside-cohort",
                f"{session.date} is outside the cohort's dates ({plan.start_date} to {plan.end_date})",
                "date",
            )
        )
    if session.end <= session.start:
        failures.append(RuleFailure("timetable.session-times", "a session must end after it starts", "end"))
    clash = _find(plan, session.date, session.start)
    if clash is not None and clash != ignore:
        failures.append(
            RuleFailure(
                "timetable.slot-taken",
                f"the cohort already has a session on {session.date} at {session.start:%H:%M}",
                "start",
            )
        )
    return failures


def change_plan(plan: Plan, change: Change, today: date) -> tuple[Outcome | None, list[RuleFailure]]:
    """Apply ``change`` to ``plan`` as of ``today``: the new plan, or every rule it breaks.

    Rules: nothing changes once the cohort has ended (today after its end date); a session that has already
    taken place (its date before today) is neither cancelled nor moved, and
    nothing is placed before today; an added or moved session lies within the cohort's start and end dates;
    the end date only moves later (and not to before today); no two sessions share a date and start time.
    """
    if change.kind not in CHANGE_KINDS:
        return None, [RuleFailure("timetable.kind", f"unknown change kind {change.kind!r}", "kind")]
    if today > plan.end_date:
        # attendance closes a cohort once its end has passed and decides every trainee by the plan it had;
        # a plan changed afterwards would move claim windows and seats of a course that is over
        return None, [
            RuleFailure("timetable.cohort-ended", f"the cohort ended on {plan.end_date}; its plan no longer changes")
        ]
    if change.kind == "extend":
        new_end = change.new_end_date
        if new_end is None:
            return None, [RuleFailure("timetable.end-date-missing", "the new end date is missing", "end_date")]
        if new_end <= plan.end_date:
            return None, [
                RuleFailure(
                    "timetable.extend-not-later",
                    f"the new end date must be after the current end date {plan.end_date}",
                    "end_date",
                )
            ]
        if new_end < today:
            return None, [
                RuleFailure("timetable.in-the-past", f"the end date cannot move to {new_end}, before today", "end_date")
            ]
        return Outcome(
            Plan(plan.start_date, new_end, plan.sessions), old_end_date=plan.end_date, new_end_date=new_end
        ), []
    if change.kind == "add":
        if change.new_day is None or change.new_start is None or change.new_end is None:
            return None, [RuleFailure("timetable.session-missing", "date, start and end are needed", "date")]
        new = Session(
            change.new_day,
            change.new_start,
            change.new_end,
            session_hours(change.new_start, change.new_end, change.break_minutes),
        )
        failures = _check_new(plan, new, today)
        if failures:
            return None, failures
        return Outcome(_with(plan, [*plan.sessions, new]), added=new), []
    old = _find(plan, change.day, change.start)
    if old is None:
        return None, [
            RuleFailure(
                "timetable.no-such-session",
                f"the cohort has no session on {change.day} at {change.start:%H:%M}"
                if change.start
                else f"the cohort has no session on {change.day}",
                "session_date",
            )
        ]
    if old.date < today:
        return None, [
            RuleFailure(
                "timetable.session-held",
                f"the session on {old.date} has already taken place and cannot be changed",
                "session_date",
            )
        ]
    rest = [s for s in plan.sessions if s != old]
    if change.kind == "cancel":
        return Outcome(_with(plan, rest), removed=old), []
    start = change.new_start or old.start
    end = change.new_end or old.end
    hours = old.hours if (start, end) == (old.start, old.end) else session_hours(start, end, change.break_minutes)
    new = Session(change.new_day or old.date, start, end, hours)
    if new == old:
        return None, [RuleFailure("timetable.move-unchanged", "the session would stay where it is", "date")]
    failures = _check_new(plan, new, today, ignore=old)
    if failures:
        return None, failures
    return Outcome(_with(plan, [*rest, new]), removed=old, added=new), []


def _with(plan: Plan, sessions: list[Session]) -> Plan:
    return Plan(plan.start_date, plan.end_date, tuple(sorted(sessions, key=lambda s: (s.date, s.start))))
