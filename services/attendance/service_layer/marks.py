"""Check-ins and check-outs (single and bulk), staff corrections and excuses, and their history."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from services.attendance.adapters.orm import Cohort, Mark, MarkChange, RosterEntry, TrainingSession
from services.attendance.adapters.repository import (
    AttendanceRepository,
    CohortGate,
    FirstMarkRace,
    NewMark,
    PunchedMark,
    RosterGate,
    SessionSlot,
)
from services.attendance.domain import marks as rules
from services.attendance.domain import qr
from services.attendance.domain.excuses import check_excuse
from services.attendance.domain.standing import before_joining
from services.attendance.schemas import (
    BulkCheckInIn,
    BulkReport,
    BulkRow,
    CheckInIn,
    MarkChangeOut,
    MarkDetail,
    MarkIn,
    MarkOut,
    PunchOut,
    QrCodeOut,
    SessionRoster,
    SessionRosterRow,
    TraineeMarkRow,
)
from services.attendance.service_layer.policy import AttendancePolicy
from services.attendance.service_layer.roster import session_out
from services.attendance.service_layer.standing import evaluate, require_open
from services.attendance.service_layer.wall_clock import aware, to_wall, wall_now
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.problems import Problem, RuleFailure, RuleViolation, not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[AttendanceRepository]
NEEDS_EVALUATION = rules.MINOR | {rules.ABSENT}
Slot = TrainingSession | SessionSlot  # a session as an entity, or as the plain values the readings read


def bounds(ts: Slot) -> tuple[datetime, datetime]:
    return datetime.combine(ts.date, ts.start), datetime.combine(ts.date, ts.end)


def load_session(
    repo: AttendanceRepository, principal: Principal, session_id: uuid.UUID
) -> tuple[TrainingSession, Cohort]:
    ts = repo.training_session(session_id)
    cohort = repo.cohort(ts.cohort_id) if ts is not None else None
    if ts is None or cohort is None:
        raise not_found("session", session_id)
    _require_visible(repo, principal, session_id, cohort)
    return ts, cohort


def load_slot(
    repo: AttendanceRepository, principal: Principal, session_id: uuid.UUID
) -> tuple[SessionSlot, CohortGate]:
    """``load_session`` as plain values, for a batch of readings (no entity to build)."""
    found = repo.session_target(session_id)
    if found is None:
        raise not_found("session", session_id)
    _require_visible(repo, principal, session_id, found[1])
    return found


def _require_visible(
    repo: AttendanceRepository, principal: Principal, session_id: uuid.UUID, cohort: Cohort | CohortGate
) -> None:
    """A 404 unless staff of the cohort's campus, or a trainee on its roster."""
    if principal.is_staff and not principal.sees_campus(cohort.campus):
        raise not_found("session", session_id)
    if not principal.is_staff and not repo.on_roster(cohort.id, _as_uuid(principal.sub)):
        raise not_found("session", session_id)  # a trainee sees only the sessions of their own cohorts


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _punches(mark: Mark | PunchedMark | None) -> list[rules.Punch]:
    if mark is None:
        return []
    return [rules.Punch(p["kind"], datetime.fromisoformat(p["at"])) for p in mark.punches]


def _roster_failure(entry: RosterEntry | RosterGate | None, ts: Slot) -> RuleFailure | None:
    if ts.cancelled:
        return RuleFailure("session.cancelled", f"the session of {ts.date} is no longer in the cohort's plan")
    if entry is None:
        return RuleFailure("roster.not-on-roster", "the trainee is not on this session's cohort roster", "trainee_id")
    if entry.withdrawn_on is not None and ts.date >= entry.withdrawn_on:
        return RuleFailure("roster.withdrawn", f"the trainee withdrew on {entry.withdrawn_on}", "trainee_id")
    if before_joining(ts.date, entry.enrolled_on):
        return RuleFailure(
            "roster.before-joining",
            f"the trainee joined on {entry.enrolled_on}; the sessions before it are not theirs",
            "trainee_id",
        )
    return None


def _window_failure(at: datetime, ts: Slot, policy: AttendancePolicy) -> RuleFailure | None:
    start, end = bounds(ts)
    return rules.window_failure(at, start, end, policy.check_in)


def _apply(mark_row: Mark | PunchedMark, ts: Slot, policy: AttendancePolicy, clock: Clock) -> None:
    """Recompute the mark from the punches, unless staff set it."""
    punches = _punches(mark_row)
    p = rules.presence(punches)
    mark_row.check_in_at, mark_row.check_out_at = aware(p.check_in, clock), aware(p.check_out, clock)
    if mark_row.source == "punches":
        start, end = bounds(ts)
        mark_row.mark = rules.decide(punches, start, end, ts.hours, policy.marks)


def mark_out(m: Mark | PunchedMark, ts: Slot, clock: Clock) -> MarkOut:
    return MarkOut(
        session_id=ts.id,
        cohort_id=ts.cohort_id,
        trainee_id=m.trainee_id,
        date=ts.date,
        mark=m.mark,
        source=m.source,
        check_in_at=aware(m.check_in_at, clock),
        check_out_at=aware(m.check_out_at, clock),
        punches=[
            PunchOut(kind=p["kind"], at=aware(datetime.fromisoformat(p["at"]), clock), method=p.get("method", ""))
            for p in m.punches
        ],
        reason_code=m.reason_code,
        evidence_ref=m.evidence_ref,
    )


def _check_in_target(
    repo: AttendanceRepository, principal: Principal, session_id: uuid.UUID, trainee_id: uuid.UUID
) -> tuple[SessionSlot, CohortGate, RosterGate | None]:
    """The session, its cohort and the trainee's roster facts, in one read; 404 as ``load_session`` decides."""
    found = repo.check_in_target(session_id, trainee_id)
    if found is None:
        raise not_found("session", session_id)
    ts, cohort, entry = found.session, found.cohort, found.gate
    if principal.is_staff or entry is None or principal.sub != str(trainee_id):
        _require_visible(repo, principal, session_id, cohort)  # a trainee on the roster checking in itself sees it
    return ts, cohort, entry


def check_in(
    uow: Uow, *, principal: Principal, policy: AttendancePolicy, clock: Clock, session_id: uuid.UUID, body: CheckInIn
) -> MarkOut:
    """One reading (QR, card or staff entry). Duplicates are harmless: the mark comes from the times."""
    with uow:
        repo = uow.repo
        ts, cohort, entry = _check_in_target(repo, principal, session_id, body.trainee_id)
        require_open(cohort)
        instant = clock.now()
        now = instant.replace(tzinfo=None)
        if principal.is_staff:
            at = to_wall(body.at, clock) if body.at else now
            if at > now + timedelta(minutes=1):
                raise RuleViolation(
                    [RuleFailure("check-in.future", "a check-in cannot be recorded ahead of time", "at")]
                )
        else:
            if principal.sub != str(body.trainee_id):
                raise Problem(
                    403,
                    "check-in-self-only",
                    "Trainees check in only themselves",
                    "A trainee token may check in only its own trainee id.",
                    errors=[RuleFailure("check-in.self-only", "a trainee checks in only themselves", "trainee_id")],
                )
            at = now  # a trainee cannot choose the time
        failure = _roster_failure(entry, ts) or _window_failure(at, ts, policy)
        if failure is None and (body.code is not None or (not principal.is_staff and policy.qr_required_for_trainees)):
            failure = qr.check(policy.qr, ts.id, body.code, instant.timestamp())  # after the window: says more
        if failure:
            raise RuleViolation([failure])
        assert entry is not None
        row = repo.mark_to_punch(ts.id, body.trainee_id)
        punch = {"kind": body.kind, "at": at.isoformat(), "method": body.method}
        previous = row.mark if row else None
        new = None
        if row is None:
            new = PunchedMark(
                id=uuid.uuid4(),
                session_id=ts.id,
                cohort_id=cohort.id,
                trainee_id=body.trainee_id,
                mark=rules.ABSENT,
                source="punches",
                punches=[punch],
                check_in_at=None,
                check_out_at=None,
                reason_code=None,
                evidence_ref=None,
                updated_by=principal.sub,
                updated_at=utcnow(),
            )
            _apply(new, ts, policy, clock)
            if repo.add_first_mark(new):
                row = new
            else:  # another request's first check-in came first: add this punch to its mark
                row = repo.mark_to_punch(ts.id, body.trainee_id)
                assert row is not None
                previous = row.mark
        if row is not new:
            before = (row.mark, row.check_in_at, row.check_out_at, len(row.punches))
            if not any(p["kind"] == punch["kind"] and p["at"] == punch["at"] for p in row.punches):
                row.punches = [*row.punches, punch]
                row.updated_by, row.updated_at = principal.sub, utcnow()
            _apply(row, ts, policy, clock)
            if (row.mark, row.check_in_at, row.check_out_at, len(row.punches)) != before:
                repo.save_punches(row)
        # A present mark cannot put anyone at risk, but it may lift a trainee who is: evaluate only when it matters.
        if row.mark != previous and (row.mark in NEEDS_EVALUATION or previous in NEEDS_EVALUATION or entry.at_risk):
            cohort_row, entry_row = repo.cohort(cohort.id), repo.roster_entry(cohort.id, body.trainee_id)
            assert cohort_row is not None and entry_row is not None  # read above, in this transaction
            evaluate(uow, policy=policy, cohort=cohort_row, entries=[entry_row], now=now)
        result = mark_out(row, ts, clock)
        uow.commit()
        return result


def trainee_marks(
    uow: Uow, *, principal: Principal, clock: Clock, trainee_id: uuid.UUID, date_from: date | None, date_to: date | None
) -> list[TraineeMarkRow]:
    """The sessions of the trainee's cohorts in [date_from, date_to] with the trainee's marks (a trainee: its own)."""
    if not principal.is_staff and principal.sub != str(trainee_id):
        raise not_found("trainee", trainee_id)
    with uow:
        cohorts = [
            c
            for c in uow.repo.cohorts_of_trainee(trainee_id)
            if not principal.is_staff or principal.sees_campus(c.campus)
        ]
        if not cohorts:
            raise not_found("trainee", trainee_id)
        titles = {c.id: c.programme_title for c in cohorts}
        return [
            TraineeMarkRow(
                session_id=ts.id,
                cohort_id=ts.cohort_id,
                programme_title=titles[ts.cohort_id],
                date=ts.date,
                start=ts.start,
                end=ts.end,
                hours=ts.hours,
                mark=m.mark if m else None,
                check_in_at=aware(m.check_in_at, clock) if m else None,
                check_out_at=aware(m.check_out_at, clock) if m else None,
            )
            for ts, m in uow.repo.timetable_with_marks(trainee_id, list(titles), date_from, date_to)
        ]


def qr_code(
    uow: Uow, *, principal: Principal, policy: AttendancePolicy, clock: Clock, session_id: uuid.UUID
) -> QrCodeOut:
    """The session's check-in code of this moment, for the kiosk's or the instructor's screen."""
    with uow:
        ts, _ = load_session(uow.repo, principal, session_id)
        issued = qr.issue(policy.qr, ts.id, clock.now().timestamp())
        window_s = policy.qr.window_s

        def stamp(unix_s: int) -> datetime:
            return datetime.fromtimestamp(unix_s, UTC).astimezone(clock.zone)

        return QrCodeOut(
            session_id=ts.id,
            code=issued.code,
            window_s=window_s,
            issued_at=stamp(issued.refresh_at - window_s),
            refresh_at=stamp(issued.refresh_at),
            valid_until=stamp(issued.valid_until),
        )


def bulk_check_in(
    uow: Uow,
    *,
    principal: Principal,
    policy: AttendancePolicy,
    clock: Clock,
    session_id: uuid.UUID,
    body: BulkCheckInIn,
) -> BulkReport:
    """Hundreds of readings at once from a kiosk or card reader; each row accepted, duplicate or refused."""
    most = policy.check_in.bulk_max_readings
    if len(body.items) > most:
        raise RuleViolation(
            [RuleFailure("bulk.too-many", f"send at most {most} readings per request", "items")], status=422
        )
    for _attempt in range(3):
        with uow:
            try:
                report = _bulk_check_in(
                    uow, principal=principal, policy=policy, clock=clock, session_id=session_id, body=body
                )
            except FirstMarkRace:
                continue  # again from the start: those marks exist now, and will be read under lock
            uow.commit()
            return report
    raise Problem(
        503,
        "check-ins-busy",
        "Check-ins busy",
        "Other readings of these trainees kept arriving at the same moment; send the batch again.",
    )


class _TraineeReadings:
    """One trainee's side of a batch of readings: the roster's refusal if any, the stored mark, and the punches
    as stored (dicts) and as the domain reads them, the stored ones first (made at the first reading that
    passes the checks); ``mark`` once decided."""

    __slots__ = ("gate", "refusal", "stored", "punches", "parsed", "mark")

    def __init__(self, gate: RosterGate | None, refusal: RuleFailure | None, stored: Mark | None) -> None:
        self.gate, self.refusal, self.stored = gate, refusal, stored
        self.punches: list[dict] = []
        self.parsed: list[rules.Punch] | None = None
        self.mark: str | None = None

    def add(self, punch: rules.Punch, method: str) -> bool:
        """Add a reading; False if the trainee has it already (a trainee has a few punches a session)."""
        if self.parsed is None:
            self.punches = list(self.stored.punches) if self.stored is not None else []
            self.parsed = _punches(self.stored)
        if punch in self.parsed:
            return False
        self.punches.append({"kind": punch.kind, "at": punch.at.isoformat(), "method": method})
        self.parsed.append(punch)
        return True


def _bulk_check_in(
    uow: Uow,
    *,
    principal: Principal,
    policy: AttendancePolicy,
    clock: Clock,
    session_id: uuid.UUID,
    body: BulkCheckInIn,
) -> BulkReport:
    repo = uow.repo
    ts, cohort = load_slot(repo, principal, session_id)
    require_open(cohort)
    now = wall_now(clock)
    latest = now + timedelta(minutes=1)
    start, end = bounds(ts)
    window = rules.CheckInWindow.of(start, end, policy.check_in)
    ids = list({item.trainee_id for item in body.items})
    gates, existing = repo.readings_target(cohort.id, ts.id, ids)
    trainees: dict[uuid.UUID, _TraineeReadings] = {}
    outcomes: list[tuple[uuid.UUID, str, RuleFailure | None, _TraineeReadings]] = []
    for item in body.items:
        trainee_id = item.trainee_id
        mine = trainees.get(trainee_id)
        if mine is None:
            gate = gates.get(trainee_id)
            mine = trainees[trainee_id] = _TraineeReadings(gate, _roster_failure(gate, ts), existing.get(trainee_id))
        at = to_wall(item.at, clock) if item.at else now
        failure = mine.refusal or window.failure(at)
        if failure is None and at > latest:
            failure = RuleFailure("check-in.future", "a check-in cannot be recorded ahead of time", "at")
        if failure:
            outcomes.append((trainee_id, "refused", failure, mine))
            continue
        punch = rules.Punch(item.kind, at)
        if mine.add(punch, item.method):
            outcomes.append((trainee_id, "accepted", None, mine))
        else:  # the same reading twice
            outcomes.append((trainee_id, "duplicate", None, mine))
    stamp = utcnow()
    changed = []  # whose standing the new mark may move (an at-risk trainee may be lifted)

    def decide_marks() -> Iterator[NewMark]:
        """Each trainee's mark from all their punches; a first mark is handed to the repository as soon as it is
        decided (COPY stores the first rows while the next are worked out), a mark already there is updated.
        Read to the end by ``add_marks`` (checked below): ``changed`` is filled on the way. It touches no
        database itself: it runs while the COPY is open."""
        for trainee_id, mine in trainees.items():
            if mine.parsed is None:
                continue  # every reading of the trainee refused: nothing changes
            presence = rules.presence(mine.parsed)
            row = mine.stored
            previous = row.mark if row is not None else None
            mark = mine.mark = (
                rules.mark_of(presence, start, end, ts.hours, policy.marks)
                if row is None or row.source == "punches"
                else row.mark
            )
            if mark != previous and (
                mark in NEEDS_EVALUATION
                or previous in NEEDS_EVALUATION
                or (mine.gate is not None and mine.gate.at_risk)
            ):
                changed.append(trainee_id)
            check_in_at, check_out_at = aware(presence.check_in, clock), aware(presence.check_out, clock)
            if row is None:
                yield NewMark(trainee_id, mark, mine.punches, check_in_at, check_out_at)
            else:
                row.punches, row.mark, row.updated_by, row.updated_at = mine.punches, mark, principal.sub, stamp
                row.check_in_at, row.check_out_at = check_in_at, check_out_at

    repo.add_marks(ts.id, cohort.id, principal.sub, stamp, decide_marks())
    assert all(t.mark is not None for t in trainees.values() if t.parsed is not None), "add_marks reads them all"
    if changed:
        cohort_row = repo.cohort(cohort.id)
        assert cohort_row is not None  # read above, in this transaction
        entries = list(repo.roster_entries(cohort.id, changed).values())
        evaluate(uow, policy=policy, cohort=cohort_row, entries=entries, now=now)
    rows = [
        BulkRow(index=i, trainee_id=t, status=status, mark=mine.mark)
        if failure is None
        else BulkRow(index=i, trainee_id=t, status=status, rule=failure.rule, message=failure.message)
        for i, (t, status, failure, mine) in enumerate(outcomes)
    ]
    counts = Counter(status for _, status, _, _ in outcomes)
    return BulkReport(
        session_id=ts.id,
        received=len(body.items),
        accepted=counts["accepted"],
        duplicates=counts["duplicate"],
        refused=counts["refused"],
        rows=rows,
    )


def _virtual_mark(ts: TrainingSession, now: datetime) -> str | None:
    return rules.ABSENT if datetime.combine(ts.date, ts.end) <= now else None


def set_mark(
    uow: Uow,
    *,
    principal: Principal,
    policy: AttendancePolicy,
    clock: Clock,
    session_id: uuid.UUID,
    trainee_id: uuid.UUID,
    body: MarkIn,
) -> MarkDetail:
    """A staff correction or excuse; the previous value, who, when and why are kept."""
    with uow:
        repo = uow.repo
        ts, cohort = load_session(repo, principal, session_id)
        require_open(cohort)
        entry = repo.roster_entry(cohort.id, trainee_id)
        now = wall_now(clock)
        failures = []
        if (f := _roster_failure(entry, ts)) is not None:
            failures.append(f)
        if (f := rules.not_started_failure(body.mark, bounds(ts)[0], now)) is not None:
            failures.append(f)
        if body.mark == rules.EXCUSED:
            failures += check_excuse(body.reason_code, body.evidence_ref)
        if failures:
            raise RuleViolation(failures)
        assert entry is not None
        row = repo.mark(ts.id, trainee_id, lock=True)
        previous = row.mark if row else _virtual_mark(ts, now)
        if row is None:
            row = Mark(session_id=ts.id, cohort_id=cohort.id, trainee_id=trainee_id, mark=body.mark, punches=[])
            repo.add_mark(row)
        excused = body.mark == rules.EXCUSED
        row.mark, row.source, row.updated_by, row.updated_at = body.mark, "staff", principal.sub, utcnow()
        row.reason_code = body.reason_code if excused else None
        row.evidence_ref = body.evidence_ref if excused else None
        repo.record_change(
            MarkChange(
                session_id=ts.id,
                trainee_id=trainee_id,
                previous_mark=previous,
                new_mark=body.mark,
                reason=body.reason,
                reason_code=row.reason_code,
                evidence_ref=row.evidence_ref,
                changed_by=principal.sub,
            )
        )
        evaluate(uow, policy=policy, cohort=cohort, entries=[entry], now=now)
        result = _detail(repo, row, ts, clock)
        uow.commit()
        return result


def _detail(repo: AttendanceRepository, row: Mark, ts: TrainingSession, clock: Clock) -> MarkDetail:
    history = repo.mark_history(ts.id, row.trainee_id)
    return MarkDetail(
        **mark_out(row, ts, clock).model_dump(),
        history=[
            MarkChangeOut(
                previous_mark=h.previous_mark,
                new_mark=h.new_mark,
                reason=h.reason,
                reason_code=h.reason_code,
                evidence_ref=h.evidence_ref,
                changed_by=h.changed_by,
                changed_at=h.changed_at,
            )
            for h in history
        ],
    )


def get_mark(
    uow: Uow, *, principal: Principal, clock: Clock, session_id: uuid.UUID, trainee_id: uuid.UUID
) -> MarkDetail:
    if not principal.is_staff and principal.sub != str(trainee_id):
        raise not_found("mark", trainee_id)
    with uow:
        repo = uow.repo
        ts, cohort = load_session(repo, principal, session_id)
        entry = repo.roster_entry(cohort.id, trainee_id)
        if entry is None:
            raise not_found("trainee on this roster", trainee_id)
        row = repo.mark(ts.id, trainee_id)
        if row is None:
            return MarkDetail(
                session_id=ts.id,
                cohort_id=cohort.id,
                trainee_id=trainee_id,
                date=ts.date,
                mark=None if before_joining(ts.date, entry.enrolled_on) else _virtual_mark(ts, wall_now(clock)),
                source="none",
            )
        return _detail(repo, row, ts, clock)


def session_roster(uow: Uow, *, principal: Principal, clock: Clock, session_id: uuid.UUID) -> SessionRoster:
    with uow:
        repo = uow.repo
        ts, cohort = load_session(repo, principal, session_id)
        marks = repo.marks_of_session(ts.id)
        virtual = _virtual_mark(ts, wall_now(clock))
        rows = []
        for e in repo.roster_of(cohort.id):
            m = marks.get(e.trainee_id)
            if (e.withdrawn_on is not None and ts.date >= e.withdrawn_on) or before_joining(ts.date, e.enrolled_on):
                mark = None
            else:
                mark = m.mark if m else virtual
            rows.append(
                SessionRosterRow(
                    trainee_id=e.trainee_id,
                    name=e.name,
                    status=e.status,
                    mark=mark,
                    check_in_at=aware(m.check_in_at, clock) if m else None,
                    check_out_at=aware(m.check_out_at, clock) if m else None,
                )
            )
        return SessionRoster(session=session_out(ts), rows=rows)
