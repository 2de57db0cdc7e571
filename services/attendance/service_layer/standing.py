"""A trainee's standing, at-risk warnings, monthly sheets and completion when a cohort ends."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from services.attendance.adapters.orm import AtRiskWarning, Cohort, Completion, RosterEntry, TrainingSession
from services.attendance.adapters.repository import AttendanceRepository, CohortGate
from services.attendance.domain import standing as rules
from services.attendance.domain.marks import ABSENT
from services.attendance.schemas import AtRiskRow, CloseOut, MonthOut, Sheet, SheetRow, StandingOut
from services.attendance.service_layer import outgoing, roster
from services.attendance.service_layer.policy import AttendancePolicy
from services.attendance.service_layer.wall_clock import wall_now
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.problems import RuleFailure, RuleViolation, not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[AttendanceRepository]


def days_for(
    cohort: Cohort, entry: RosterEntry, sessions: list[TrainingSession], marks: dict[uuid.UUID, str], now: datetime
) -> list[rules.Day]:
    """The trainee's scheduled training days with their marks.

    A session held with nothing recorded is absent; a withdrawn trainee accrues nothing from
    the withdrawal date; once the cohort is closed, sessions after the closing day are
    cancelled and every session up to it counts as held. The sessions before the trainee
    joined are here too: the domain leaves them out, given ``entry.enrolled_on``.
    """
    out = []
    for s in sessions:
        if entry.withdrawn_on is not None and s.date >= entry.withdrawn_on:
            continue
        if cohort.closed_on is not None and s.date > cohort.closed_on:
            continue
        mark = marks.get(s.id)
        if mark is None:
            held = cohort.closed_on is not None or datetime.combine(s.date, s.end) <= now
            mark = ABSENT if held else None
        out.append(rules.Day(s.date, s.hours, mark))
    return out


def threshold_of(cohort: Cohort, policy: AttendancePolicy) -> float:
    return cohort.completion_threshold or policy.standing.completion_threshold


def evaluate(
    uow: Uow,
    *,
    policy: AttendancePolicy,
    cohort: Cohort,
    entries: list[RosterEntry],
    now: datetime,
    sessions: list[TrainingSession] | None = None,
) -> int:
    """Refresh the rates and at-risk flags of ``entries``; warn once per crossing. Returns warnings sent.

    Part of the caller's open unit of work (local wall-clock ``now``); never commits."""
    if cohort.closed_at is not None or not entries:
        return 0
    repo = uow.repo
    sessions = sessions if sessions is not None else repo.sessions_of(cohort.id)
    threshold = threshold_of(cohort, policy)
    marks = repo.marks_by_trainee(cohort.id, [e.trainee_id for e in entries])
    warned = 0
    for entry in entries:
        if entry.status != "active":
            continue
        c = rules.counts(
            days_for(cohort, entry, sessions, marks.get(entry.trainee_id, {}), now),
            policy.standing.minor_per_absence,
            joined_on=entry.enrolled_on,
        )
        current, maximum = round(float(rules.current_rate(c)), 4), round(float(rules.max_possible_rate(c)), 4)
        reason = rules.at_risk_reason(c, threshold)
        flipped = repo.save_standing(entry, current_rate=current, max_possible_rate=maximum, at_risk_reason=reason)
        if flipped and reason is not None:  # went from not at risk to at risk: one warning per crossing
            repo.add_warning(
                AtRiskWarning(
                    cohort_id=cohort.id,
                    trainee_id=entry.trainee_id,
                    reason=reason,
                    current_rate=current,
                    max_possible_rate=maximum,
                )
            )
            uow.emit(
                *outgoing.trainee_at_risk(
                    cohort, entry, current_rate=current, max_possible_rate=maximum, threshold=threshold, reason=reason
                )
            )
            warned += 1
    repo.standing_written()
    return warned


# -- a trainee's standing ------------------------------------------------------
def standing_out(
    repo: AttendanceRepository, *, policy: AttendancePolicy, cohort: Cohort, entry: RosterEntry, now: datetime
) -> StandingOut:
    sessions = repo.sessions_of(cohort.id)
    marks = repo.marks_by_trainee(cohort.id, [entry.trainee_id]).get(entry.trainee_id, {})
    days = days_for(cohort, entry, sessions, marks, now)
    minor_per_absence = policy.standing.minor_per_absence
    c = rules.counts(days, minor_per_absence, joined_on=entry.enrolled_on)
    threshold = threshold_of(cohort, policy)
    reason = rules.at_risk_reason(c, threshold) if entry.status == "active" and cohort.closed_at is None else None
    decision = repo.completion(cohort.id, entry.trainee_id)
    months = [
        MonthOut(
            month=m.month,
            scheduled_days=m.scheduled_days,
            held_days=m.held_days,
            attended_days=m.attended_days,
            full_days_attended=m.full_days_attended,
            short_days_attended=m.short_days_attended,
            rate=None if m.rate is None else round(float(m.rate), 4),
            complete=m.complete,
            allowance_krw=m.allowance_krw,
        )
        for m in rules.monthly_periods(days, policy.allowance, minor_per_absence, joined_on=entry.enrolled_on)
    ]
    return StandingOut(
        trainee_id=entry.trainee_id,
        cohort_id=cohort.id,
        campus=cohort.campus,
        status=entry.status,
        scheduled_days=c.scheduled,
        held_days=c.held,
        attended_days=c.attended,
        absences=c.absences,
        marked_absences=c.marked_absent,
        lates_early_leaves_outs=c.minor,
        converted_absences=c.converted_absences,
        remaining_days=c.remaining,
        current_rate=round(float(rules.current_rate(c)), 4),
        max_possible_rate=round(float(rules.max_possible_rate(c)), 4),
        threshold=threshold,
        at_risk=reason is not None,
        at_risk_reason=reason,
        outcome=decision.outcome if decision else None,
        final_rate=decision.final_rate if decision else None,
        decided_at=decision.decided_at if decision else None,
        late_decision=decision.late if decision else False,
        months=months,
    )


def trainee_attendance(
    uow: Uow,
    *,
    principal: Principal,
    policy: AttendancePolicy,
    clock: Clock,
    trainee_id: uuid.UUID,
    cohort_id: uuid.UUID | None,
) -> list[StandingOut]:
    if not principal.is_staff and principal.sub != str(trainee_id):
        raise not_found("trainee", trainee_id)  # a trainee reads only their own attendance
    with uow:
        rows = [
            (e, c)
            for e, c in uow.repo.trainee_cohorts(trainee_id, cohort_id)
            if not principal.is_staff or principal.sees_campus(c.campus)
        ]
        if not rows:
            raise not_found("trainee", trainee_id)
        now = wall_now(clock)
        return [standing_out(uow.repo, policy=policy, cohort=c, entry=e, now=now) for e, c in rows]


# -- staff views -------------------------------------------------------------
def month_sheet(
    uow: Uow, *, principal: Principal, policy: AttendancePolicy, clock: Clock, cohort_id: uuid.UUID, month: str
) -> Sheet:
    with uow:
        repo = uow.repo
        cohort = repo.visible_cohort(principal, cohort_id)
        try:
            first = date.fromisoformat(month + "-01")
        except ValueError:
            raise RuleViolation([RuleFailure("sheet.month", "month must be YYYY-MM", "month")]) from None
        sessions = repo.sessions_of(cohort.id)
        in_month = [s for s in sessions if (s.date.year, s.date.month) == (first.year, first.month)]
        marks = repo.marks_by_trainee(cohort.id)
        now = wall_now(clock)
        rows = []
        for entry in repo.roster_of(cohort.id):
            days = rules.scheduled_from(
                days_for(cohort, entry, in_month, marks.get(entry.trainee_id, {}), now), entry.enrolled_on
            )
            periods = rules.monthly_periods(days, policy.allowance, policy.standing.minor_per_absence)
            by_date = {d.date.isoformat(): d.mark for d in days}
            p = periods[0] if periods else None
            rows.append(
                SheetRow(
                    trainee_id=entry.trainee_id,
                    name=entry.name,
                    marks={s.date.isoformat(): by_date.get(s.date.isoformat()) for s in in_month},
                    attended_days=p.attended_days if p else 0,
                    rate=None if p is None or p.rate is None else round(float(p.rate), 4),
                    allowance_krw=p.allowance_krw if p else 0,
                )
            )
        return Sheet(cohort_id=cohort.id, month=month, dates=[s.date for s in in_month], rows=rows)


def sheet_xlsx(sheet: Sheet) -> bytes:
    from shared.spreadsheets import write_xlsx

    headers = ["trainee_id", "name"] + [d.isoformat() for d in sheet.dates] + ["attended_days", "rate", "allowance_krw"]
    rows = [
        [str(r.trainee_id), r.name]
        + [r.marks.get(d.isoformat()) or "" for d in sheet.dates]
        + [r.attended_days, r.rate, r.allowance_krw]
        for r in sheet.rows
    ]
    return write_xlsx({f"attendance {sheet.month}": (headers, rows)})


def at_risk_row(e: RosterEntry) -> AtRiskRow:
    return AtRiskRow(
        trainee_id=e.trainee_id,
        cohort_id=e.cohort_id,
        campus=e.campus,
        name=e.name,
        reason=e.at_risk_reason,
        current_rate=e.current_rate,
        max_possible_rate=e.max_possible_rate,
    )


def at_risk_list(
    uow: Uow, *, principal: Principal, campus: str | None, cohort_id: uuid.UUID | None, page: PageParams
) -> Page[AtRiskRow]:
    with uow:
        items, total = uow.repo.at_risk_page(principal, campus, cohort_id, page)
        return Page(items=[at_risk_row(e) for e in items], total=total, limit=page.limit, offset=page.offset)


# -- completion --------------------------------------------------------------
def _decide(
    uow: Uow,
    *,
    policy: AttendancePolicy,
    cohort: Cohort,
    entry: RosterEntry,
    sessions: list[TrainingSession],
    marks: dict[uuid.UUID, str],
    now: datetime,
    late: bool,
) -> Completion:
    """One trainee's completion, by the one rule, dated the cohort's closing day; its event goes out with it."""
    assert cohort.closed_on is not None
    closed_on = cohort.closed_on
    c = rules.counts(
        days_for(cohort, entry, sessions, marks, now), policy.standing.minor_per_absence, joined_on=entry.enrolled_on
    )
    rate = round(float(rules.final_rate(c)), 4)
    outcome, reason = rules.completion_outcome(c, threshold_of(cohort, policy), withdrawn=entry.status == "withdrawn")
    if outcome == "completed":
        uow.emit(*outgoing.trainee_completed(cohort, entry, completion_date=closed_on, final_rate=rate))
    else:
        uow.emit(*outgoing.trainee_not_completed(cohort, entry, on=closed_on, final_rate=rate, reason=reason or ""))
    entry.at_risk, entry.current_rate = False, rate
    return Completion(
        cohort_id=cohort.id,
        trainee_id=entry.trainee_id,
        campus=cohort.campus,
        outcome=outcome,
        final_rate=rate,
        reason=reason,
        decided_on=closed_on,
        late=late,
    )


def decide_completion(
    uow: Uow, *, policy: AttendancePolicy, cohort: Cohort, closed_on: date, now: datetime
) -> CloseOut:
    """Close the cohort and decide every trainee once; the events go out in the same unit of work."""
    repo = uow.repo
    cohort.closed_on, cohort.closed_at = closed_on, utcnow()
    roster.release_held(repo, cohort)  # enrollments still waiting for a newer plan join now and are decided too
    sessions = repo.sessions_of(cohort.id)
    marks = repo.marks_by_trainee(cohort.id)
    decided = repo.decided_trainees(cohort.id)
    done = {"completed": 0, "not_completed": 0}
    decisions = []
    for entry in repo.roster_of(cohort.id, by_name=False):
        if entry.trainee_id in decided:
            continue
        decision = _decide(
            uow,
            policy=policy,
            cohort=cohort,
            entry=entry,
            sessions=sessions,
            marks=marks.get(entry.trainee_id, {}),
            now=now,
            late=False,
        )
        decisions.append(decision)
        done[decision.outcome] += 1
    repo.add_completions(decisions)
    return CloseOut(
        cohort_id=cohort.id,
        closed_on=closed_on,
        completed=done["completed"],
        not_completed=done["not_completed"],
        already_decided=len(decided),
    )


def decide_late_entries(
    uow: Uow, *, policy: AttendancePolicy, cohort: Cohort, entries: list[RosterEntry], now: datetime
) -> int:
    """Trainees who reached the roster after the cohort was closed are decided at once, by the same rule and
    dated the same closing day, each once (a redelivered or repeated enrollment finds the decision made).

    Part of the caller's open unit of work (the consumer's); never commits. Returns the trainees decided."""
    if cohort.closed_at is None or not entries:
        return 0
    repo = uow.repo
    decided = repo.decided_trainees(cohort.id)
    pending = {e.trainee_id: e for e in entries if e.trainee_id not in decided}
    if not pending:
        return 0
    sessions = repo.sessions_of(cohort.id)
    marks = repo.marks_by_trainee(cohort.id, list(pending))
    decisions = [
        _decide(
            uow,
            policy=policy,
            cohort=cohort,
            entry=entry,
            sessions=sessions,
            marks=marks.get(trainee_id, {}),
            now=now,
            late=True,
        )
        for trainee_id, entry in pending.items()
    ]
    repo.add_completions(decisions)
    return len(decisions)


def close_cohort(
    uow: Uow, *, principal: Principal, policy: AttendancePolicy, clock: Clock, cohort_id: uuid.UUID
) -> CloseOut:
    """Staff end the cohort now: every trainee's completion is decided and published once."""
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id, lock=True)
        if cohort.closed_at is not None:
            raise RuleViolation(
                [RuleFailure("cohort.already-closed", f"the cohort was closed on {cohort.closed_on}")], status=409
            )
        now = wall_now(clock)
        today = now.date()
        if today < cohort.start_date:
            raise RuleViolation(
                [RuleFailure("cohort.not-started", "a cohort cannot be closed before it starts")], status=409
            )
        result = decide_completion(uow, policy=policy, cohort=cohort, closed_on=min(today, cohort.end_date), now=now)
        uow.commit()
        return result


def close_ended(uow: Uow, *, policy: AttendancePolicy, clock: Clock) -> int:
    """The background job: close every cohort whose end date has passed, each in its own unit of work.
    Returns cohorts closed."""
    now = wall_now(clock)
    with uow:
        ids = uow.repo.ended_cohort_ids(now.date())
    closed = 0
    for cid in ids:
        with uow:
            cohort = uow.repo.lock_cohort(cid)
            if cohort.closed_at is None:
                decide_completion(uow, policy=policy, cohort=cohort, closed_on=cohort.end_date, now=now)
                closed += 1
            uow.commit()
    return closed


def sweep_at_risk(uow: Uow, *, policy: AttendancePolicy, clock: Clock) -> int:
    """The background job: sessions that end with nothing recorded are absences, so re-check running cohorts."""
    now = wall_now(clock)
    with uow:
        ids = uow.repo.running_cohort_ids(now.date())
    warned = 0
    for cid in ids:
        with uow:
            cohort = uow.repo.cohort(cid)
            if cohort is not None:
                entries = uow.repo.roster_of(cohort.id, active_only=True, by_name=False)
                warned += evaluate(uow, policy=policy, cohort=cohort, entries=entries, now=now)
            uow.commit()
    return warned


def require_open(cohort: Cohort | CohortGate) -> None:
    if cohort.closed_at is not None:
        raise RuleViolation(
            [RuleFailure("cohort.closed", f"the cohort was closed on {cohort.closed_on}; marks can no longer change")],
            status=409,
        )
