"""An in-memory ``AttendanceRepository`` for the use-case tests: the same methods, the same ORM objects, in dicts.

It keeps what the real one keeps and answers as it answers (ordering, campus scope, the conditional at-risk
flip, insert-if-none of a first mark), without a database. It does not roll back changes made to the objects
it handed out: the use cases refuse before they change anything, which is what the tests check.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any

from services.attendance.adapters.orm import (
    AtRiskWarning,
    Cohort,
    Completion,
    Mark,
    MarkChange,
    PendingEnrollment,
    RosterEntry,
    TrainingSession,
)
from services.attendance.adapters.repository import (
    CheckInTarget,
    CohortGate,
    NewMark,
    PunchedMark,
    RosterGate,
    SessionSlot,
)
from shared.auth import Principal
from shared.pagination import PageParams
from shared.problems import not_found


class FakeAttendanceRepository:
    def __init__(self) -> None:
        self.cohorts: dict[uuid.UUID, Cohort] = {}
        self.sessions: dict[uuid.UUID, TrainingSession] = {}
        self.roster: dict[tuple[uuid.UUID, uuid.UUID], RosterEntry] = {}
        self.marks: dict[tuple[uuid.UUID, uuid.UUID], Mark] = {}
        self.changes: list[MarkChange] = []
        self.completions: dict[tuple[uuid.UUID, uuid.UUID], Completion] = {}
        self.warnings: list[AtRiskWarning] = []
        self.locked: list[uuid.UUID] = []  # cohorts locked, in order
        self.pending: dict[tuple[uuid.UUID, uuid.UUID], PendingEnrollment] = {}

    # -- cohorts and their timetables ---------------------------------------------------------------
    def cohort(self, cohort_id: uuid.UUID) -> Cohort | None:
        return self.cohorts.get(cohort_id)

    def visible_cohort(self, principal: Principal, cohort_id: uuid.UUID, *, lock: bool = False) -> Cohort:
        cohort = self.cohorts.get(cohort_id)
        if cohort is None or not principal.sees_campus(cohort.campus):
            raise not_found("cohort", cohort_id)
        if lock:
            self.locked.append(cohort_id)
        return cohort

    def lock_cohort(self, cohort_id: uuid.UUID) -> Cohort:
        self.locked.append(cohort_id)
        return self.cohorts[cohort_id]

    def add_cohort(self, cohort: Cohort) -> None:
        self.cohorts[cohort.id] = cohort

    def cohort_page(self, principal: Principal, campus: str | None, page: PageParams) -> tuple[list[Cohort], int]:
        scope = principal.campus_filter()
        found = sorted(
            (
                c
                for c in self.cohorts.values()
                if (scope is None or c.campus in scope) and (not campus or c.campus == campus)
            ),
            key=lambda c: (c.start_date, c.id),
        )
        return found[page.offset : page.offset + page.limit], len(found)

    def cohort_sizes(self, cohort_id: uuid.UUID) -> tuple[int, int]:
        return (
            sum(1 for s in self.sessions.values() if s.cohort_id == cohort_id and not s.cancelled),
            sum(1 for e in self.roster.values() if e.cohort_id == cohort_id),
        )

    def ended_cohort_ids(self, today: date) -> list[uuid.UUID]:
        return [c.id for c in self.cohorts.values() if c.closed_at is None and c.end_date < today]

    def running_cohort_ids(self, today: date) -> list[uuid.UUID]:
        return [c.id for c in self.cohorts.values() if c.closed_at is None and c.start_date <= today <= c.end_date]

    def sessions_of(self, cohort_id: uuid.UUID, *, with_cancelled: bool = False) -> list[TrainingSession]:
        return sorted(
            (s for s in self.sessions.values() if s.cohort_id == cohort_id and (with_cancelled or not s.cancelled)),
            key=lambda s: (s.date, s.start),
        )

    def training_session(self, session_id: uuid.UUID) -> TrainingSession | None:
        return self.sessions.get(session_id)

    def save_timetable(self, added: list[TrainingSession], gone: list[uuid.UUID]) -> None:
        for s in added:
            self.sessions[s.id] = s
        marked = {sid for sid, _ in self.marks}
        for sid in gone:
            if sid not in marked:
                del self.sessions[sid]
            else:
                self.sessions[sid].cancelled = True

    # -- enrollments held until their cohort's plan arrives ---------------------------------------
    def hold_enrollments(self, rows: list[PendingEnrollment]) -> None:
        for row in rows:
            held = self.pending.get((row.cohort_id, row.trainee_id))
            if held is None:
                self.pending[(row.cohort_id, row.trainee_id)] = row
            else:
                held.plan_version, held.data, held.received_at = row.plan_version, row.data, row.received_at
                held.withdrawn_on = held.withdraw_reason = None

    def pending_enrollment(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID) -> PendingEnrollment | None:
        return self.pending.get((cohort_id, trainee_id))

    def pending_enrollments(self, cohort_id: uuid.UUID, up_to_version: int) -> list[PendingEnrollment]:
        return [p for p in self.pending.values() if p.cohort_id == cohort_id and p.plan_version <= up_to_version]

    def release_pending(self, rows: list[PendingEnrollment]) -> None:
        for row in rows:
            self.pending.pop((row.cohort_id, row.trainee_id), None)

    # -- rosters -----------------------------------------------------------------------------------
    def roster_entry(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID | None) -> RosterEntry | None:
        return self.roster.get((cohort_id, trainee_id)) if trainee_id else None

    def on_roster(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID | None) -> bool:
        return self.roster_entry(cohort_id, trainee_id) is not None

    def roster_entries(self, cohort_id: uuid.UUID, trainee_ids: list[uuid.UUID]) -> dict[uuid.UUID, RosterEntry]:
        return {t: self.roster[(cohort_id, t)] for t in trainee_ids if (cohort_id, t) in self.roster}

    def readings_target(
        self, cohort_id: uuid.UUID, session_id: uuid.UUID, trainee_ids: list[uuid.UUID]
    ) -> tuple[dict[uuid.UUID, RosterGate], dict[uuid.UUID, Mark]]:
        gates = {
            t: RosterGate(t, e.enrolled_on, e.withdrawn_on, e.at_risk)
            for t, e in self.roster_entries(cohort_id, trainee_ids).items()
        }
        return gates, self.lock_marks(session_id, trainee_ids)

    def roster_of(self, cohort_id: uuid.UUID, *, active_only: bool = False, by_name: bool = True) -> list[RosterEntry]:
        found = [
            e for e in self.roster.values() if e.cohort_id == cohort_id and (not active_only or e.status == "active")
        ]
        return sorted(found, key=lambda e: (e.name, str(e.trainee_id))) if by_name else found

    def add_roster_entry(self, entry: RosterEntry) -> None:
        self.roster[(entry.cohort_id, entry.trainee_id)] = entry

    def upsert_roster(self, cohort: Cohort, first: dict[uuid.UUID, Any], latest: dict[uuid.UUID, Any]) -> None:
        for t, data in first.items():
            entry = self.roster.get((cohort.id, t))
            if entry is None:
                self.roster[(cohort.id, t)] = RosterEntry(
                    cohort_id=cohort.id,
                    trainee_id=t,
                    enrollment_id=latest[t].enrollment_id,
                    campus=cohort.campus,
                    name=latest[t].name,
                    enrolled_on=data.enrolled_on,
                )
            else:
                entry.name, entry.enrollment_id = latest[t].name, latest[t].enrollment_id

    def trainee_cohorts(
        self, trainee_id: uuid.UUID, cohort_id: uuid.UUID | None = None
    ) -> list[tuple[RosterEntry, Cohort]]:
        rows = [
            (e, self.cohorts[c])
            for (c, t), e in self.roster.items()
            if t == trainee_id and (not cohort_id or c == cohort_id)
        ]
        return sorted(rows, key=lambda row: row[1].start_date)

    def cohorts_of_trainee(self, trainee_id: uuid.UUID) -> list[Cohort]:
        return [self.cohorts[c] for (c, t) in self.roster if t == trainee_id]

    def at_risk_page(
        self, principal: Principal, campus: str | None, cohort_id: uuid.UUID | None, page: PageParams
    ) -> tuple[list[RosterEntry], int]:
        scope = principal.campus_filter()
        found = sorted(
            (
                e
                for e in self.roster.values()
                if e.at_risk
                and e.status == "active"
                and (scope is None or e.campus in scope)
                and (not campus or e.campus == campus)
                and (not cohort_id or e.cohort_id == cohort_id)
            ),
            key=lambda e: (e.campus, str(e.cohort_id), e.current_rate or 0, str(e.trainee_id)),
        )
        return found[page.offset : page.offset + page.limit], len(found)

    # -- standing ------------------------------------------------------------------------------------
    def marks_by_trainee(
        self, cohort_id: uuid.UUID, trainee_ids: list[uuid.UUID] | None = None
    ) -> dict[uuid.UUID, dict[uuid.UUID, str]]:
        out: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
        for m in self.marks.values():
            if m.cohort_id == cohort_id and (trainee_ids is None or m.trainee_id in trainee_ids):
                out[m.trainee_id][m.session_id] = m.mark
        return out

    def save_standing(
        self, entry: RosterEntry, *, current_rate: float, max_possible_rate: float, at_risk_reason: str | None
    ) -> bool:
        stored = self.roster[(entry.cohort_id, entry.trainee_id)]
        flipped = stored.at_risk == (at_risk_reason is None)
        for target in {id(stored): stored, id(entry): entry}.values():
            target.current_rate, target.max_possible_rate = current_rate, max_possible_rate
            target.at_risk_reason, target.at_risk = at_risk_reason, at_risk_reason is not None
        return flipped

    def add_warning(self, warning: AtRiskWarning) -> None:
        self.warnings.append(warning)

    def standing_written(self) -> None:
        pass

    def completion(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID) -> Completion | None:
        return self.completions.get((cohort_id, trainee_id))

    def decided_trainees(self, cohort_id: uuid.UUID) -> set[uuid.UUID]:
        return {t for c, t in self.completions if c == cohort_id}

    def completions_of(self, cohort_id: uuid.UUID) -> dict[uuid.UUID, Completion]:
        return {t: d for (c, t), d in self.completions.items() if c == cohort_id}

    def add_completions(self, decisions: list[Completion]) -> None:
        for d in decisions:
            assert (d.cohort_id, d.trainee_id) not in self.completions, "decided twice"
            self.completions[(d.cohort_id, d.trainee_id)] = d

    # -- marks --------------------------------------------------------------------------------------
    def session_target(self, session_id: uuid.UUID) -> tuple[SessionSlot, CohortGate] | None:
        found = self.check_in_target(session_id, uuid.uuid4())
        return None if found is None else (found.session, found.cohort)

    def check_in_target(self, session_id: uuid.UUID, trainee_id: uuid.UUID) -> CheckInTarget | None:
        ts = self.sessions.get(session_id)
        if ts is None:
            return None
        cohort = self.cohorts[ts.cohort_id]
        entry = self.roster.get((ts.cohort_id, trainee_id))
        return CheckInTarget(
            SessionSlot(*(getattr(ts, f) for f in SessionSlot._fields)),
            CohortGate(*(getattr(cohort, f) for f in CohortGate._fields)),
            None if entry is None else RosterGate(*(getattr(entry, f) for f in RosterGate._fields)),
        )

    def mark_to_punch(self, session_id: uuid.UUID, trainee_id: uuid.UUID) -> PunchedMark | None:
        m = self.marks.get((session_id, trainee_id))
        return None if m is None else PunchedMark(*(getattr(m, f.name) for f in fields(PunchedMark)))

    def add_first_mark(self, mark: PunchedMark) -> bool:
        if (mark.session_id, mark.trainee_id) in self.marks:
            return False
        self.marks[(mark.session_id, mark.trainee_id)] = Mark(**asdict(mark))
        return True

    def save_punches(self, row: PunchedMark) -> None:
        stored = self.marks[(row.session_id, row.trainee_id)]
        for name in ("mark", "punches", "check_in_at", "check_out_at", "updated_by", "updated_at"):
            setattr(stored, name, getattr(row, name))

    def lock_marks(self, session_id: uuid.UUID, trainee_ids: list[uuid.UUID]) -> dict[uuid.UUID, Mark]:
        return {t: self.marks[(session_id, t)] for t in trainee_ids if (session_id, t) in self.marks}

    def add_marks(
        self, session_id: uuid.UUID, cohort_id: uuid.UUID, writer: str, at: datetime, marks: Iterable[NewMark]
    ) -> None:
        for new in marks:
            mark = Mark(
                **new._asdict(),
                session_id=session_id,
                cohort_id=cohort_id,
                source="punches",
                updated_by=writer,
                updated_at=at,
            )
            assert (mark.session_id, mark.trainee_id) not in self.marks, "uq_mark_session_trainee"
            self.marks[(mark.session_id, mark.trainee_id)] = mark

    def mark(self, session_id: uuid.UUID, trainee_id: uuid.UUID, *, lock: bool = False) -> Mark | None:
        return self.marks.get((session_id, trainee_id))

    def marks_of_session(self, session_id: uuid.UUID) -> dict[uuid.UUID, Mark]:
        return {t: m for (s, t), m in self.marks.items() if s == session_id}

    def add_mark(self, row: Mark) -> None:
        self.marks[(row.session_id, row.trainee_id)] = row

    def record_change(self, change: MarkChange) -> None:
        self.changes.append(change)

    def mark_history(self, session_id: uuid.UUID, trainee_id: uuid.UUID) -> list[MarkChange]:
        return [c for c in self.changes if c.session_id == session_id and c.trainee_id == trainee_id]

    def timetable_with_marks(
        self, trainee_id: uuid.UUID, cohort_ids: list[uuid.UUID], date_from: date | None, date_to: date | None
    ) -> list[tuple[TrainingSession, Mark | None]]:
        return [
            (s, self.marks.get((s.id, trainee_id)))
            for s in sorted(self.sessions.values(), key=lambda s: (s.date, s.start))
            if s.cohort_id in cohort_ids
            and not s.cancelled
            and (not date_from or s.date >= date_from)
            and (not date_to or s.date <= date_to)
        ]
