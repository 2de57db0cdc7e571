"""A trainee's standing, at-risk warnings, monthly sheets and completion when a cohort ends."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from services.attendance.adapters.orm import AtRiskWarning, Cohort, Completion, Mark, RosterEntry, TrainingSession
from services.attendance.domain import standing as rules
from services.attendance.domain.marks import ABSENT
from services.attendance.schemas import AtRiskRow, CloseOut, MonthOut, Sheet, SheetRow, StandingOut
from services.attendance.service_layer.roster import load_cohort, sessions_of
from services.attendance.settings import Settings
from shared import events
from shared.auth import Principal
from shared.db import utcnow
from shared.outbox import emit
from shared.problems import RuleFailure, RuleViolation, not_found
from shared.queries import in_campuses, where_given


def local_now(settings: Settings) -> datetime:
    """Now in the timetable's local time, without tzinfo (sessions are local wall-clock times)."""
    return datetime.now(ZoneInfo(settings.timezone)).replace(tzinfo=None)


def to_local(at: datetime, settings: Settings) -> datetime:
    if at.tzinfo is None:
        return at  # already local wall-clock time
    return at.astimezone(ZoneInfo(settings.timezone)).replace(tzinfo=None)


def allowance_policy(settings: Settings) -> rules.AllowancePolicy:
    return rules.AllowancePolicy(
        month_threshold=settings.allowance_month_threshold, full_day_hours=settings.allowance_full_day_hours,
        full_day_krw=settings.allowance_full_day_krw, full_day_cap_krw=settings.allowance_full_day_cap_krw,
        short_day_krw=settings.allowance_short_day_krw, short_day_cap_krw=settings.allowance_short_day_cap_krw)


def days_for(cohort: Cohort, entry: RosterEntry, sessions: list[TrainingSession], marks: dict[uuid.UUID, str],
             now: datetime) -> list[rules.Day]:
    """The trainee's scheduled training days with their marks.

    A session held with nothing recorded is absent; a withdrawn trainee accrues nothing from
    the withdrawal date; once the cohort is closed, sessions after the closing day are
    cancelled and every session up to it counts as held.
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


def marks_by_trainee(session: Session, cohort_id: uuid.UUID,
                     trainee_ids: list[uuid.UUID] | None = None) -> dict[uuid.UUID, dict[uuid.UUID, str]]:
    query = select(Mark.trainee_id, Mark.session_id, Mark.mark).where(Mark.cohort_id == cohort_id)
    if trainee_ids is not None:
        query = query.where(Mark.trainee_id.in_(trainee_ids))
    out: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
    for trainee_id, session_id, mark in session.execute(query):
        out[trainee_id][session_id] = mark
    return out


def threshold_of(cohort: Cohort, settings: Settings) -> float:
    return cohort.completion_threshold or settings.default_completion_threshold


def evaluate(session: Session, *, settings: Settings, cohort: Cohort, entries: list[RosterEntry],
             sessions: list[TrainingSession] | None = None, now: datetime | None = None) -> int:
    """Refresh the rates and at-risk flags of ``entries``; warn once per crossing. Returns warnings sent."""
    if cohort.closed_at is not None or not entries:
        return 0
    sessions = sessions if sessions is not None else sessions_of(session, cohort.id)
    now = now or local_now(settings)
    threshold = threshold_of(cohort, settings)
    marks = marks_by_trainee(session, cohort.id, [e.trainee_id for e in entries])
    warned = 0
    for entry in entries:
        if entry.status != "active":
            continue
        c = rules.counts(days_for(cohort, entry, sessions, marks.get(entry.trainee_id, {}), now),
                         settings.minor_marks_per_absence)
        current, maximum = round(float(rules.current_rate(c)), 4), round(float(rules.max_possible_rate(c)), 4)
        reason = rules.at_risk_reason(c, threshold)
        values = dict(current_rate=current, max_possible_rate=maximum, at_risk_reason=reason,
                      at_risk=reason is not None, updated_at=utcnow())
        # The conditional update is the guard: of two concurrent evaluations only one flips the flag and warns.
        flipped = session.execute(update(RosterEntry).where(RosterEntry.id == entry.id,
                                                            RosterEntry.at_risk == (reason is None))
                                  .values(**values)).rowcount
        if not flipped and (entry.current_rate, entry.max_possible_rate) != (current, maximum):
            session.execute(update(RosterEntry).where(RosterEntry.id == entry.id).values(
                current_rate=current, max_possible_rate=maximum, at_risk_reason=reason, updated_at=utcnow()))
        if flipped and reason is not None:  # went from not at risk to at risk: one warning per crossing
            session.add(AtRiskWarning(cohort_id=cohort.id, trainee_id=entry.trainee_id, reason=reason,
                                      current_rate=current, max_possible_rate=maximum))
            emit(session, events.TRAINEE_AT_RISK, events.TraineeAtRisk(
                trainee_id=entry.trainee_id, cohort_id=cohort.id, campus=cohort.campus, current_rate=current,
                max_possible_rate=maximum, threshold=threshold, reason=reason))
            warned += 1
        for k, v in values.items():
            set_committed_value(entry, k, v)
    session.flush()
    return warned


# -- a trainee's standing ------------------------------------------------------
def standing_out(session: Session, *, settings: Settings, cohort: Cohort, entry: RosterEntry) -> StandingOut:
    sessions = sessions_of(session, cohort.id)
    marks = marks_by_trainee(session, cohort.id, [entry.trainee_id]).get(entry.trainee_id, {})
    days = days_for(cohort, entry, sessions, marks, local_now(settings))
    c = rules.counts(days, settings.minor_marks_per_absence)
    threshold = threshold_of(cohort, settings)
    reason = rules.at_risk_reason(c, threshold) if entry.status == "active" and cohort.closed_at is None else None
    decision = session.get(Completion, (cohort.id, entry.trainee_id))
    months = [MonthOut(month=m.month, scheduled_days=m.scheduled_days, held_days=m.held_days,
                       attended_days=m.attended_days, full_days_attended=m.full_days_attended,
                       short_days_attended=m.short_days_attended,
                       rate=None if m.rate is None else round(float(m.rate), 4), complete=m.complete,
                       allowance_krw=m.allowance_krw)
              for m in rules.monthly_periods(days, allowance_policy(settings), settings.minor_marks_per_absence)]
    return StandingOut(
        trainee_id=entry.trainee_id, cohort_id=cohort.id, campus=cohort.campus, status=entry.status,
        scheduled_days=c.scheduled, held_days=c.held, attended_days=c.attended, absences=c.absences,
        marked_absences=c.marked_absent, lates_early_leaves_outs=c.minor, converted_absences=c.converted_absences,
        remaining_days=c.remaining, current_rate=round(float(rules.current_rate(c)), 4),
        max_possible_rate=round(float(rules.max_possible_rate(c)), 4), threshold=threshold,
        at_risk=reason is not None, at_risk_reason=reason,
        outcome=decision.outcome if decision else None, final_rate=decision.final_rate if decision else None,
        months=months)


def trainee_attendance(session: Session, *, principal: Principal, settings: Settings, trainee_id: uuid.UUID,
                       cohort_id: uuid.UUID | None) -> list[StandingOut]:
    if not principal.is_staff and principal.sub != str(trainee_id):
        raise not_found("trainee", trainee_id)  # a trainee reads only their own attendance
    query = select(RosterEntry, Cohort).join(Cohort, Cohort.id == RosterEntry.cohort_id).where(
        RosterEntry.trainee_id == trainee_id)
    if cohort_id:
        query = query.where(RosterEntry.cohort_id == cohort_id)
    rows = [(e, c) for e, c in session.execute(query.order_by(Cohort.start_date)).all()
            if not principal.is_staff or principal.sees_campus(c.campus)]
    if not rows:
        raise not_found("trainee", trainee_id)
    return [standing_out(session, settings=settings, cohort=c, entry=e) for e, c in rows]


# -- staff views -------------------------------------------------------------
def month_sheet(session: Session, *, principal: Principal, settings: Settings, cohort_id: uuid.UUID,
                month: str) -> Sheet:
    cohort = load_cohort(session, principal=principal, cohort_id=cohort_id)
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        raise RuleViolation([RuleFailure("sheet.month", "month must be YYYY-MM", "month")])
    sessions = sessions_of(session, cohort.id)
    in_month = [s for s in sessions if (s.date.year, s.date.month) == (first.year, first.month)]
    marks = marks_by_trainee(session, cohort.id)
    now = local_now(settings)
    rows = []
    policy = allowance_policy(settings)
    for entry in session.execute(select(RosterEntry).where(RosterEntry.cohort_id == cohort.id)
                                 .order_by(RosterEntry.name, RosterEntry.trainee_id)).scalars():
        days = days_for(cohort, entry, in_month, marks.get(entry.trainee_id, {}), now)
        periods = rules.monthly_periods(days, policy, settings.minor_marks_per_absence)
        by_date = {d.date.isoformat(): d.mark for d in days}
        p = periods[0] if periods else None
        rows.append(SheetRow(trainee_id=entry.trainee_id, name=entry.name,
                             marks={s.date.isoformat(): by_date.get(s.date.isoformat()) for s in in_month},
                             attended_days=p.attended_days if p else 0,
                             rate=None if p is None or p.rate is None else round(float(p.rate), 4),
                             allowance_krw=p.allowance_krw if p else 0))
    return Sheet(cohort_id=cohort.id, month=month, dates=[s.date for s in in_month], rows=rows)


def sheet_xlsx(sheet: Sheet) -> bytes:
    from shared.spreadsheets import write_xlsx

    headers = ["trainee_id", "name"] + [d.isoformat() for d in sheet.dates] + ["attended_days", "rate",
                                                                                "allowance_krw"]
    rows = [[str(r.trainee_id), r.name] + [r.marks.get(d.isoformat()) or "" for d in sheet.dates]
            + [r.attended_days, r.rate, r.allowance_krw] for r in sheet.rows]
    return write_xlsx({f"attendance {sheet.month}": (headers, rows)})


def at_risk_list(session: Session, *, principal: Principal, campus: str | None, cohort_id: uuid.UUID | None):  # type: ignore[no-untyped-def]
    query = select(RosterEntry).where(RosterEntry.at_risk.is_(True), RosterEntry.status == "active").order_by(
        RosterEntry.campus, RosterEntry.cohort_id, RosterEntry.current_rate, RosterEntry.trainee_id)
    query = in_campuses(query, RosterEntry.campus, principal)
    query = where_given(query, (RosterEntry.campus, campus), (RosterEntry.cohort_id, cohort_id))
    return query


def at_risk_row(e: RosterEntry) -> AtRiskRow:
    return AtRiskRow(trainee_id=e.trainee_id, cohort_id=e.cohort_id, campus=e.campus, name=e.name,
                     reason=e.at_risk_reason, current_rate=e.current_rate, max_possible_rate=e.max_possible_rate)


# -- completion --------------------------------------------------------------
def decide_completion(session: Session, *, settings: Settings, cohort: Cohort, closed_on: date) -> CloseOut:
    """Close the cohort and decide every trainee once; the events go out in the same transaction."""
    cohort.closed_on, cohort.closed_at = closed_on, utcnow()
    session.flush()
    sessions = sessions_of(session, cohort.id)
    marks = marks_by_trainee(session, cohort.id)
    decided = set(session.execute(select(Completion.trainee_id).where(Completion.cohort_id == cohort.id)).scalars())
    threshold = threshold_of(cohort, settings)
    done = {"completed": 0, "not_completed": 0}
    now = local_now(settings)
    for entry in session.execute(select(RosterEntry).where(RosterEntry.cohort_id == cohort.id)).scalars():
        if entry.trainee_id in decided:
            continue
        c = rules.counts(days_for(cohort, entry, sessions, marks.get(entry.trainee_id, {}), now),
                         settings.minor_marks_per_absence)
        rate = round(float(rules.final_rate(c)), 4)
        if entry.status == "withdrawn":
            outcome, reason = "not_completed", "withdrawn"
        elif rules.completed(c, threshold):
            outcome, reason = "completed", None
        else:
            outcome, reason = "not_completed", "below_threshold"
        session.add(Completion(cohort_id=cohort.id, trainee_id=entry.trainee_id, campus=cohort.campus,
                               outcome=outcome, final_rate=rate, reason=reason, decided_on=closed_on))
        if outcome == "completed":
            emit(session, events.TRAINEE_COMPLETED, events.TraineeCompleted(
                trainee_id=entry.trainee_id, cohort_id=cohort.id, campus=cohort.campus, name=entry.name,
                programme_code=cohort.programme_code, qualification_codes=cohort.qualification_codes,
                completion_date=closed_on, final_rate=rate))
        else:
            emit(session, events.TRAINEE_NOT_COMPLETED, events.TraineeNotCompleted(
                trainee_id=entry.trainee_id, cohort_id=cohort.id, campus=cohort.campus,
                programme_code=cohort.programme_code, date=closed_on, final_rate=rate, reason=reason or ""))
        entry.at_risk, entry.current_rate = False, rate
        done[outcome] += 1
    session.flush()
    return CloseOut(cohort_id=cohort.id, closed_on=closed_on, completed=done["completed"],
                    not_completed=done["not_completed"], already_decided=len(decided))


def close_cohort(session: Session, *, principal: Principal, settings: Settings, cohort_id: uuid.UUID) -> CloseOut:
    cohort = load_cohort(session, principal=principal, cohort_id=cohort_id, lock=True)
    if cohort.closed_at is not None:
        raise RuleViolation([RuleFailure("cohort.already-closed",
                                         f"the cohort was closed on {cohort.closed_on}")], status=409)
    today = local_now(settings).date()
    if today < cohort.start_date:
        raise RuleViolation([RuleFailure("cohort.not-started", "a cohort cannot be closed before it starts")],
                            status=409)
    result = decide_completion(session, settings=settings, cohort=cohort, closed_on=min(today, cohort.end_date))
    session.commit()
    return result


def close_ended(session: Session, *, settings: Settings, today: date | None = None) -> int:
    """The background job: close every cohort whose end date has passed. Returns cohorts closed."""
    today = today or local_now(settings).date()
    ids = list(session.execute(select(Cohort.id).where(Cohort.closed_at.is_(None), Cohort.end_date < today)).scalars())
    closed = 0
    for cid in ids:
        query = select(Cohort).where(Cohort.id == cid)
        cohort = session.execute(query.with_for_update()).scalar_one()
        if cohort.closed_at is None:
            decide_completion(session, settings=settings, cohort=cohort, closed_on=cohort.end_date)
            closed += 1
        session.commit()
    return closed


def sweep_at_risk(session: Session, *, settings: Settings, today: date | None = None) -> int:
    """The background job: sessions that end with nothing recorded are absences, so re-check running cohorts."""
    today = today or local_now(settings).date()
    warned = 0
    for cohort in list(session.execute(select(Cohort).where(
            Cohort.closed_at.is_(None), Cohort.start_date <= today, Cohort.end_date >= today)).scalars()):
        entries = list(session.execute(select(RosterEntry).where(RosterEntry.cohort_id == cohort.id,
                                                                 RosterEntry.status == "active")).scalars())
        warned += evaluate(session, settings=settings, cohort=cohort, entries=entries)
        session.commit()
    return warned


def require_open(cohort: Cohort) -> None:
    if cohort.closed_at is not None:
        raise RuleViolation([RuleFailure("cohort.closed", f"the cohort was closed on {cohort.closed_on}; "
                                                          "marks can no longer change")], status=409)

