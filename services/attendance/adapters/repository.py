"""Attendance's repository: every statement, lock, upsert and per-database branch the use cases need.

The use cases (``service_layer/``) load through it, ask the domain, change the rows it gave them and let the
unit of work commit. Methods are named by what they mean for attendance; the SQL stays here.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any, NamedTuple

from pydantic_core import to_json
from sqlalchemy import (
    String,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

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
from shared.auth import Principal
from shared.db import fast_execute, insert_for, per_dialect, pg_driver, utcnow
from shared.pagination import PageParams, paginate
from shared.queries import get_visible, in_campuses, where_given


class FirstMarkRace(Exception):
    """Another request wrote the first mark of one of these trainees after we looked (none was there to lock)."""


def _breaks_first_mark_uniqueness(exc: IntegrityError) -> bool:
    """Whether ``exc`` is uq_mark_session_trainee's refusal (PostgreSQL names the constraint; SQLite its columns)."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) == "uq_mark_session_trainee"
    return "UNIQUE constraint failed: mark.session_id, mark.trainee_id" in str(orig)


class RosterGate(NamedTuple):
    """What a reading needs of a trainee's roster entry: whether the session is theirs, and whether a changed
    mark must be evaluated (an at-risk trainee may be lifted)."""

    trainee_id: uuid.UUID
    enrolled_on: date | None
    withdrawn_on: date | None
    at_risk: bool


class NewMark(NamedTuple):
    """A first mark of a trainee for a session, from punches (see ``add_marks``)."""

    trainee_id: uuid.UUID
    mark: str
    punches: list[dict[str, Any]]
    check_in_at: datetime | None
    check_out_at: datetime | None


class SessionSlot(NamedTuple):
    """What a single reading needs of its session: the columns of ``TrainingSession``, as plain values."""

    id: uuid.UUID
    cohort_id: uuid.UUID
    date: date
    start: time
    end: time
    hours: float
    cancelled: bool


class CohortGate(NamedTuple):
    """What a single reading needs of its cohort: whose campus it is, and whether it is closed."""

    id: uuid.UUID
    campus: str
    closed_at: datetime | None
    closed_on: date | None


class CheckInTarget(NamedTuple):
    session: SessionSlot
    cohort: CohortGate
    gate: RosterGate | None  # None: the trainee is not on the cohort's roster


@dataclass(slots=True)
class PunchedMark:
    """A trainee's mark of a session as a single reading changes it: the columns of ``Mark`` as plain values
    (building the ORM entity cost a check-in more than reading its row did)."""

    id: uuid.UUID
    session_id: uuid.UUID
    cohort_id: uuid.UUID
    trainee_id: uuid.UUID
    mark: str
    source: str
    punches: list[dict[str, Any]]
    check_in_at: datetime | None
    check_out_at: datetime | None
    reason_code: str | None
    evidence_ref: str | None
    updated_by: str
    updated_at: datetime


def _roster_upsert_pg() -> Any:
    """PostgreSQL: a group's roster entries as one array per column, one statement compiled and prepared once."""
    t = RosterEntry.__table__  # type: ignore[attr-defined]

    def each(name: str, column: Any) -> Any:
        # Strings travel as text[], not as the column's VARCHAR(n)[]: an explicit cast to VARCHAR(n) cuts a longer
        # value silently, while the insert's assignment to the column refuses it, as the one-by-one path does.
        kind = Text() if isinstance(getattr(column.type, "impl", column.type), String) else column.type
        return func.unnest(bindparam(name, type_=ARRAY(kind)))

    rows = select(
        each("ids", t.c.id),
        bindparam("cohort_id", type_=t.c.cohort_id.type),
        each("trainee_ids", t.c.trainee_id),
        each("enrollment_ids", t.c.enrollment_id),
        bindparam("campus", type_=t.c.campus.type),
        each("names", t.c.name),
        each("enrolled_on", t.c.enrolled_on),
        literal("active"),
        literal(False),
        bindparam("now", type_=t.c.updated_at.type),
    )
    statement = pg_insert(t).from_select(
        [
            "id",
            "cohort_id",
            "trainee_id",
            "enrollment_id",
            "campus",
            "name",
            "enrolled_on",
            "status",
            "at_risk",
            "updated_at",
        ],
        rows,
    )
    return statement.on_conflict_do_update(
        index_elements=[t.c.cohort_id, t.c.trainee_id],
        set_=dict(
            name=statement.excluded.name,
            enrollment_id=statement.excluded.enrollment_id,
            updated_at=statement.excluded.updated_at,
        ),
    )


_ROSTER_UPSERT_PG = _roster_upsert_pg()

# Single check-ins are the busiest request of a training day: their statements are built once and take
# their values as parameters; they read plain columns (no entity to build) and write the mark with one plain
# INSERT or UPDATE, sent straight to the driver on PostgreSQL (``fast_execute``).
_SLOT = tuple(getattr(TrainingSession, f) for f in SessionSlot._fields)
_COHORT_GATE = tuple(getattr(Cohort, f) for f in CohortGate._fields)
_GATE = tuple(getattr(RosterEntry, f) for f in RosterGate._fields)
_MARK_COLUMNS = tuple(getattr(Mark, f.name) for f in fields(PunchedMark))
_CHECK_IN_TARGET = (
    select(*_SLOT, *_COHORT_GATE, *_GATE)
    .join(Cohort, Cohort.id == TrainingSession.cohort_id)
    .outerjoin(
        RosterEntry,
        and_(RosterEntry.cohort_id == TrainingSession.cohort_id, RosterEntry.trainee_id == bindparam("b_trainee")),
    )
    .where(TrainingSession.id == bindparam("b_session"))
)
_MARK_FOR_UPDATE = (
    select(*_MARK_COLUMNS)
    .where(Mark.session_id == bindparam("b_session"), Mark.trainee_id == bindparam("b_trainee"))
    .with_for_update()
)  # SQLite leaves FOR UPDATE out; its writers queue anyway
# PostgreSQL: the same read also locks the trainee's mark of the session (a LATERAL sub-select FOR UPDATE; a
# FOR UPDATE on the nullable side of the outer join itself is refused), so a check-in or check-out is one read
# and one write instead of two reads and a write. ``mark_to_punch`` then hands out the mark this read locked.
_LOCKED_MARK = _MARK_FOR_UPDATE.lateral("locked_mark")
_CHECK_IN_TARGET_PG = (
    select(*_SLOT, *_COHORT_GATE, *_GATE, *_LOCKED_MARK.c)
    .join(Cohort, Cohort.id == TrainingSession.cohort_id)
    .outerjoin(
        RosterEntry,
        and_(RosterEntry.cohort_id == TrainingSession.cohort_id, RosterEntry.trainee_id == bindparam("b_trainee")),
    )
    .outerjoin(_LOCKED_MARK, true())
    .where(TrainingSession.id == bindparam("b_session"))
)
_SESSION_TARGET = (
    select(*_SLOT, *_COHORT_GATE)
    .join(Cohort, Cohort.id == TrainingSession.cohort_id)
    .where(TrainingSession.id == bindparam("b_session"))
)
_TARGET_SPANS = (len(_SLOT), len(_SLOT) + len(_COHORT_GATE), len(_SLOT) + len(_COHORT_GATE) + len(_GATE))
# PostgreSQL: a bulk request's roster facts, with the ids of the marks it will add to, locked, in one read
# (plain columns: most readings of a batch find no mark, and an empty entity costs as much to build as a full one).
_BULK_LOCKED_MARK = (
    select(Mark.id)
    .where(Mark.session_id == bindparam("b_session"), Mark.trainee_id == RosterEntry.trainee_id)
    .with_for_update()
    .lateral("bulk_locked_mark")
)
_READINGS_TARGET_PG = (
    select(*_GATE, _BULK_LOCKED_MARK.c.id)
    .outerjoin(_BULK_LOCKED_MARK, true())
    .where(
        RosterEntry.cohort_id == bindparam("b_cohort"),
        RosterEntry.trainee_id == any_(bindparam("b_trainees", type_=ARRAY(Uuid()))),
    )
)
_MARKS = Mark.__table__  # type: ignore[attr-defined]
_MARK_NAMES = tuple(f.name for f in fields(PunchedMark))
assert set(_MARK_NAMES) == set(_MARKS.c.keys()), "PunchedMark names every column of mark"
_INSERT_MARK_IF_NONE = per_dialect(
    lambda insert_: insert_(_MARKS).on_conflict_do_nothing(index_elements=["session_id", "trainee_id"])
)
# PostgreSQL: a bulk request's new marks go in by COPY (see ``_copy_marks``); the database makes their ids
# (migration 0005).
_COPY_MARKS = (
    "COPY mark (session_id, cohort_id, trainee_id, mark, source, punches, check_in_at, check_out_at, "
    "updated_by, updated_at) FROM STDIN"
)
_UPDATE_MARK = (
    update(_MARKS)
    .where(_MARKS.c.id == bindparam("b_id"))
    .values(
        mark=bindparam("b_mark"),
        punches=bindparam("b_punches"),
        check_in_at=bindparam("b_check_in_at"),
        check_out_at=bindparam("b_check_out_at"),
        updated_by=bindparam("b_updated_by"),
        updated_at=bindparam("b_updated_at"),
    )
)


class AttendanceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # (session id, trainee id, mark) locked by ``check_in_target`` and not yet handed out by ``mark_to_punch``
        self._locked_mark: tuple[uuid.UUID, uuid.UUID, PunchedMark | None] | None = None

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    # -- cohorts and their timetables ------------------------------------------------------
    def cohort(self, cohort_id: uuid.UUID) -> Cohort | None:
        return self.session.get(Cohort, cohort_id)

    def visible_cohort(self, principal: Principal, cohort_id: uuid.UUID, *, lock: bool = False) -> Cohort:
        """The cohort if the principal's campuses include it (locked against other closings if asked); else 404."""
        return get_visible(self.session, Cohort, cohort_id, principal, "cohort", lock=lock)

    def lock_cohort(self, cohort_id: uuid.UUID) -> Cohort:
        return self.session.execute(select(Cohort).where(Cohort.id == cohort_id).with_for_update()).scalar_one()

    def add_cohort(self, cohort: Cohort) -> None:
        self.session.add(cohort)
        self.session.flush()

    def cohort_page(self, principal: Principal, campus: str | None, page: PageParams) -> tuple[list[Cohort], int]:
        query = in_campuses(select(Cohort).order_by(Cohort.start_date, Cohort.id), Cohort.campus, principal)
        if campus:
            query = query.where(Cohort.campus == campus)
        return paginate(self.session, query, page)

    def cohort_sizes(self, cohort_id: uuid.UUID) -> tuple[int, int]:
        """(sessions scheduled, trainees on the roster)."""
        n_sessions = self.session.execute(
            select(func.count()).where(TrainingSession.cohort_id == cohort_id, TrainingSession.cancelled.is_(False))
        ).scalar_one()
        n_roster = self.session.execute(select(func.count()).where(RosterEntry.cohort_id == cohort_id)).scalar_one()
        return n_sessions, n_roster

    def ended_cohort_ids(self, today: date) -> list[uuid.UUID]:
        """Open cohorts whose end date is before ``today``."""
        return list(
            self.session.execute(select(Cohort.id).where(Cohort.closed_at.is_(None), Cohort.end_date < today)).scalars()
        )

    def running_cohort_ids(self, today: date) -> list[uuid.UUID]:
        return list(
            self.session.execute(
                select(Cohort.id).where(
                    Cohort.closed_at.is_(None), Cohort.start_date <= today, Cohort.end_date >= today
                )
            ).scalars()
        )

    def sessions_of(self, cohort_id: uuid.UUID, *, with_cancelled: bool = False) -> list[TrainingSession]:
        """The cohort's timetable in order (``with_cancelled``: also the marked sessions the plan no longer has)."""
        query = select(TrainingSession).where(TrainingSession.cohort_id == cohort_id)
        if not with_cancelled:
            query = query.where(TrainingSession.cancelled.is_(False))
        return list(self.session.execute(query.order_by(TrainingSession.date, TrainingSession.start)).scalars())

    def training_session(self, session_id: uuid.UUID) -> TrainingSession | None:
        return self.session.get(TrainingSession, session_id)

    def save_timetable(self, added: list[TrainingSession], gone: list[uuid.UUID]) -> None:
        """Add the new sessions and take the ``gone`` ones out of the plan: deleted when nobody has a mark on
        them, else kept as cancelled (their marks stay, uncounted)."""
        self.session.add_all(added)
        if gone:
            marked = set(self.session.execute(select(Mark.session_id).where(Mark.session_id.in_(gone))).scalars())
            removable = [sid for sid in gone if sid not in marked]
            if removable:
                self.session.execute(delete(TrainingSession).where(TrainingSession.id.in_(removable)))
            if marked:
                self.session.execute(
                    update(TrainingSession).where(TrainingSession.id.in_(marked)).values(cancelled=True)
                )
                for obj in list(self.session.identity_map.values()):
                    if isinstance(obj, TrainingSession) and obj.id in marked:
                        set_committed_value(obj, "cancelled", True)
        self.session.flush()

    # -- enrollments held until their cohort's plan arrives ----------------------------------------
    def hold_enrollments(self, rows: list[PendingEnrollment]) -> None:
        """Keep these enrollments until their cohort's plan arrives (a later one of a trainee replaces theirs)."""
        self.session.flush()
        for row in rows:
            held = self.pending_enrollment(row.cohort_id, row.trainee_id)
            if held is None:
                self.session.add(row)
            else:
                held.plan_version, held.data, held.received_at = row.plan_version, row.data, row.received_at
                held.withdrawn_on = held.withdraw_reason = None
            self.session.flush()

    def pending_enrollment(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID) -> PendingEnrollment | None:
        return self.session.execute(
            select(PendingEnrollment).where(
                PendingEnrollment.cohort_id == cohort_id, PendingEnrollment.trainee_id == trainee_id
            )
        ).scalar_one_or_none()

    def pending_enrollments(self, cohort_id: uuid.UUID, up_to_version: int) -> list[PendingEnrollment]:
        """The cohort's held enrollments that the plan at ``up_to_version`` covers, oldest first."""
        return list(
            self.session.execute(
                select(PendingEnrollment)
                .where(PendingEnrollment.cohort_id == cohort_id, PendingEnrollment.plan_version <= up_to_version)
                .order_by(PendingEnrollment.received_at, PendingEnrollment.id)
            ).scalars()
        )

    def release_pending(self, rows: list[PendingEnrollment]) -> None:
        for row in rows:
            self.session.delete(row)
        self.session.flush()

    # -- rosters ---------------------------------------------------------------------------------
    def roster_entry(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID | None) -> RosterEntry | None:
        return self.session.execute(
            select(RosterEntry).where(RosterEntry.cohort_id == cohort_id, RosterEntry.trainee_id == trainee_id)
        ).scalar_one_or_none()

    def on_roster(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID | None) -> bool:
        return (
            self.session.execute(
                select(RosterEntry.id).where(RosterEntry.cohort_id == cohort_id, RosterEntry.trainee_id == trainee_id)
            ).first()
            is not None
        )

    def _among(self, column: Any, values: list[Any]) -> Any:
        """``column IN values``; on PostgreSQL one array parameter, however many values (a bulk request has
        thousands, each a parameter of its own otherwise)."""
        if self._dialect == "postgresql":
            return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
        return column.in_(values)

    def roster_entries(self, cohort_id: uuid.UUID, trainee_ids: list[uuid.UUID]) -> dict[uuid.UUID, RosterEntry]:
        return {
            e.trainee_id: e
            for e in self.session.execute(
                select(RosterEntry).where(
                    RosterEntry.cohort_id == cohort_id, self._among(RosterEntry.trainee_id, trainee_ids)
                )
            ).scalars()
        }

    def readings_target(
        self, cohort_id: uuid.UUID, session_id: uuid.UUID, trainee_ids: list[uuid.UUID]
    ) -> tuple[dict[uuid.UUID, RosterGate], dict[uuid.UUID, Mark]]:
        """For a batch of readings: the roster facts of these trainees (plain rows, no entities to build) and
        their marks of the session, locked. On PostgreSQL one read does both (a LATERAL sub-select FOR UPDATE
        gives the ids of the marks there are; only those, if any, are then loaded as entities)."""
        if self._dialect != "postgresql":
            query = select(*_GATE).where(
                RosterEntry.cohort_id == cohort_id, self._among(RosterEntry.trainee_id, trainee_ids)
            )
            gates = {row[0]: RosterGate(*row) for row in self.session.execute(query)}
            return gates, self.lock_marks(session_id, trainee_ids)
        gates, marked = {}, []
        for *gate, mark_id in fast_execute(
            self.session,
            _READINGS_TARGET_PG,
            {"b_cohort": cohort_id, "b_session": session_id, "b_trainees": trainee_ids},
        ):
            gates[gate[0]] = RosterGate(*gate)
            if mark_id is not None:
                marked.append(mark_id)
        if not marked:
            return gates, {}
        found = self.session.execute(select(Mark).where(self._among(Mark.id, marked))).scalars()
        return gates, {m.trainee_id: m for m in found}  # locked by the read above

    def roster_of(self, cohort_id: uuid.UUID, *, active_only: bool = False, by_name: bool = True) -> list[RosterEntry]:
        query = select(RosterEntry).where(RosterEntry.cohort_id == cohort_id)
        if active_only:
            query = query.where(RosterEntry.status == "active")
        if by_name:
            query = query.order_by(RosterEntry.name, RosterEntry.trainee_id)
        return list(self.session.execute(query).scalars())

    def add_roster_entry(self, entry: RosterEntry) -> None:
        self.session.add(entry)
        self.session.flush()

    def upsert_roster(self, cohort: Cohort, first: dict[uuid.UUID, Any], latest: dict[uuid.UUID, Any]) -> None:
        """One statement for a group of enrollments: each trainee inserted as ``first[t]`` would insert it, with
        the name and enrollment of ``latest[t]``; entries loaded before are read again when next used."""
        now = utcnow()
        self.session.flush()  # entries changed through the ORM earlier in the transaction are written first
        if self._dialect == "postgresql":
            self.session.execute(
                _ROSTER_UPSERT_PG,
                dict(
                    ids=[uuid.uuid4() for _ in first],
                    cohort_id=cohort.id,
                    trainee_ids=list(first),
                    enrollment_ids=[latest[t].enrollment_id for t in first],
                    campus=cohort.campus,
                    names=[latest[t].name for t in first],
                    enrolled_on=[d.enrolled_on for d in first.values()],
                    now=now,
                ),
            )
        else:
            table = RosterEntry.__table__  # type: ignore[attr-defined]
            statement = insert_for(self.session)(table)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.cohort_id, table.c.trainee_id],
                set_=dict(
                    name=statement.excluded.name,
                    enrollment_id=statement.excluded.enrollment_id,
                    updated_at=statement.excluded.updated_at,
                ),
            )
            self.session.execute(
                statement,
                [
                    dict(
                        id=uuid.uuid4(),
                        cohort_id=cohort.id,
                        trainee_id=t,
                        enrollment_id=latest[t].enrollment_id,
                        campus=cohort.campus,
                        name=latest[t].name,
                        enrolled_on=d.enrolled_on,
                        status="active",
                        at_risk=False,
                        updated_at=now,
                    )
                    for t, d in first.items()
                ],
            )
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, RosterEntry) and obj.cohort_id == cohort.id and obj.trainee_id in first:
                self.session.expire(obj)

    def trainee_cohorts(
        self, trainee_id: uuid.UUID, cohort_id: uuid.UUID | None = None
    ) -> list[tuple[RosterEntry, Cohort]]:
        """The trainee's roster entries with their cohorts, by start date."""
        query = (
            select(RosterEntry, Cohort)
            .join(Cohort, Cohort.id == RosterEntry.cohort_id)
            .where(RosterEntry.trainee_id == trainee_id)
        )
        if cohort_id:
            query = query.where(RosterEntry.cohort_id == cohort_id)
        return [(e, c) for e, c in self.session.execute(query.order_by(Cohort.start_date)).all()]

    def cohorts_of_trainee(self, trainee_id: uuid.UUID) -> list[Cohort]:
        return list(
            self.session.execute(
                select(Cohort)
                .join(RosterEntry, RosterEntry.cohort_id == Cohort.id)
                .where(RosterEntry.trainee_id == trainee_id)
            ).scalars()
        )

    def at_risk_page(
        self, principal: Principal, campus: str | None, cohort_id: uuid.UUID | None, page: PageParams
    ) -> tuple[list[RosterEntry], int]:
        query = (
            select(RosterEntry)
            .where(RosterEntry.at_risk.is_(True), RosterEntry.status == "active")
            .order_by(RosterEntry.campus, RosterEntry.cohort_id, RosterEntry.current_rate, RosterEntry.trainee_id)
        )
        query = in_campuses(query, RosterEntry.campus, principal)
        query = where_given(query, (RosterEntry.campus, campus), (RosterEntry.cohort_id, cohort_id))
        return paginate(self.session, query, page)

    # -- standing ----------------------------------------------------------------------------------
    def marks_by_trainee(
        self, cohort_id: uuid.UUID, trainee_ids: list[uuid.UUID] | None = None
    ) -> dict[uuid.UUID, dict[uuid.UUID, str]]:
        """trainee -> session -> mark, for the cohort (or only these trainees)."""
        query = select(Mark.trainee_id, Mark.session_id, Mark.mark).where(Mark.cohort_id == cohort_id)
        if trainee_ids is not None:
            query = query.where(Mark.trainee_id.in_(trainee_ids))
        out: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
        for trainee_id, session_id, mark in self.session.execute(query):
            out[trainee_id][session_id] = mark
        return out

    def save_standing(
        self, entry: RosterEntry, *, current_rate: float, max_possible_rate: float, at_risk_reason: str | None
    ) -> bool:
        """Store the entry's rates and at-risk flag; True when this call flipped the flag.

        The conditional update is the guard: of two concurrent evaluations only one flips the flag (and warns).
        """
        values = dict(
            current_rate=current_rate,
            max_possible_rate=max_possible_rate,
            at_risk_reason=at_risk_reason,
            at_risk=at_risk_reason is not None,
            updated_at=utcnow(),
        )
        flipped = bool(
            self.session.execute(
                update(RosterEntry)
                .where(RosterEntry.id == entry.id, RosterEntry.at_risk == (at_risk_reason is None))
                .values(**values)
            ).rowcount
        )
        if not flipped and (entry.current_rate, entry.max_possible_rate) != (current_rate, max_possible_rate):
            self.session.execute(
                update(RosterEntry)
                .where(RosterEntry.id == entry.id)
                .values(
                    current_rate=current_rate,
                    max_possible_rate=max_possible_rate,
                    at_risk_reason=at_risk_reason,
                    updated_at=utcnow(),
                )
            )
        for k, v in values.items():
            set_committed_value(entry, k, v)
        return flipped

    def add_warning(self, warning: AtRiskWarning) -> None:
        self.session.add(warning)

    def standing_written(self) -> None:
        """The warnings of an evaluation are written before the use case reads on."""
        self.session.flush()

    def completion(self, cohort_id: uuid.UUID, trainee_id: uuid.UUID) -> Completion | None:
        return self.session.get(Completion, (cohort_id, trainee_id))

    def decided_trainees(self, cohort_id: uuid.UUID) -> set[uuid.UUID]:
        return set(
            self.session.execute(select(Completion.trainee_id).where(Completion.cohort_id == cohort_id)).scalars()
        )

    def completions_of(self, cohort_id: uuid.UUID) -> dict[uuid.UUID, Completion]:
        """trainee -> the completion decision, for the cohort's decided trainees."""
        return {
            c.trainee_id: c
            for c in self.session.execute(select(Completion).where(Completion.cohort_id == cohort_id)).scalars()
        }

    def add_completions(self, decisions: list[Completion]) -> None:
        self.session.add_all(decisions)
        self.session.flush()

    # -- marks -------------------------------------------------------------------------------------
    def session_target(self, session_id: uuid.UUID) -> tuple[SessionSlot, CohortGate] | None:
        """The session and its cohort as plain values, in one read (a bulk request needs no entity of them)."""
        found = fast_execute(self.session, _SESSION_TARGET, {"b_session": session_id}).fetchone()
        if found is None:
            return None
        row = tuple(found)
        return SessionSlot(*row[: _TARGET_SPANS[0]]), CohortGate(*row[_TARGET_SPANS[0] : _TARGET_SPANS[1]])

    def check_in_target(self, session_id: uuid.UUID, trainee_id: uuid.UUID) -> CheckInTarget | None:
        """The session, its cohort and the trainee's roster facts, in one read of plain columns (on PostgreSQL,
        which also locks the trainee's mark of the session for the ``mark_to_punch`` that follows)."""
        params = {"b_session": session_id, "b_trainee": trainee_id}
        postgres = self._dialect == "postgresql"
        found = fast_execute(self.session, _CHECK_IN_TARGET_PG if postgres else _CHECK_IN_TARGET, params).fetchone()
        if found is None:
            return None
        row = tuple(found)
        slot, cohort, gate = _TARGET_SPANS
        if postgres:
            mark = row[gate:]
            self._locked_mark = (session_id, trainee_id, PunchedMark(*mark) if mark[0] is not None else None)
        return CheckInTarget(
            SessionSlot(*row[:slot]),
            CohortGate(*row[slot:cohort]),
            RosterGate(*row[cohort:gate]) if row[cohort] is not None else None,
        )

    def mark_to_punch(self, session_id: uuid.UUID, trainee_id: uuid.UUID) -> PunchedMark | None:
        """The mark, locked, to add a punch to (written back by ``save_punches``).
        The first call after ``check_in_target`` returns the mark that read locked; any later one reads anew."""
        locked, self._locked_mark = self._locked_mark, None
        if locked is not None and locked[0] == session_id and locked[1] == trainee_id:
            return locked[2]
        row = fast_execute(self.session, _MARK_FOR_UPDATE, {"b_session": session_id, "b_trainee": trainee_id})
        found = row.fetchone()
        return None if found is None else PunchedMark(*found)

    def add_first_mark(self, mark: PunchedMark) -> bool:
        """Insert the trainee's first mark of the session unless another request just did; True if inserted.

        FOR UPDATE locks no row that is not there yet: a card tapped twice at once makes two first check-ins.
        The second finds the first's row (``mark_to_punch`` waits for it) and adds its punch to it."""
        values = {name: getattr(mark, name) for name in _MARK_NAMES}  # not asdict: it deep-copies the punches
        return bool(fast_execute(self.session, _INSERT_MARK_IF_NONE[self._dialect], values).rowcount)

    def save_punches(self, row: PunchedMark) -> None:
        fast_execute(
            self.session,
            _UPDATE_MARK,
            dict(
                b_id=row.id,
                b_mark=row.mark,
                b_punches=row.punches,
                b_check_in_at=row.check_in_at,
                b_check_out_at=row.check_out_at,
                b_updated_by=row.updated_by,
                b_updated_at=row.updated_at,
            ),
        )

    def lock_marks(self, session_id: uuid.UUID, trainee_ids: list[uuid.UUID]) -> dict[uuid.UUID, Mark]:
        query = select(Mark).where(Mark.session_id == session_id, self._among(Mark.trainee_id, trainee_ids))
        return {m.trainee_id: m for m in self.session.execute(query.with_for_update()).scalars()}

    def add_marks(
        self, session_id: uuid.UUID, cohort_id: uuid.UUID, writer: str, at: datetime, marks: Iterable[NewMark]
    ) -> None:
        """Insert the first marks of these trainees for the session, written by ``writer`` at ``at``, in one go;
        ``FirstMarkRace`` if another request wrote one of them meanwhile. ``marks`` is read once, as the rows
        are sent: on PostgreSQL the first rows are being stored while the caller works out the next ones."""
        pending = iter(marks)
        first = next(pending, None)
        if first is not None:
            rows = itertools.chain((first,), pending)
            try:
                if self._dialect == "postgresql":
                    self._copy_marks(session_id, cohort_id, writer, at, rows)
                else:
                    common = dict(session_id=session_id, cohort_id=cohort_id, source="punches", updated_by=writer)
                    self.session.execute(
                        insert(Mark), [dict(m._asdict(), **common, id=uuid.uuid4(), updated_at=at) for m in rows]
                    )
            except IntegrityError as exc:
                if _breaks_first_mark_uniqueness(exc):
                    raise FirstMarkRace() from exc
                raise  # another fault (a missing value, a session gone): not a race, not to be retried
        self.session.flush()

    def _copy_marks(
        self, session_id: uuid.UUID, cohort_id: uuid.UUID, writer: str, at: datetime, marks: Iterable[NewMark]
    ) -> None:
        """PostgreSQL: new marks by COPY, the fastest way in (a unique violation fails it like an INSERT). What
        all rows share is turned into text once; the punches are dumped by pydantic's JSON writer (a tenth of
        ``json.dumps``'s time for such a small list). psycopg sends the rows every 32 KB as they are written."""
        self.session.flush()  # what the ORM holds goes first, in statement order
        driver = pg_driver(self.session)
        assert driver is not None
        shared_before = (str(session_id), str(cohort_id))
        shared_after = (writer, at.isoformat())
        with driver.copy(_COPY_MARKS) as copy:
            for m in marks:  # in _COPY_MARKS's order
                copy.write_row(
                    (
                        *shared_before,
                        m.trainee_id,
                        m.mark,
                        "punches",
                        to_json(m.punches).decode(),
                        m.check_in_at,
                        m.check_out_at,
                        *shared_after,
                    )
                )

    def mark(self, session_id: uuid.UUID, trainee_id: uuid.UUID, *, lock: bool = False) -> Mark | None:
        query = select(Mark).where(Mark.session_id == session_id, Mark.trainee_id == trainee_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def marks_of_session(self, session_id: uuid.UUID) -> dict[uuid.UUID, Mark]:
        return {
            m.trainee_id: m for m in self.session.execute(select(Mark).where(Mark.session_id == session_id)).scalars()
        }

    def add_mark(self, row: Mark) -> None:
        self.session.add(row)

    def record_change(self, change: MarkChange) -> None:
        self.session.add(change)
        self.session.flush()

    def mark_history(self, session_id: uuid.UUID, trainee_id: uuid.UUID) -> list[MarkChange]:
        return list(
            self.session.execute(
                select(MarkChange)
                .where(MarkChange.session_id == session_id, MarkChange.trainee_id == trainee_id)
                .order_by(MarkChange.changed_at, MarkChange.id)
            ).scalars()
        )

    def timetable_with_marks(
        self, trainee_id: uuid.UUID, cohort_ids: list[uuid.UUID], date_from: date | None, date_to: date | None
    ) -> list[tuple[TrainingSession, Mark | None]]:
        """The sessions of these cohorts in [date_from, date_to], in order, each with the trainee's mark."""
        query = (
            select(TrainingSession, Mark)
            .outerjoin(Mark, and_(Mark.session_id == TrainingSession.id, Mark.trainee_id == trainee_id))
            .where(TrainingSession.cohort_id.in_(cohort_ids), TrainingSession.cancelled.is_(False))
            .order_by(TrainingSession.date, TrainingSession.start)
        )
        if date_from:
            query = query.where(TrainingSession.date >= date_from)
        if date_to:
            query = query.where(TrainingSession.date <= date_to)
        return [(ts, m) for ts, m in self.session.execute(query).all()]
