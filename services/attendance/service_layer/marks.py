"""Check-ins and check-outs (single and bulk), staff corrections and excuses, and their history."""
from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.attendance.adapters.orm import Cohort, Mark, MarkChange, RosterEntry, TrainingSession
from services.attendance.domain import marks as rules
from services.attendance.domain import qr
from services.attendance.domain.excuses import check_excuse
from services.attendance.schemas import (BulkCheckInIn, BulkReport, BulkRow, CheckInIn, MarkChangeOut, MarkDetail,
                                         MarkIn, MarkOut, PunchOut, QrCodeOut, SessionRoster, SessionRosterRow,
                                         TraineeMarkRow)
from services.attendance.service_layer.roster import session_out
from services.attendance.service_layer.standing import evaluate, local_now, require_open, to_local
from services.attendance.settings import Settings
from shared.auth import Principal
from shared.db import per_dialect, utcnow
from shared.problems import Problem, RuleFailure, RuleViolation, not_found

NEEDS_EVALUATION = rules.MINOR | {rules.ABSENT}


def policy(settings: Settings) -> rules.MarkPolicy:
    return rules.MarkPolicy(grace_minutes=settings.grace_minutes, early_leave_minutes=settings.early_leave_minutes,
                            absence_fraction=settings.absence_fraction)


def bounds(ts: TrainingSession) -> tuple[datetime, datetime]:
    return datetime.combine(ts.date, ts.start), datetime.combine(ts.date, ts.end)


def load_session(session: Session, principal: Principal, session_id: uuid.UUID) -> tuple[TrainingSession, Cohort]:
    ts = session.get(TrainingSession, session_id)
    cohort = session.get(Cohort, ts.cohort_id) if ts is not None else None
    if ts is None or cohort is None or (principal.is_staff and not principal.sees_campus(cohort.campus)):
        raise not_found("session", session_id)
    if not principal.is_staff:  # a trainee sees only the sessions of their own cohorts
        on_roster = session.execute(select(RosterEntry.id).where(
            RosterEntry.cohort_id == cohort.id, RosterEntry.trainee_id == _as_uuid(principal.sub))).first()
        if on_roster is None:
            raise not_found("session", session_id)
    return ts, cohort


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _punches(mark: Mark | None) -> list[rules.Punch]:
    if mark is None:
        return []
    return [rules.Punch(p["kind"], datetime.fromisoformat(p["at"])) for p in mark.punches]


def _roster_failure(entry: RosterEntry | None, ts: TrainingSession) -> RuleFailure | None:
    if entry is None:
        return RuleFailure("roster.not-on-roster", "the trainee is not on this session's cohort roster",
                           "trainee_id")
    if entry.withdrawn_on is not None and ts.date >= entry.withdrawn_on:
        return RuleFailure("roster.withdrawn", f"the trainee withdrew on {entry.withdrawn_on}", "trainee_id")
    return None


def _window_failure(at: datetime, ts: TrainingSession, settings: Settings) -> RuleFailure | None:
    start, end = bounds(ts)
    opens = start - timedelta(minutes=settings.check_in_opens_minutes)
    closes = end + timedelta(minutes=settings.check_out_closes_minutes)
    if not opens <= at <= closes:
        return RuleFailure("check-in.outside-window",
                           f"check-ins for this session are taken from {opens:%Y-%m-%d %H:%M} "
                           f"to {closes:%H:%M} local time", "at")
    return None


def _apply(mark_row: Mark, ts: TrainingSession, settings: Settings) -> None:
    """Recompute the mark from the punches, unless staff set it."""
    punches = _punches(mark_row)
    p = rules.presence(punches)
    mark_row.check_in_at, mark_row.check_out_at = _aware(p.check_in, settings), _aware(p.check_out, settings)
    if mark_row.source == "punches":
        start, end = bounds(ts)
        mark_row.mark = rules.decide(punches, start, end, ts.hours, policy(settings))


def _aware(value: datetime | None, settings: Settings) -> datetime | None:
    """Local wall-clock times are stored and shown with the timetable's zone."""
    if value is None:
        return None
    tz = ZoneInfo(settings.timezone)
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def mark_out(m: Mark, ts: TrainingSession, settings: Settings) -> MarkOut:
    return MarkOut(session_id=ts.id, cohort_id=ts.cohort_id, trainee_id=m.trainee_id, date=ts.date, mark=m.mark,
                   source=m.source, check_in_at=_aware(m.check_in_at, settings),
                   check_out_at=_aware(m.check_out_at, settings),
                   punches=[PunchOut(kind=p["kind"], at=_aware(datetime.fromisoformat(p["at"]), settings),
                                     method=p.get("method", "")) for p in m.punches],
                   reason_code=m.reason_code, evidence_ref=m.evidence_ref)


def _entry(session: Session, cohort_id: uuid.UUID, trainee_id: uuid.UUID) -> RosterEntry | None:
    return session.execute(select(RosterEntry).where(RosterEntry.cohort_id == cohort_id,
                                                     RosterEntry.trainee_id == trainee_id)).scalar_one_or_none()


# Single check-ins are the busiest request of a training day: their statements are built once and take
# their values as parameters, and the mark is written with one plain INSERT or UPDATE.
_CHECK_IN_TARGET = (
    select(TrainingSession, Cohort, RosterEntry)
    .join(Cohort, Cohort.id == TrainingSession.cohort_id)
    .outerjoin(RosterEntry, and_(RosterEntry.cohort_id == TrainingSession.cohort_id,
                                 RosterEntry.trainee_id == bindparam("b_trainee")))
    .where(TrainingSession.id == bindparam("b_session")))
_MARK_FOR_UPDATE = (select(Mark).where(Mark.session_id == bindparam("b_session"),
                                       Mark.trainee_id == bindparam("b_trainee"))
                    .with_for_update())  # SQLite leaves FOR UPDATE out; its writers queue anyway
_MARKS = Mark.__table__  # type: ignore[attr-defined]
_INSERT_MARK_IF_NONE = per_dialect(lambda insert_: insert_(_MARKS).on_conflict_do_nothing(
    index_elements=["session_id", "trainee_id"]))
_UPDATE_MARK = (update(_MARKS).where(_MARKS.c.id == bindparam("b_id"))
                .values(mark=bindparam("b_mark"), punches=bindparam("b_punches"),
                        check_in_at=bindparam("b_check_in_at"), check_out_at=bindparam("b_check_out_at"),
                        updated_by=bindparam("b_updated_by"), updated_at=bindparam("b_updated_at")))


def _check_in_target(session: Session, principal: Principal, session_id: uuid.UUID,
                     trainee_id: uuid.UUID) -> tuple[TrainingSession, Cohort, RosterEntry | None]:
    """The session, its cohort and the trainee's roster entry, in one read; 404 as ``load_session`` decides."""
    found = session.execute(_CHECK_IN_TARGET, {"b_session": session_id, "b_trainee": trainee_id}).first()
    if found is None:
        raise not_found("session", session_id)
    ts, cohort, entry = found
    if principal.is_staff:
        if not principal.sees_campus(cohort.campus):
            raise not_found("session", session_id)
    elif entry is None or principal.sub != str(trainee_id):
        load_session(session, principal, session_id)  # is the trainee's own cohort's session, or a 404
    return ts, cohort, entry


def check_in(session: Session, *, principal: Principal, settings: Settings, session_id: uuid.UUID,
             body: CheckInIn) -> MarkOut:
    """One reading (QR, card or staff entry). Duplicates are harmless: the mark comes from the times."""
    ts, cohort, entry = _check_in_target(session, principal, session_id, body.trainee_id)
    require_open(cohort)
    now = local_now(settings)
    if principal.is_staff:
        at = to_local(body.at, settings) if body.at else now
        if at > now + timedelta(minutes=1):
            raise RuleViolation([RuleFailure("check-in.future", "a check-in cannot be recorded ahead of time", "at")])
    else:
        if principal.sub != str(body.trainee_id):
            raise Problem(403, "check-in-self-only", "Trainees check in only themselves",
                          "A trainee token may check in only its own trainee id.",
                          errors=[RuleFailure("check-in.self-only", "a trainee checks in only themselves",
                                              "trainee_id")])
        at = now  # a trainee cannot choose the time
    failure = _roster_failure(entry, ts) or _window_failure(at, ts, settings)
    if failure is None and (body.code is not None or (not principal.is_staff and settings.qr_required_for_trainees)):
        failure = qr.check(qr_policy(settings), ts.id, body.code, time.time())  # after the window: says more
    if failure:
        raise RuleViolation([failure])
    assert entry is not None
    row = session.execute(_MARK_FOR_UPDATE, {"b_session": ts.id, "b_trainee": body.trainee_id}).scalar_one_or_none()
    punch = {"kind": body.kind, "at": at.isoformat(), "method": body.method}
    previous = row.mark if row else None
    new = None
    if row is None:
        new = Mark(session_id=ts.id, cohort_id=cohort.id, trainee_id=body.trainee_id, mark=rules.ABSENT,
                   punches=[punch], updated_by=principal.sub)
        _apply(new, ts, settings)
        # FOR UPDATE locks no row that is not there yet: a card tapped twice at once makes two first
        # check-ins. The second finds the first's row here, waits for it, and adds its punch to it.
        if session.execute(_INSERT_MARK_IF_NONE[session.get_bind().dialect.name],
                           {c.name: getattr(new, c.name) for c in _MARKS.c}).rowcount:
            row = new
        else:
            row = session.execute(_MARK_FOR_UPDATE, {"b_session": ts.id, "b_trainee": body.trainee_id}).scalar_one()
            previous = row.mark
    if row is not new:
        session.expunge(row)  # written below with one UPDATE; the unit of work must not write it again
        before = (row.mark, row.check_in_at, row.check_out_at, len(row.punches))
        if not any(p["kind"] == punch["kind"] and p["at"] == punch["at"] for p in row.punches):
            row.punches = [*row.punches, punch]
            row.updated_by, row.updated_at = principal.sub, utcnow()
        _apply(row, ts, settings)
        if (row.mark, row.check_in_at, row.check_out_at, len(row.punches)) != before:
            session.execute(_UPDATE_MARK, dict(
                b_id=row.id, b_mark=row.mark, b_punches=row.punches, b_check_in_at=row.check_in_at,
                b_check_out_at=row.check_out_at, b_updated_by=row.updated_by, b_updated_at=row.updated_at))
    # A present mark cannot put anyone at risk, but it may lift a trainee who is: evaluate only when it matters.
    if row.mark != previous and (row.mark in NEEDS_EVALUATION or previous in NEEDS_EVALUATION or entry.at_risk):
        evaluate(session, settings=settings, cohort=cohort, entries=[entry])
    result = mark_out(row, ts, settings)
    session.commit()
    return result


def trainee_marks(session: Session, *, principal: Principal, settings: Settings, trainee_id: uuid.UUID,
                  date_from: date | None, date_to: date | None) -> list[TraineeMarkRow]:
    """The sessions of the trainee's cohorts in [date_from, date_to] with the trainee's marks (a trainee: its own)."""
    if not principal.is_staff and principal.sub != str(trainee_id):
        raise not_found("trainee", trainee_id)
    cohorts = [c for c in session.execute(select(Cohort).join(RosterEntry, RosterEntry.cohort_id == Cohort.id)
                                          .where(RosterEntry.trainee_id == trainee_id)).scalars()
               if not principal.is_staff or principal.sees_campus(c.campus)]
    if not cohorts:
        raise not_found("trainee", trainee_id)
    titles = {c.id: c.programme_title for c in cohorts}
    query = (select(TrainingSession, Mark).outerjoin(Mark, and_(Mark.session_id == TrainingSession.id,
                                                                Mark.trainee_id == trainee_id))
             .where(TrainingSession.cohort_id.in_(list(titles))).order_by(TrainingSession.date, TrainingSession.start))
    if date_from:
        query = query.where(TrainingSession.date >= date_from)
    if date_to:
        query = query.where(TrainingSession.date <= date_to)
    return [TraineeMarkRow(session_id=ts.id, cohort_id=ts.cohort_id, programme_title=titles[ts.cohort_id],
                           date=ts.date, start=ts.start, end=ts.end, hours=ts.hours, mark=m.mark if m else None,
                           check_in_at=_aware(m.check_in_at, settings) if m else None,
                           check_out_at=_aware(m.check_out_at, settings) if m else None)
            for ts, m in session.execute(query).all()]


def qr_policy(settings: Settings) -> qr.QrPolicy:
    return qr.QrPolicy(secret=settings.qr_secret.get_secret_value().encode(), window_s=settings.qr_window_s,
                       lookback_windows=settings.qr_lookback_windows)


def qr_code(session: Session, *, principal: Principal, settings: Settings, session_id: uuid.UUID) -> QrCodeOut:
    """The session's check-in code of this moment, for the kiosk's or the instructor's screen."""
    ts, _ = load_session(session, principal, session_id)
    issued = qr.issue(qr_policy(settings), ts.id, time.time())
    tz = ZoneInfo(settings.timezone)

    def stamp(unix_s: int) -> datetime:
        return datetime.fromtimestamp(unix_s, timezone.utc).astimezone(tz)

    return QrCodeOut(session_id=ts.id, code=issued.code, window_s=settings.qr_window_s,
                     issued_at=stamp(issued.refresh_at - settings.qr_window_s), refresh_at=stamp(issued.refresh_at),
                     valid_until=stamp(issued.valid_until))


class _FirstMarkRace(Exception):
    """Another request wrote the first mark of one of these trainees after we looked (none was there to lock)."""


def bulk_check_in(session: Session, *, principal: Principal, settings: Settings, session_id: uuid.UUID,
                  body: BulkCheckInIn) -> BulkReport:
    """Hundreds of readings at once from a kiosk or card reader; each row accepted, duplicate or refused."""
    if len(body.items) > settings.bulk_max_items:
        raise RuleViolation([RuleFailure("bulk.too-many", f"send at most {settings.bulk_max_items} readings "
                                                          "per request", "items")], status=422)
    for attempt in range(3):
        try:
            return _bulk_check_in(session, principal=principal, settings=settings, session_id=session_id, body=body)
        except _FirstMarkRace:
            session.rollback()  # again from the start: those marks exist now, and will be read under lock
    raise Problem(503, "check-ins-busy", "Check-ins busy", "Other readings of these trainees kept arriving at "
                  "the same moment; send the batch again.")


def _bulk_check_in(session: Session, *, principal: Principal, settings: Settings, session_id: uuid.UUID,
                   body: BulkCheckInIn) -> BulkReport:
    ts, cohort = load_session(session, principal, session_id)
    require_open(cohort)
    now = local_now(settings)
    ids = list({item.trainee_id for item in body.items})
    entries = {e.trainee_id: e for e in session.execute(select(RosterEntry).where(
        RosterEntry.cohort_id == cohort.id, RosterEntry.trainee_id.in_(ids))).scalars()}
    query = select(Mark).where(Mark.session_id == ts.id, Mark.trainee_id.in_(ids)).with_for_update()
    existing = {m.trainee_id: m for m in session.execute(query).scalars()}
    before = {tid: m.mark for tid, m in existing.items()}
    new_punches: dict[uuid.UUID, list[dict]] = {}
    rows: list[BulkRow] = []
    for i, item in enumerate(body.items):
        at = to_local(item.at, settings) if item.at else now
        failure = _roster_failure(entries.get(item.trainee_id), ts) or _window_failure(at, ts, settings)
        if failure is None and at > now + timedelta(minutes=1):
            failure = RuleFailure("check-in.future", "a check-in cannot be recorded ahead of time", "at")
        if failure:
            rows.append(BulkRow(index=i, trainee_id=item.trainee_id, status="refused", rule=failure.rule,
                                message=failure.message))
            continue
        punch = {"kind": item.kind, "at": at.isoformat(), "method": item.method}
        current = new_punches.get(item.trainee_id)
        if current is None:
            current = list(existing[item.trainee_id].punches) if item.trainee_id in existing else []
            new_punches[item.trainee_id] = current
        if any(p["kind"] == punch["kind"] and p["at"] == punch["at"] for p in current):
            rows.append(BulkRow(index=i, trainee_id=item.trainee_id, status="duplicate"))
            continue
        current.append(punch)
        rows.append(BulkRow(index=i, trainee_id=item.trainee_id, status="accepted"))
    start, end = bounds(ts)
    pol = policy(settings)
    stamp = utcnow()
    inserts = []
    decided: dict[uuid.UUID, str] = {}
    for trainee_id, punches in new_punches.items():
        parsed = [rules.Punch(p["kind"], datetime.fromisoformat(p["at"])) for p in punches]
        presence = rules.presence(parsed)
        row = existing.get(trainee_id)
        mark = rules.decide(parsed, start, end, ts.hours, pol) if row is None or row.source == "punches" else row.mark
        decided[trainee_id] = mark
        if row is None:
            inserts.append(dict(id=uuid.uuid4(), session_id=ts.id, cohort_id=cohort.id, trainee_id=trainee_id,
                                mark=mark, source="punches", punches=punches, check_in_at=_aware(presence.check_in, settings),
                                check_out_at=_aware(presence.check_out, settings), updated_by=principal.sub, updated_at=stamp))
        else:
            row.punches, row.mark, row.updated_by, row.updated_at = punches, mark, principal.sub, stamp
            row.check_in_at = _aware(presence.check_in, settings)
            row.check_out_at = _aware(presence.check_out, settings)
    if inserts:
        try:
            session.execute(insert(Mark), inserts)
        except IntegrityError as exc:  # uq_mark_session_trainee: the only constraint these rows can break
            raise _FirstMarkRace() from exc
    session.flush()
    changed = [entries[t] for t, m in decided.items() if m != before.get(t) and (
        m in NEEDS_EVALUATION or before.get(t) in NEEDS_EVALUATION or entries[t].at_risk)]
    if changed:
        evaluate(session, settings=settings, cohort=cohort, entries=changed)
    for r in rows:
        if r.status != "refused":
            r.mark = decided.get(r.trainee_id)
    session.commit()
    return BulkReport(session_id=ts.id, received=len(body.items),
                      accepted=sum(1 for r in rows if r.status == "accepted"),
                      duplicates=sum(1 for r in rows if r.status == "duplicate"),
                      refused=sum(1 for r in rows if r.status == "refused"), rows=rows)


def _virtual_mark(ts: TrainingSession, now: datetime) -> str | None:
    return rules.ABSENT if datetime.combine(ts.date, ts.end) <= now else None


def set_mark(session: Session, *, principal: Principal, settings: Settings, session_id: uuid.UUID,
             trainee_id: uuid.UUID, body: MarkIn) -> MarkDetail:
    """A staff correction or excuse; the previous value, who, when and why are kept."""
    ts, cohort = load_session(session, principal, session_id)
    require_open(cohort)
    entry = _entry(session, cohort.id, trainee_id)
    failures = []
    if (f := _roster_failure(entry, ts)) is not None:
        failures.append(f)
    if body.mark == rules.EXCUSED:
        failures += check_excuse(body.reason_code, body.evidence_ref)
    if failures:
        raise RuleViolation(failures)
    assert entry is not None
    row = session.execute(select(Mark).where(Mark.session_id == ts.id, Mark.trainee_id == trainee_id)
                          .with_for_update()).scalar_one_or_none()
    previous = row.mark if row else _virtual_mark(ts, local_now(settings))
    if row is None:
        row = Mark(session_id=ts.id, cohort_id=cohort.id, trainee_id=trainee_id, mark=body.mark, punches=[])
        session.add(row)
    excused = body.mark == rules.EXCUSED
    row.mark, row.source, row.updated_by, row.updated_at = body.mark, "staff", principal.sub, utcnow()
    row.reason_code = body.reason_code if excused else None
    row.evidence_ref = body.evidence_ref if excused else None
    session.add(MarkChange(session_id=ts.id, trainee_id=trainee_id, previous_mark=previous, new_mark=body.mark,
                           reason=body.reason, reason_code=row.reason_code, evidence_ref=row.evidence_ref,
                           changed_by=principal.sub))
    session.flush()
    evaluate(session, settings=settings, cohort=cohort, entries=[entry])
    result = _detail(session, row, ts, settings)
    session.commit()
    return result


def _detail(session: Session, row: Mark, ts: TrainingSession, settings: Settings) -> MarkDetail:
    history = session.execute(select(MarkChange).where(MarkChange.session_id == ts.id,
                                                       MarkChange.trainee_id == row.trainee_id)
                              .order_by(MarkChange.changed_at, MarkChange.id)).scalars()
    return MarkDetail(**mark_out(row, ts, settings).model_dump(),
                      history=[MarkChangeOut(previous_mark=h.previous_mark, new_mark=h.new_mark, reason=h.reason,
                                             reason_code=h.reason_code, evidence_ref=h.evidence_ref,
                                             changed_by=h.changed_by, changed_at=h.changed_at) for h in history])


def get_mark(session: Session, *, principal: Principal, settings: Settings, session_id: uuid.UUID,
             trainee_id: uuid.UUID) -> MarkDetail:
    if not principal.is_staff and principal.sub != str(trainee_id):
        raise not_found("mark", trainee_id)
    ts, cohort = load_session(session, principal, session_id)
    if _entry(session, cohort.id, trainee_id) is None:
        raise not_found("trainee on this roster", trainee_id)
    row = session.execute(select(Mark).where(Mark.session_id == ts.id, Mark.trainee_id == trainee_id)
                          ).scalar_one_or_none()
    if row is None:
        return MarkDetail(session_id=ts.id, cohort_id=cohort.id, trainee_id=trainee_id, date=ts.date,
                          mark=_virtual_mark(ts, local_now(settings)), source="none")
    return _detail(session, row, ts, settings)


def session_roster(session: Session, *, principal: Principal, settings: Settings,
                   session_id: uuid.UUID) -> SessionRoster:
    ts, cohort = load_session(session, principal, session_id)
    marks = {m.trainee_id: m for m in session.execute(select(Mark).where(Mark.session_id == ts.id)).scalars()}
    virtual = _virtual_mark(ts, local_now(settings))
    rows = []
    for e in session.execute(select(RosterEntry).where(RosterEntry.cohort_id == cohort.id)
                             .order_by(RosterEntry.name, RosterEntry.trainee_id)).scalars():
        if e.withdrawn_on is not None and ts.date >= e.withdrawn_on:
            mark = None
        else:
            m = marks.get(e.trainee_id)
            mark = m.mark if m else virtual
        m = marks.get(e.trainee_id)
        rows.append(SessionRosterRow(trainee_id=e.trainee_id, name=e.name, status=e.status, mark=mark,
                                     check_in_at=_aware(m.check_in_at, settings) if m else None,
                                     check_out_at=_aware(m.check_out_at, settings) if m else None))
    return SessionRoster(session=session_out(ts), rows=rows)
