"""Cohorts, sessions and rosters, kept from enrollment's events; the staff views of them."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, select
from sqlmodel import Session

from services.attendance.adapters.orm import Cohort, Mark, RosterEntry, TrainingSession
from services.attendance.schemas import CohortOut, RosterRow, SessionOut
from shared import events
from shared.auth import Principal
from shared.consumer import PermanentEventError
from shared.db import insert_for, utcnow
from shared.queries import get_visible, in_campuses


def session_id_for(cohort_id: uuid.UUID, day: date, start: object) -> uuid.UUID:
    """The same slot of the same cohort always has the same id, whichever event brought it."""
    return uuid.uuid5(cohort_id, f"{day.isoformat()}T{start}")


def upsert_cohort(session: Session, snap: events.CohortSnapshot) -> Cohort:
    """Create or refresh the cohort and its sessions from a snapshot; unchanged snapshots cost one read."""
    digest = hashlib.sha256(snap.model_dump_json().encode()).hexdigest()
    cohort = session.get(Cohort, snap.cohort_id)
    if cohort is not None and (cohort.snapshot_hash == digest or cohort.closed_at is not None):
        return cohort
    fields = dict(campus=snap.campus, programme_code=snap.programme_code, programme_title=snap.programme_title,
                  track=snap.track, total_hours=snap.total_hours, completion_threshold=snap.completion_threshold,
                  qualification_codes=list(snap.qualification_codes), start_date=snap.start_date,
                  end_date=snap.end_date, snapshot_hash=digest, updated_at=utcnow())
    if cohort is None:
        cohort = Cohort(id=snap.cohort_id, **fields)
        session.add(cohort)
        existing: dict[uuid.UUID, TrainingSession] = {}
    else:
        for k, v in fields.items():
            setattr(cohort, k, v)
        existing = {s.id: s for s in session.execute(
            select(TrainingSession).where(TrainingSession.cohort_id == cohort.id)).scalars()}
    session.flush()
    wanted = set()
    for slot in snap.sessions:
        sid = session_id_for(snap.cohort_id, slot.date, slot.start)
        wanted.add(sid)
        current = existing.get(sid)
        if current is None:
            session.add(TrainingSession(id=sid, cohort_id=snap.cohort_id, date=slot.date, start=slot.start,
                                        end=slot.end, hours=slot.hours))
        else:
            current.end, current.hours = slot.end, slot.hours
    gone = [sid for sid in existing if sid not in wanted]
    if gone:
        marked = set(session.execute(select(Mark.session_id).where(Mark.session_id.in_(gone))).scalars())
        removable = [sid for sid in gone if sid not in marked]
        if removable:
            session.execute(delete(TrainingSession).where(TrainingSession.id.in_(removable)))
    session.flush()
    return cohort


def enroll(session: Session, data: events.TraineeEnrolled) -> RosterEntry:
    cohort = upsert_cohort(session, data.cohort)
    entry = session.execute(select(RosterEntry).where(RosterEntry.cohort_id == cohort.id,
                                                      RosterEntry.trainee_id == data.trainee_id)).scalar_one_or_none()
    if entry is None:
        entry = RosterEntry(cohort_id=cohort.id, trainee_id=data.trainee_id, enrollment_id=data.enrollment_id,
                            campus=cohort.campus, name=data.name, enrolled_on=data.enrolled_on)
        session.add(entry)
    else:
        entry.name, entry.enrollment_id, entry.updated_at = data.name, data.enrollment_id, utcnow()
    session.flush()
    return entry


def enroll_many(session: Session, items: list[events.TraineeEnrolled]) -> None:
    """What ``enroll`` does for each item in order, with one cohort upsert and one roster statement per snapshot.

    Cohorts do not touch each other, so items are taken cohort by cohort, in order within
    each. A cohort's consecutive items that carry the same snapshot are applied together:
    the snapshot once, then one INSERT ... ON CONFLICT DO UPDATE of their roster entries.
    A trainee twice in such a group gets one row: inserted as the first item would
    insert it, with the name and enrollment of the last, as the updates would leave it.
    """
    by_cohort: dict[uuid.UUID, list[events.TraineeEnrolled]] = {}
    for item in items:
        by_cohort.setdefault(item.cohort.cohort_id, []).append(item)
    for group in by_cohort.values():
        start = 0
        for i in range(1, len(group) + 1):
            if i == len(group) or not _same_snapshot(group[i].cohort, group[start].cohort):
                _enroll_same_snapshot(session, group[start:i])
                start = i


def _same_snapshot(a: events.CohortSnapshot, b: events.CohortSnapshot) -> bool:
    return a is b or a == b


def _roster_upsert_pg() -> Any:
    """PostgreSQL: a group's roster entries as one array per column, one statement compiled and prepared once."""
    from sqlalchemy.dialects.postgresql import ARRAY, insert as pg_insert

    t = RosterEntry.__table__
    each = lambda name, column: func.unnest(bindparam(name, type_=ARRAY(column.type)))  # noqa: E731
    rows = select(each("ids", t.c.id), bindparam("cohort_id", type_=t.c.cohort_id.type),
                  each("trainee_ids", t.c.trainee_id), each("enrollment_ids", t.c.enrollment_id),
                  bindparam("campus", type_=t.c.campus.type), each("names", t.c.name),
                  each("enrolled_on", t.c.enrolled_on), literal("active"), literal(False),
                  bindparam("now", type_=t.c.updated_at.type))
    statement = pg_insert(t).from_select(["id", "cohort_id", "trainee_id", "enrollment_id", "campus", "name",
                                          "enrolled_on", "status", "at_risk", "updated_at"], rows)
    return statement.on_conflict_do_update(
        index_elements=[t.c.cohort_id, t.c.trainee_id],
        set_=dict(name=statement.excluded.name, enrollment_id=statement.excluded.enrollment_id,
                  updated_at=statement.excluded.updated_at))


_ROSTER_UPSERT_PG = _roster_upsert_pg()


def _enroll_same_snapshot(session: Session, items: list[events.TraineeEnrolled]) -> None:
    cohort = upsert_cohort(session, items[0].cohort)
    latest: dict[uuid.UUID, events.TraineeEnrolled] = {}
    first: dict[uuid.UUID, events.TraineeEnrolled] = {}
    for data in items:
        first.setdefault(data.trainee_id, data)  # inserted as the first would insert it
        latest[data.trainee_id] = data           # with the name and enrollment the later ones leave
    now = utcnow()
    session.flush()  # entries changed through the ORM earlier in the transaction are written first
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_ROSTER_UPSERT_PG, dict(
            ids=[uuid.uuid4() for _ in first], cohort_id=cohort.id, trainee_ids=list(first),
            enrollment_ids=[latest[t].enrollment_id for t in first], campus=cohort.campus,
            names=[latest[t].name for t in first], enrolled_on=[d.enrolled_on for d in first.values()], now=now))
    else:
        table = RosterEntry.__table__
        statement = insert_for(session)(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.cohort_id, table.c.trainee_id],
            set_=dict(name=statement.excluded.name, enrollment_id=statement.excluded.enrollment_id,
                      updated_at=statement.excluded.updated_at))
        session.execute(statement, [dict(id=uuid.uuid4(), cohort_id=cohort.id, trainee_id=t,
                                         enrollment_id=latest[t].enrollment_id, campus=cohort.campus,
                                         name=latest[t].name, enrolled_on=d.enrolled_on, status="active",
                                         at_risk=False, updated_at=now) for t, d in first.items()])
    # entries loaded earlier in the transaction are read again when next used
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RosterEntry) and obj.cohort_id == cohort.id and obj.trainee_id in first:
            session.expire(obj)


def withdraw(session: Session, data: events.TraineeWithdrawn) -> None:
    entry = session.execute(select(RosterEntry).where(RosterEntry.cohort_id == data.cohort_id,
                                                      RosterEntry.trainee_id == data.trainee_id)).scalar_one_or_none()
    if entry is None:
        raise PermanentEventError("withdrawal of a trainee who is not on the cohort's roster")
    entry.status, entry.withdrawn_on, entry.withdraw_reason = "withdrawn", data.date, data.reason
    entry.updated_at = utcnow()


# -- staff views --------------------------------------------------------------
def load_cohort(session: Session, *, principal: Principal, cohort_id: uuid.UUID, lock: bool = False) -> Cohort:
    return get_visible(session, Cohort, cohort_id, principal, "cohort", lock=lock)


def sessions_of(session: Session, cohort_id: uuid.UUID) -> list[TrainingSession]:
    return list(session.execute(select(TrainingSession).where(TrainingSession.cohort_id == cohort_id)
                                .order_by(TrainingSession.date, TrainingSession.start)).scalars())


def session_out(s: TrainingSession) -> SessionOut:
    return SessionOut(id=s.id, cohort_id=s.cohort_id, date=s.date, start=s.start, end=s.end, hours=s.hours)


def cohort_out(session: Session, cohort: Cohort) -> CohortOut:
    n_sessions = session.execute(select(func.count()).where(TrainingSession.cohort_id == cohort.id)).scalar_one()
    n_roster = session.execute(select(func.count()).where(RosterEntry.cohort_id == cohort.id)).scalar_one()
    return CohortOut(id=cohort.id, campus=cohort.campus, programme_code=cohort.programme_code,
                     programme_title=cohort.programme_title, completion_threshold=cohort.completion_threshold,
                     qualification_codes=cohort.qualification_codes, start_date=cohort.start_date,
                     end_date=cohort.end_date, session_count=n_sessions, roster_size=n_roster,
                     closed_on=cohort.closed_on)


def roster_of(session: Session, cohort_id: uuid.UUID) -> list[RosterEntry]:
    return list(session.execute(select(RosterEntry).where(RosterEntry.cohort_id == cohort_id)
                                .order_by(RosterEntry.name, RosterEntry.trainee_id)).scalars())


def roster_row(e: RosterEntry) -> RosterRow:
    return RosterRow(trainee_id=e.trainee_id, name=e.name, status=e.status, enrolled_on=e.enrolled_on,
                     withdrawn_on=e.withdrawn_on, at_risk=e.at_risk, current_rate=e.current_rate,
                     max_possible_rate=e.max_possible_rate)


def list_cohorts(session: Session, *, principal: Principal, campus: str | None):  # type: ignore[no-untyped-def]
    query = select(Cohort).order_by(Cohort.start_date, Cohort.id)
    query = in_campuses(query, Cohort.campus, principal)
    if campus:
        query = query.where(Cohort.campus == campus)
    return query
