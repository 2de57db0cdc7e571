"""Cohorts, sessions and rosters, kept from enrollment's events; the staff views of them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from services.attendance.adapters.orm import Cohort, Completion, PendingEnrollment, RosterEntry, TrainingSession
from services.attendance.adapters.repository import AttendanceRepository
from services.attendance.schemas import CohortOut, RosterRow, SessionOut
from shared import events
from shared.auth import Principal
from shared.consumer import PermanentEventError
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[AttendanceRepository]


def session_id_for(cohort_id: uuid.UUID, day: date, start: object) -> uuid.UUID:
    """The same slot of the same cohort always has the same id, whichever event brought it."""
    return uuid.uuid5(cohort_id, f"{day.isoformat()}T{start}")


# -- from enrollment's events (the consumer's unit of work is open: these never commit) -----------------
def upsert_cohort(repo: AttendanceRepository, snap: events.CohortSnapshot) -> Cohort:
    """Create or refresh the cohort and its sessions from a snapshot; unchanged snapshots cost one read.

    A snapshot of an older plan version than the one kept (an earlier-form trainee.enrolled still in flight)
    changes nothing; neither does any snapshot once the cohort is closed. Sessions the plan no longer has
    leave it (kept, out of the plan, when somebody has a mark on them: see ``save_timetable``)."""
    digest = hashlib.sha256(snap.model_dump_json(include=SNAPSHOT_FIELDS).encode()).hexdigest()
    cohort = repo.cohort(snap.cohort_id)
    if cohort is not None and (
        cohort.snapshot_hash == digest or cohort.closed_at is not None or snap.plan_version < cohort.plan_version
    ):
        return cohort
    fields = dict(
        campus=snap.campus,
        programme_code=snap.programme_code,
        programme_title=snap.programme_title,
        track=snap.track,
        total_hours=snap.total_hours,
        completion_threshold=snap.completion_threshold,
        qualification_codes=list(snap.qualification_codes),
        start_date=snap.start_date,
        end_date=snap.end_date,
        plan_version=snap.plan_version,
        snapshot_hash=digest,
        updated_at=utcnow(),
    )
    if cohort is None:
        cohort = Cohort(id=snap.cohort_id, **fields)
        repo.add_cohort(cohort)
        existing: dict[uuid.UUID, TrainingSession] = {}
    else:
        for k, v in fields.items():
            setattr(cohort, k, v)
        existing = {s.id: s for s in repo.sessions_of(cohort.id, with_cancelled=True)}
    wanted = set()
    added = []
    for slot in snap.sessions:
        sid = session_id_for(snap.cohort_id, slot.date, slot.start)
        wanted.add(sid)
        current = existing.get(sid)
        if current is None:
            added.append(
                TrainingSession(
                    id=sid, cohort_id=snap.cohort_id, date=slot.date, start=slot.start, end=slot.end, hours=slot.hours
                )
            )
        else:
            current.end, current.hours, current.cancelled = slot.end, slot.hours, False
    repo.save_timetable(added, gone=[sid for sid in existing if sid not in wanted])
    return cohort


def enroll(repo: AttendanceRepository, data: events.TraineeEnrolled) -> RosterEntry | None:
    cohort = cohort_or_hold(repo, [data])
    if cohort is None:
        return None
    entry = repo.roster_entry(cohort.id, data.trainee_id)
    if entry is None:
        entry = RosterEntry(
            cohort_id=cohort.id,
            trainee_id=data.trainee_id,
            enrollment_id=data.enrollment_id,
            campus=cohort.campus,
            name=data.name,
            enrolled_on=data.enrolled_on,
        )
        repo.add_roster_entry(entry)
    else:
        entry.name, entry.enrollment_id, entry.updated_at = data.name, data.enrollment_id, utcnow()
    return entry


def enroll_many(repo: AttendanceRepository, items: list[events.TraineeEnrolled]) -> None:
    """What ``enroll`` does for each item in order, with one cohort upsert and one roster statement per snapshot.

    Cohorts do not touch each other, so items are taken cohort by cohort, in order within
    each. A cohort's consecutive items that carry the same snapshot are applied together:
    the snapshot once, then one upsert of their roster entries. A trainee twice in such a
    group gets one row: inserted as the first item would insert it, with the name and
    enrollment of the last, as the updates would leave it.
    """
    by_cohort: dict[uuid.UUID, list[events.TraineeEnrolled]] = {}
    for item in items:
        by_cohort.setdefault(item.cohort_id, []).append(item)
    for group in by_cohort.values():
        start = 0
        for i in range(1, len(group) + 1):
            if i == len(group) or not _same_snapshot(group[i].cohort, group[start].cohort):
                _enroll_same_snapshot(repo, group[start:i])
                start = i


def _same_snapshot(a: events.CohortSnapshot | None, b: events.CohortSnapshot | None) -> bool:
    return a is b or a == b


def _enroll_same_snapshot(repo: AttendanceRepository, items: list[events.TraineeEnrolled]) -> None:
    cohort = cohort_or_hold(repo, items)
    if cohort is None:
        return
    latest: dict[uuid.UUID, events.TraineeEnrolled] = {}
    first: dict[uuid.UUID, events.TraineeEnrolled] = {}
    for data in items:
        first.setdefault(data.trainee_id, data)  # inserted as the first would insert it
        latest[data.trainee_id] = data  # with the name and enrollment the later ones leave
    repo.upsert_roster(cohort, first, latest)


def withdraw(repo: AttendanceRepository, data: events.TraineeWithdrawn) -> None:
    entry = repo.roster_entry(data.cohort_id, data.trainee_id)
    if entry is None and withdraw_held(repo, data):
        return
    if entry is None:
        raise PermanentEventError("withdrawal of a trainee who is not on the cohort's roster")
    entry.status, entry.withdrawn_on, entry.withdraw_reason = "withdrawn", data.date, data.reason
    entry.updated_at = utcnow()


# -- enrollments that arrive before their cohort's plan ----------------------------------------------------
SNAPSHOT_FIELDS = set(events.CohortSnapshot.model_fields)  # what a cohort event says of the plan itself


def cohort_or_hold(repo: AttendanceRepository, items: list[events.TraineeEnrolled]) -> Cohort | None:
    """The cohort these enrollments (one cohort's, one form) join, or None when they are held.

    An earlier-form enrollment carries the plan itself: its snapshot is applied as before. A slim one names
    the plan version it was made against; until the cohort's plan at that version (or a later one) has
    arrived on the cohort's events, the enrollment is held and applied when it does (``release_held``)."""
    first = items[0]
    if first.cohort is not None:
        return upsert_cohort(repo, first.cohort)
    cohort = repo.cohort(first.cohort_id)
    needed = max(item.plan_version for item in items)
    if cohort is not None and (cohort.plan_version >= needed or cohort.closed_at is not None):
        return cohort  # a closed cohort takes no new plan: its late enrollments join it and are decided at once
    repo.hold_enrollments(
        [
            PendingEnrollment(
                cohort_id=item.cohort_id,
                trainee_id=item.trainee_id,
                plan_version=item.plan_version,
                data=item.model_dump(mode="json"),
            )
            for item in items
        ]
    )
    return None


def release_held(repo: AttendanceRepository, cohort: Cohort) -> list[RosterEntry]:
    """Apply the held enrollments that the cohort's plan now covers, in the order they came; returns their
    roster entries. A closed cohort takes no new plan, so it releases every enrollment held for it, whatever
    plan version it was made against: nobody waits for a plan that will never be applied."""
    up_to = cohort.plan_version if cohort.closed_at is None else 2**31 - 1
    rows = repo.pending_enrollments(cohort.id, up_to)
    entries = []
    for row in rows:
        entry = enroll(repo, events.TraineeEnrolled.model_validate(row.data))
        if entry is None:
            continue
        if row.withdrawn_on is not None:
            entry.status, entry.withdrawn_on, entry.withdraw_reason = "withdrawn", row.withdrawn_on, row.withdraw_reason
            entry.updated_at = utcnow()
        entries.append(entry)
    repo.release_pending(rows)
    return entries


def withdraw_held(repo: AttendanceRepository, data: events.TraineeWithdrawn) -> bool:
    """A withdrawal of an enrollment still held: kept with it, applied when it is. False if none is held."""
    held = repo.pending_enrollment(data.cohort_id, data.trainee_id)
    if held is None:
        return False
    held.withdrawn_on, held.withdraw_reason = data.date, data.reason
    return True


def apply_plan(repo: AttendanceRepository, snap: events.CohortSnapshot) -> tuple[Cohort, list[RosterEntry]]:
    """A cohort event (published or rescheduled): the plan kept, then the enrollments it was awaited by (their
    entries are returned: if the cohort is closed by now, they are to be decided at once)."""
    cohort = upsert_cohort(repo, snap)
    return cohort, release_held(repo, cohort)


# -- staff views --------------------------------------------------------------
def session_out(s: TrainingSession) -> SessionOut:
    return SessionOut(id=s.id, cohort_id=s.cohort_id, date=s.date, start=s.start, end=s.end, hours=s.hours)


def cohort_out(repo: AttendanceRepository, cohort: Cohort) -> CohortOut:
    n_sessions, n_roster = repo.cohort_sizes(cohort.id)
    return CohortOut(
        id=cohort.id,
        campus=cohort.campus,
        programme_code=cohort.programme_code,
        programme_title=cohort.programme_title,
        completion_threshold=cohort.completion_threshold,
        qualification_codes=cohort.qualification_codes,
        start_date=cohort.start_date,
        end_date=cohort.end_date,
        session_count=n_sessions,
        roster_size=n_roster,
        closed_on=cohort.closed_on,
    )


def roster_row(e: RosterEntry, decision: Completion | None = None) -> RosterRow:
    return RosterRow(
        trainee_id=e.trainee_id,
        name=e.name,
        status=e.status,
        enrolled_on=e.enrolled_on,
        withdrawn_on=e.withdrawn_on,
        at_risk=e.at_risk,
        current_rate=e.current_rate,
        max_possible_rate=e.max_possible_rate,
        outcome=decision.outcome if decision else None,
        decided_at=decision.decided_at if decision else None,
        late_decision=decision.late if decision else False,
    )


def list_cohorts(uow: Uow, *, principal: Principal, campus: str | None, page: PageParams) -> Page[CohortOut]:
    with uow:
        items, total = uow.repo.cohort_page(principal, campus, page)
        return Page(items=[cohort_out(uow.repo, c) for c in items], total=total, limit=page.limit, offset=page.offset)


def get_cohort(uow: Uow, *, principal: Principal, cohort_id: uuid.UUID) -> CohortOut:
    with uow:
        return cohort_out(uow.repo, uow.repo.visible_cohort(principal, cohort_id))


def cohort_sessions(uow: Uow, *, principal: Principal, cohort_id: uuid.UUID) -> list[SessionOut]:
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id)
        return [session_out(s) for s in uow.repo.sessions_of(cohort.id)]


def cohort_roster(uow: Uow, *, principal: Principal, cohort_id: uuid.UUID) -> list[RosterRow]:
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id)
        decisions = uow.repo.completions_of(cohort.id) if cohort.closed_at is not None else {}
        return [roster_row(e, decisions.get(e.trainee_id)) for e in uow.repo.roster_of(cohort.id)]
