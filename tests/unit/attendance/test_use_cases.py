"""Attendance's use cases against an in-memory repository, a fake unit of work and a clock that stands still.

No database, no broker: roster upkeep from enrollment's events, check-in (window, roster, rotating code),
marks (late, early leave, excuses, bulk), at-risk warnings, monthly allowance periods and closing a cohort.
"""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

import pytest

from services.attendance.adapters.orm import PendingEnrollment
from services.attendance.domain import qr
from services.attendance.entrypoints.events import on_cohort_published, on_cohort_rescheduled, on_enrolled, on_withdrawn
from services.attendance.schemas import BulkCheckInIn, BulkReading, CheckInIn, MarkIn
from services.attendance.service_layer import marks, roster, standing
from services.attendance.service_layer.policy import policy_of
from services.attendance.settings import Settings
from shared import events
from shared.auth import Principal
from shared.consumer import HandlerContext, PermanentEventError
from shared.problems import Problem, RuleViolation
from tests.fakes import FakeUnitOfWork, FixedClock
from tests.unit.attendance.fakes import FakeAttendanceRepository

CAMPUS = "seoul"
MONDAY = date(2027, 3, 1)
DAYS = [MONDAY + timedelta(days=n) for n in range(14) if (MONDAY + timedelta(days=n)).weekday() < 5]  # 10 days
STAFF = Principal(sub="instructor-1", roles=frozenset({"instructor"}), campuses=frozenset({CAMPUS}))
SETTINGS = Settings()
POLICY = policy_of(SETTINGS)


def snapshot(days: list[date] = DAYS, threshold: float = 0.8, hours: float = 8.0) -> events.CohortSnapshot:
    return events.CohortSnapshot(
        cohort_id=uuid.uuid4(),
        programme_code="P-WELD",
        programme_title="Special Welding",
        campus=CAMPUS,
        track="national_qualification",
        total_hours=80,
        completion_threshold=threshold,
        qualification_codes=["WELD-CRAFTSMAN"],
        start_date=days[0],
        end_date=days[-1],
        sessions=[events.SessionSlot(date=d, start=time(9), end=time(18), hours=hours) for d in days],
    )


def enrolled(
    snap: events.CohortSnapshot, name: str = "Kim Minji", trainee: uuid.UUID | None = None
) -> events.TraineeEnrolled:
    trainee = trainee or uuid.uuid4()
    return events.TraineeEnrolled(
        trainee_id=trainee,
        enrollment_id=uuid.uuid5(trainee, name),
        name=name,
        birth_date=date(1990, 1, 1),
        enrolled_on=snap.start_date,
        cohort=snap,
    )


class World:
    """A cohort of ten weekdays with trainees enrolled through the event handler, on a clock set on day one."""

    def __init__(self, trainees: int = 1, **snap: object) -> None:
        self.repo = FakeAttendanceRepository()
        self.uow = FakeUnitOfWork(self.repo)
        self.clock = FixedClock(MONDAY, time(9, 5))
        self.snap = snapshot(**snap)  # type: ignore[arg-type]
        self.trainees = [uuid.uuid4() for _ in range(trainees)]
        for i, t in enumerate(self.trainees):
            self.handle(on_enrolled, enrolled(self.snap, f"trainee {i}", t))
        self.sessions = self.repo.sessions_of(self.snap.cohort_id)

    def handle(self, handler, data) -> None:  # noqa: ANN001
        with self.uow:  # as the consumer does: it opens, the handler works, the consumer commits
            handler(HandlerContext(uow=self.uow, settings=SETTINGS, clock=self.clock), data, None)
            self.uow.commit()

    def check_in(
        self,
        trainee: uuid.UUID,
        at: str | None = None,
        day: int = 0,
        *,
        principal: Principal = STAFF,
        kind: str = "in",
        code: str | None = None,
    ):  # noqa: ANN201
        return marks.check_in(
            self.uow,
            principal=principal,
            policy=POLICY,
            clock=self.clock,
            session_id=self.sessions[day].id,
            body=CheckInIn(
                trainee_id=trainee, kind=kind, method="card", at=f"{DAYS[day]}T{at}:00+09:00" if at else None, code=code
            ),
        )

    def set_mark(self, trainee: uuid.UUID, day: int, mark: str, **extra: str):  # noqa: ANN201
        return marks.set_mark(
            self.uow,
            principal=STAFF,
            policy=POLICY,
            clock=self.clock,
            session_id=self.sessions[day].id,
            trainee_id=trainee,
            body=MarkIn(mark=mark, reason=extra.pop("reason", "staff entry"), **extra),
        )

    def entry(self, trainee: uuid.UUID):  # noqa: ANN201
        return self.repo.roster[(self.snap.cohort_id, trainee)]


def rules_of(exc: pytest.ExceptionInfo) -> list[str]:
    return [f.rule for f in exc.value.errors]


# -- roster upkeep from enrollment's events -------------------------------------------------------------
def test_an_enrollment_brings_the_cohort_its_timetable_and_the_trainee():
    w = World(trainees=2)
    cohort = w.repo.cohorts[w.snap.cohort_id]
    assert (cohort.campus, cohort.completion_threshold, len(w.sessions)) == (CAMPUS, 0.8, 10)
    assert [s.date for s in w.sessions] == DAYS
    assert sorted(e.trainee_id for e in w.repo.roster.values()) == sorted(w.trainees)
    assert w.uow.committed == 2 and w.uow.events == []  # keeping the roster emits nothing


def test_a_redelivered_enrollment_changes_nothing_and_a_later_one_renames():
    w = World(trainees=0)
    first = enrolled(w.snap, "Kim Minji")
    w.handle(on_enrolled, first)
    w.handle(on_enrolled, first)
    [entry] = w.repo.roster.values()
    assert (entry.name, len(w.repo.sessions)) == ("Kim Minji", 10)
    w.handle(on_enrolled, first.model_copy(update={"name": "Kim Min-ji"}))
    assert len(w.repo.roster) == 1 and entry.name == "Kim Min-ji"


def test_a_batch_of_enrollments_of_one_snapshot_takes_one_row_per_trainee():
    w = World(trainees=0)
    again = uuid.uuid4()
    items = [enrolled(w.snap, "A", again), enrolled(w.snap, "B"), enrolled(w.snap, "A2", again)]
    with w.uow:
        roster.enroll_many(w.uow.repo, items)
        w.uow.commit()
    assert len(w.repo.roster) == 2 and w.entry(again).name == "A2"  # the last item's name


def test_a_withdrawal_marks_the_entry_and_an_unknown_trainee_is_a_permanent_error():
    w = World()
    withdrawal = events.TraineeWithdrawn(
        trainee_id=w.trainees[0],
        enrollment_id=uuid.uuid4(),
        cohort_id=w.snap.cohort_id,
        campus=CAMPUS,
        programme_code="P-WELD",
        date=DAYS[3],
        reason="personal",
    )
    w.handle(on_withdrawn, withdrawal)
    assert (w.entry(w.trainees[0]).status, w.entry(w.trainees[0]).withdrawn_on) == ("withdrawn", DAYS[3])
    with pytest.raises(PermanentEventError):
        w.handle(on_withdrawn, withdrawal.model_copy(update={"trainee_id": uuid.uuid4()}))


# -- check in ----------------------------------------------------------------------------------------------
def test_a_staff_check_in_within_the_grace_is_present_and_a_later_one_is_late():
    w = World(trainees=2)
    w.clock.set(DAYS[0], time(9, 30))
    out = w.check_in(w.trainees[0], "09:05")
    assert (out.mark, out.source, out.check_in_at.isoformat()) == ("present", "punches", f"{DAYS[0]}T09:05:00+09:00")
    assert w.check_in(w.trainees[1], "09:20").mark == "late"
    assert {m.mark for m in w.repo.marks.values()} == {"present", "late"}
    assert w.uow.committed == 2 + 2 and w.uow.events == []  # a late is not yet a risk


def test_the_same_reading_twice_answers_the_same_mark_and_keeps_one_punch():
    w = World()
    first = w.check_in(w.trainees[0], "09:05")
    again = w.check_in(w.trainees[0], "09:05")
    assert again == first
    assert len(w.repo.marks[(w.sessions[0].id, w.trainees[0])].punches) == 1


def test_a_single_reading_that_changes_the_standing_re_evaluates_the_trainee_and_may_lift_a_risk():
    """A check-out that turns the mark absent moves the rate; a later reading that brings the mark back lifts
    an at-risk trainee (the single path loads the roster entry only then)."""
    w = World()
    trainee = w.trainees[0]
    w.clock.set(DAYS[0], time(12))
    assert w.check_in(trainee, "08:58").mark == "present"
    assert w.entry(trainee).current_rate is None  # a present mark leaves the standing alone
    assert w.check_in(trainee, "10:00", kind="out").mark == "absent"
    assert w.entry(trainee).current_rate == 0.0 and w.entry(trainee).at_risk
    [warning] = w.uow.emitted(events.TRAINEE_AT_RISK)
    assert warning["trainee_id"] == str(trainee)
    w.clock.set(DAYS[0], time(19))
    assert w.check_in(trainee, "10:05").mark == "out"  # back within the hour: a minor mark, not an absence
    assert w.entry(trainee).current_rate == 1.0 and not w.entry(trainee).at_risk


def test_a_reading_outside_the_window_or_off_the_roster_or_ahead_of_time_is_refused_and_stores_nothing():
    w = World()
    with pytest.raises(RuleViolation) as refused:
        w.check_in(w.trainees[0], "08:00")  # the window opens at 08:30
    assert rules_of(refused) == ["check-in.outside-window"]
    with pytest.raises(RuleViolation) as refused:
        w.check_in(uuid.uuid4(), "09:05")
    assert rules_of(refused) == ["roster.not-on-roster"]
    with pytest.raises(RuleViolation) as refused:
        w.check_in(w.trainees[0], "09:30")  # the clock says 09:05
    assert rules_of(refused) == ["check-in.future"]
    assert w.repo.marks == {} and w.uow.events == []


def test_a_trainee_checks_in_with_the_rotating_code_now_and_is_refused_without_it_or_with_an_old_one():
    w = World()
    me = Principal(sub=str(w.trainees[0]), roles=frozenset({"trainee"}), campuses=frozenset())
    with pytest.raises(RuleViolation) as refused:
        w.check_in(w.trainees[0], principal=me)
    assert rules_of(refused) == [qr.REQUIRED]
    now = w.clock.now().timestamp()
    stale = qr.code_for(POLICY.qr, w.sessions[0].id, POLICY.qr.window(now) - 4)
    with pytest.raises(RuleViolation) as refused:
        w.check_in(w.trainees[0], principal=me, code=stale)
    assert rules_of(refused) == [qr.EXPIRED] and w.repo.marks == {}
    shown = marks.qr_code(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, session_id=w.sessions[0].id)
    assert shown.issued_at <= w.clock.now() < shown.refresh_at
    out = w.check_in(w.trainees[0], "08:00", principal=me, code=shown.code)  # a trainee cannot choose the time
    assert (out.mark, out.check_in_at) == ("present", w.clock.now())


def test_a_trainee_checks_in_only_itself():
    w = World(trainees=2)
    me = Principal(sub=str(w.trainees[0]), roles=frozenset({"trainee"}), campuses=frozenset())
    with pytest.raises(Problem) as refused:
        w.check_in(w.trainees[1], principal=me)
    assert refused.value.status in (403, 404) and w.repo.marks == {}


# -- marks -------------------------------------------------------------------------------------------------
def test_an_early_leave_and_a_staff_correction_with_its_history():
    w = World()
    w.clock.set(DAYS[0], time(18, 30))
    w.check_in(w.trainees[0], "09:00")
    assert w.check_in(w.trainees[0], "16:00", kind="out").mark == "early_leave"
    detail = w.set_mark(w.trainees[0], 0, "present", reason="left for the dentist, agreed")
    assert (detail.mark, detail.source) == ("present", "staff")
    assert [(h.previous_mark, h.new_mark, h.changed_by) for h in detail.history] == [
        ("early_leave", "present", "instructor-1")
    ]


def test_an_excuse_needs_a_reason_code_and_evidence():
    w = World()
    with pytest.raises(RuleViolation) as refused:
        w.set_mark(w.trainees[0], 0, "excused")
    assert rules_of(refused) == ["excuse.reason-code", "excuse.evidence"]
    assert w.repo.marks == {} and w.repo.changes == []
    detail = w.set_mark(w.trainees[0], 0, "excused", reason_code="job_interview", evidence_ref="E-1")
    assert (detail.mark, detail.reason_code, detail.evidence_ref) == ("excused", "job_interview", "E-1")


def test_a_mark_on_a_session_not_started_is_refused_but_an_excuse_planned_ahead_is_kept():
    w = World()
    trainee = w.trainees[0]  # the clock reads day one, 09:05: day one's session has started, the others not
    with pytest.raises(RuleViolation) as refused:
        w.set_mark(trainee, 7, "absent", reason="said they will not come")
    assert rules_of(refused) == ["mark.session-not-started"] and refused.value.status == 422
    assert w.repo.marks == {} and w.repo.changes == [] and not w.entry(trainee).at_risk
    with pytest.raises(RuleViolation) as refused:  # a present mark ahead as well: only excuses wait for no one
        w.set_mark(trainee, 1, "present")
    assert rules_of(refused) == ["mark.session-not-started"]
    notice = w.set_mark(trainee, 7, "excused", reason_code="reserve_forces", evidence_ref="MND-2027-0042")
    assert (notice.mark, notice.reason_code, notice.history[0].previous_mark) == ("excused", "reserve_forces", None)
    assert w.set_mark(trainee, 0, "late", reason="came at 09:30").mark == "late"  # today's, under way


def test_bulk_readings_are_accepted_duplicate_or_refused_row_by_row():
    w = World(trainees=2)
    w.clock.set(DAYS[0], time(12))
    a, b = w.trainees
    stranger = uuid.uuid4()
    body = BulkCheckInIn(
        items=[
            BulkReading(trainee_id=a, method="card", at=f"{DAYS[0]}T08:58:00+09:00"),
            BulkReading(trainee_id=a, method="card", at=f"{DAYS[0]}T08:58:00+09:00"),
            BulkReading(trainee_id=b, method="card", at=f"{DAYS[0]}T09:15:00+09:00"),
            BulkReading(trainee_id=b, method="card", at=f"{DAYS[0]}T09:04:00+09:00"),  # the first reading counts
            BulkReading(trainee_id=stranger, method="card", at=f"{DAYS[0]}T09:00:00+09:00"),
        ]
    )
    report = marks.bulk_check_in(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, session_id=w.sessions[0].id, body=body
    )
    assert (report.received, report.accepted, report.duplicates, report.refused) == (5, 3, 1, 1)
    assert [(r.status, r.mark, r.rule) for r in report.rows] == [
        ("accepted", "present", None),
        ("duplicate", "present", None),
        ("accepted", "present", None),
        ("accepted", "present", None),
        ("refused", None, "roster.not-on-roster"),
    ]
    assert {t: m.mark for (_, t), m in w.repo.marks.items()} == {a: "present", b: "present"}


def test_a_bulk_reading_that_changes_a_mark_already_there_re_evaluates_the_trainee():
    """A check-out batch turns a present mark absent: the trainee's rate follows, as after a single check-out."""
    w = World()
    trainee = w.trainees[0]
    w.clock.set(DAYS[0], time(12))
    assert w.check_in(trainee, "08:58").mark == "present"
    assert w.entry(trainee).current_rate is None  # a present mark leaves the standing alone
    body = BulkCheckInIn(
        items=[BulkReading(trainee_id=trainee, kind="out", method="card", at=f"{DAYS[0]}T10:00:00+09:00")]
    )
    report = marks.bulk_check_in(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, session_id=w.sessions[0].id, body=body
    )
    assert [r.mark for r in report.rows] == ["absent"]
    assert w.entry(trainee).current_rate == 0.0


def test_a_bulk_request_beyond_the_limit_is_refused_whole():
    w = World()
    few = POLICY.__class__(**{**POLICY.__dict__, "check_in": POLICY.check_in.__class__(bulk_max_readings=1)})
    body = BulkCheckInIn(items=[BulkReading(trainee_id=w.trainees[0], method="card")] * 2)
    with pytest.raises(RuleViolation) as refused:
        marks.bulk_check_in(w.uow, principal=STAFF, policy=few, clock=w.clock, session_id=w.sessions[0].id, body=body)
    assert rules_of(refused) == ["bulk.too-many"] and w.repo.marks == {}


def test_a_bulk_reading_is_checked_as_a_single_check_in_is():
    """The lean item model of a bulk request refuses what ``CheckInIn`` refuses, field by field."""
    from pydantic import ValidationError

    trainee = str(uuid.uuid4())
    bad = [
        ({"trainee_id": trainee, "code": "12\x0034"}, ("items", 0, "code"), "text.control-character"),
        ({"trainee_id": trainee, "code": "x" * 33}, ("items", 0, "code"), "string_too_long"),
        ({"trainee_id": trainee, "kind": "sideways"}, ("items", 0, "kind"), "literal_error"),
        ({"trainee_id": trainee, "at": "2199-01-01T09:00:00+09:00"}, ("items", 0, "at"), "date.out-of-range"),
        ({"trainee_id": "not-a-uuid"}, ("items", 0, "trainee_id"), "uuid_parsing"),
    ]
    for item, loc, kind in bad:
        with pytest.raises(ValidationError) as refused:
            BulkCheckInIn.model_validate({"items": [item]})
        assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [(loc, kind)], item
        with pytest.raises(ValidationError) as single:
            CheckInIn.model_validate(item)
        assert [e["type"] for e in single.value.errors()] == [kind]


# -- at-risk warnings --------------------------------------------------------------------------------------
def test_at_risk_is_warned_once_per_crossing():
    w = World()
    trainee = w.trainees[0]
    for day in range(9):  # each day recorded once its session has started: nothing unrecorded counts
        w.clock.set(DAYS[day], time(9, 30))
        w.set_mark(trainee, day, "present")
    w.clock.set(DAYS[-1], time(8))  # nine sessions held, all present
    assert w.uow.emitted(events.TRAINEE_AT_RISK) == [] and not w.entry(trainee).at_risk
    w.set_mark(trainee, 0, "absent")
    w.set_mark(trainee, 1, "absent")  # max possible 8/10: still reachable; rate 7/9 < 0.8: at risk
    [warning] = w.uow.emitted(events.TRAINEE_AT_RISK)
    assert (warning["reason"], warning["threshold"], warning["campus"]) == ("below_threshold", 0.8, CAMPUS)
    assert warning["current_rate"] == round(7 / 9, 4) and w.entry(trainee).at_risk
    w.set_mark(trainee, 2, "absent")  # further down: no second warning
    assert len(w.uow.emitted(events.TRAINEE_AT_RISK)) == 1 and len(w.repo.warnings) == 1
    for day in (0, 1, 2):
        w.set_mark(trainee, day, "excused", reason_code="job_interview", evidence_ref="E-1")
    assert not w.entry(trainee).at_risk  # re-armed
    w.set_mark(trainee, 0, "absent")
    w.set_mark(trainee, 1, "absent")
    assert len(w.uow.emitted(events.TRAINEE_AT_RISK)) == 2  # a second crossing, a second warning


def test_the_sweep_counts_unrecorded_past_sessions_as_absences():
    w = World()
    w.clock.set(DAYS[4], time(19))  # five sessions over, nothing recorded
    assert standing.sweep_at_risk(w.uow, policy=POLICY, clock=w.clock) == 1
    [warning] = w.uow.emitted(events.TRAINEE_AT_RISK)
    assert warning["trainee_id"] == str(w.trainees[0]) and warning["reason"] == "cannot_reach_threshold"
    assert standing.sweep_at_risk(w.uow, policy=POLICY, clock=w.clock) == 0  # once per crossing


# -- plan versions: slim enrollments held until their cohort's plan, timetable changes --------------------------
def slim(snap: events.CohortSnapshot, trainee: uuid.UUID, plan_version: int = 1) -> events.TraineeEnrolled:
    return events.TraineeEnrolled(
        trainee_id=trainee,
        enrollment_id=uuid.uuid5(trainee, "slim"),
        name="Lee Seoyeon",
        birth_date=date(1992, 2, 2),
        cohort_id=snap.cohort_id,
        campus=snap.campus,
        programme_code=snap.programme_code,
        plan_version=plan_version,
        enrolled_on=snap.start_date,
    )


def published(snap: events.CohortSnapshot) -> events.CohortPublished:
    return events.CohortPublished(**snap.model_dump())


def rescheduled(
    snap: events.CohortSnapshot, sessions: list[date], version: int, kind: str = "cancel"
) -> events.CohortRescheduled:
    data = snap.model_dump()
    data.update(
        plan_version=version,
        sessions=[events.SessionSlot(date=d, start=time(9), end=time(18), hours=8.0) for d in sessions],
        end_date=max(sessions),
    )
    return events.CohortRescheduled(**data, change=events.PlanChange(kind=kind), reason="holiday")


def test_a_slim_enrollment_before_its_cohort_is_held_then_applied_when_the_cohort_arrives():
    w = World(trainees=0)
    trainee = uuid.uuid4()
    w.handle(on_enrolled, slim(w.snap, trainee))
    assert w.repo.roster == {} and list(w.repo.pending) == [(w.snap.cohort_id, trainee)]
    w.handle(on_cohort_published, published(w.snap))
    assert w.entry(trainee).name == "Lee Seoyeon" and w.repo.pending == {}
    assert len(w.repo.sessions_of(w.snap.cohort_id)) == 10


def test_a_slim_enrollment_of_a_later_plan_waits_for_that_plan():
    w = World(trainees=0)
    w.handle(on_cohort_published, published(w.snap))
    trainee = uuid.uuid4()
    w.handle(on_enrolled, slim(w.snap, trainee, plan_version=2))
    assert w.repo.roster == {}  # plan 1 is here, the enrollment was made against plan 2
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, DAYS[:9], 2))
    assert w.entry(trainee).status == "active" and w.repo.pending == {}


def test_a_slim_enrollment_of_a_known_plan_is_applied_at_once_and_in_batches():
    w = World(trainees=0)
    w.handle(on_cohort_published, published(w.snap))
    a, b = uuid.uuid4(), uuid.uuid4()
    with w.uow:
        roster.enroll_many(w.uow.repo, [slim(w.snap, a), enrolled(w.snap, "old form", b)])
        w.uow.commit()
    assert w.entry(a).name == "Lee Seoyeon" and w.entry(b).name == "old form" and w.repo.pending == {}


def test_a_withdrawal_of_a_held_enrollment_is_applied_with_it():
    w = World(trainees=0)
    trainee = uuid.uuid4()
    w.handle(on_enrolled, slim(w.snap, trainee))
    w.handle(
        on_withdrawn,
        events.TraineeWithdrawn(
            trainee_id=trainee,
            enrollment_id=uuid.uuid4(),
            cohort_id=w.snap.cohort_id,
            campus=CAMPUS,
            programme_code="P-WELD",
            date=DAYS[2],
            reason="personal",
        ),
    )
    w.handle(on_cohort_published, published(w.snap))
    assert (w.entry(trainee).status, w.entry(trainee).withdrawn_on) == ("withdrawn", DAYS[2])


def test_an_enrollment_held_for_a_newer_plan_is_decided_when_the_cohort_closes_first():
    """Held for plan 2, the cohort closed on plan 1's end: the close takes the trainee in and decides them, once."""
    w = World(trainees=0)
    w.handle(on_cohort_published, published(w.snap))  # attendance has plan 1
    trainee = uuid.uuid4()
    w.handle(on_enrolled, slim(w.snap, trainee, plan_version=2))
    assert (w.snap.cohort_id, trainee) in w.repo.pending
    w.clock.set(DAYS[-1] + timedelta(days=1), time(9))
    assert standing.close_ended(w.uow, policy=POLICY, clock=w.clock) == 1
    assert (w.snap.cohort_id, trainee) not in w.repo.pending
    [decided] = w.uow.emitted(events.TRAINEE_NOT_COMPLETED)  # no session attended
    assert decided["trainee_id"] == str(trainee)
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, DAYS[:9], 2))  # plan 2 arrives after the close
    assert len(w.uow.emitted(events.TRAINEE_NOT_COMPLETED)) == 1 and w.uow.emitted(events.TRAINEE_AT_RISK) == []


def test_an_enrollment_held_when_the_cohort_is_closed_is_decided_when_the_plan_arrives():
    """Released by a plan that reaches a closed cohort: decided at once as a late decision."""
    w = World(trainees=0)
    w.handle(on_cohort_published, published(w.snap))
    w.clock.set(DAYS[-1] + timedelta(days=1), time(9))
    assert standing.close_ended(w.uow, policy=POLICY, clock=w.clock) == 1
    trainee = uuid.uuid4()
    w.repo.hold_enrollments(  # held before the close by an older build, say: still released and decided
        [
            PendingEnrollment(
                cohort_id=w.snap.cohort_id,
                trainee_id=trainee,
                plan_version=3,
                data=slim(w.snap, trainee, plan_version=3).model_dump(mode="json"),
            )
        ]
    )
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, DAYS, 3))
    assert (w.snap.cohort_id, trainee) not in w.repo.pending
    [decided] = w.uow.emitted(events.TRAINEE_NOT_COMPLETED)
    assert decided["trainee_id"] == str(trainee)


def test_an_older_plan_in_an_earlier_form_enrollment_does_not_undo_a_reschedule():
    w = World(trainees=1)
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, DAYS[:9], 2))
    assert len(w.repo.sessions_of(w.snap.cohort_id)) == 9
    w.handle(on_enrolled, enrolled(w.snap, "late old form"))  # carries plan 1 with ten sessions
    cohort = w.repo.cohorts[w.snap.cohort_id]
    assert cohort.plan_version == 2 and len(w.repo.sessions_of(w.snap.cohort_id)) == 9


def test_a_cancelled_session_leaves_the_plan_its_marks_kept_but_no_longer_counted():
    w = World()
    trainee = w.trainees[0]
    w.clock.set(DAYS[0], time(19))  # day one's session is over
    w.set_mark(trainee, 0, "absent")
    w.set_mark(trainee, 1, "excused", reason_code="job_interview", evidence_ref="E-1")  # an excuse entered ahead
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, [d for d in DAYS if d != DAYS[1]], 2))
    cancelled = w.repo.sessions[w.sessions[1].id]
    assert cancelled.cancelled and (cancelled.id, trainee) in w.repo.marks  # kept, out of the plan
    assert len(w.repo.sessions_of(w.snap.cohort_id)) == 9
    [out] = standing.trainee_attendance(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, trainee_id=trainee, cohort_id=None
    )
    assert (out.scheduled_days, out.held_days, out.attended_days) == (9, 1, 0)
    assert out.max_possible_rate == round(8 / 9, 4)
    w.clock.set(DAYS[1], time(19))  # the day the cancelled session would have taken place
    with pytest.raises(RuleViolation) as exc:
        w.set_mark(trainee, 1, "present")
    assert rules_of(exc) == ["session.cancelled"]


def test_a_new_plan_that_leaves_a_trainee_short_warns_once():
    w = World()
    trainee = w.trainees[0]
    w.clock.set(DAYS[4], time(19))  # five sessions over; marks are set on sessions that have started
    for day in range(1, 5):
        w.set_mark(trainee, day, "present")
    w.set_mark(trainee, 0, "absent")
    w.uow.events.clear()  # the warnings of the way there (unrecorded sessions count as absences) are not the point
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, DAYS, 1))  # the same plan again: nothing changes
    assert w.entry(trainee).current_rate == 0.8 and not w.entry(trainee).at_risk
    # today's session (attended) is cancelled: 3 attended of 4 held, below the threshold
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, [d for d in DAYS if d != DAYS[4]], 2))
    [warning] = w.uow.emitted(events.TRAINEE_AT_RISK)
    assert (warning["reason"], warning["current_rate"]) == ("below_threshold", 0.75) and w.entry(trainee).at_risk
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, [d for d in DAYS[:-1] if d != DAYS[4]], 3))
    assert len(w.uow.emitted(events.TRAINEE_AT_RISK)) == 1  # still at risk: no second warning
    assert w.entry(trainee).max_possible_rate == round(7 / 8, 4)


def test_a_cancelled_day_changes_the_month_s_rate_and_allowance():
    days = [date(2027, 3, 29), date(2027, 3, 30), date(2027, 3, 31), date(2027, 4, 1), date(2027, 4, 2)]
    w = World(days=days, hours=6.0)
    w.clock.set(date(2027, 3, 31), time(8))
    trainee = w.trainees[0]
    w.set_mark(trainee, 0, "present")
    w.set_mark(trainee, 1, "present")
    w.set_mark(trainee, 2, "excused", reason_code="job_interview", evidence_ref="E-2")
    w.clock.set(date(2027, 4, 1), time(19))
    w.set_mark(trainee, 3, "present")
    w.clock.set(date(2027, 4, 5), time(9))  # 2 April passed with nothing recorded: absent; April 1 of 2, 50%
    [out] = standing.trainee_attendance(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, trainee_id=trainee, cohort_id=None
    )
    assert [(m.month, m.allowance_krw) for m in out.months] == [("2027-03", 17_400), ("2027-04", 0)]
    w.clock.set(date(2027, 3, 31), time(8))  # the 2 April session is cancelled before it took place
    w.handle(on_cohort_rescheduled, rescheduled(w.snap, days[:4], 2))
    w.clock.set(date(2027, 4, 5), time(9))
    [out] = standing.trainee_attendance(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, trainee_id=trainee, cohort_id=None
    )
    april = out.months[1]
    assert (april.scheduled_days, april.attended_days, april.rate, april.allowance_krw) == (1, 1, 1.0, 5_800)


# -- monthly allowance periods -------------------------------------------------------------------------------
def test_monthly_periods_pay_per_attended_day_and_nothing_below_the_month_threshold():
    days = [date(2027, 3, 29), date(2027, 3, 30), date(2027, 3, 31), date(2027, 4, 1), date(2027, 4, 2)]
    w = World(days=days, hours=6.0)
    w.clock.set(date(2027, 4, 5), time(9))
    trainee = w.trainees[0]
    for day in range(3):
        w.set_mark(trainee, day, "present")
    w.set_mark(trainee, 3, "present")  # April: one of two attended, 50%
    [out] = standing.trainee_attendance(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, trainee_id=trainee, cohort_id=None
    )
    march, april = out.months
    assert (march.month, march.attended_days, march.rate, march.allowance_krw) == ("2027-03", 3, 1.0, 3 * 5_800)
    assert (april.month, april.attended_days, april.rate, april.allowance_krw) == ("2027-04", 1, 0.5, 0)
    sheet = standing.month_sheet(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id, month="2027-03"
    )
    assert [(r.attended_days, r.allowance_krw) for r in sheet.rows] == [(3, 17_400)]


# -- closing a cohort --------------------------------------------------------------------------------------
def test_closing_decides_every_trainee_once_by_the_80_percent_rule_and_publishes_it():
    w = World(trainees=3)
    good, short, gone = w.trainees
    w.clock.set(DAYS[-1], time(19))
    for day in range(10):
        w.set_mark(good, day, "present" if day < 8 else "absent")  # 8/10: completes
        w.set_mark(short, day, "present" if day < 7 else "absent")  # 7/10: does not
    w.handle(
        on_withdrawn,
        events.TraineeWithdrawn(
            trainee_id=gone,
            enrollment_id=uuid.uuid4(),
            cohort_id=w.snap.cohort_id,
            campus=CAMPUS,
            programme_code="P-WELD",
            date=DAYS[2],
            reason="personal",
        ),
    )
    out = standing.close_cohort(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id)
    assert (out.closed_on, out.completed, out.not_completed, out.already_decided) == (DAYS[-1], 1, 2, 0)
    [completed] = w.uow.emitted(events.TRAINEE_COMPLETED)
    assert (completed["trainee_id"], completed["final_rate"], completed["completion_date"]) == (
        str(good),
        0.8,
        DAYS[-1].isoformat(),
    )
    assert {(d["trainee_id"], d["reason"]) for d in w.uow.emitted(events.TRAINEE_NOT_COMPLETED)} == {
        (str(short), "below_threshold"),
        (str(gone), "withdrawn"),
    }
    assert {t: c.outcome for (_, t), c in w.repo.completions.items()} == {
        good: "completed",
        short: "not_completed",
        gone: "not_completed",
    }
    assert w.repo.locked == [w.snap.cohort_id]


def test_a_closed_cohort_is_not_closed_again_and_its_marks_no_longer_change():
    w = World()
    w.clock.set(DAYS[-1], time(19))
    standing.close_cohort(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id)
    sent = list(w.uow.events)
    with pytest.raises(RuleViolation) as refused:
        standing.close_cohort(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id)
    assert rules_of(refused) == ["cohort.already-closed"] and refused.value.status == 409
    with pytest.raises(RuleViolation) as refused:
        w.set_mark(w.trainees[0], 0, "present")
    assert rules_of(refused) == ["cohort.closed"]
    assert w.uow.events == sent and len(w.repo.completions) == 1


def test_a_cohort_is_not_closed_before_it_starts():
    w = World()
    w.clock.set(MONDAY - timedelta(days=3))
    with pytest.raises(RuleViolation) as refused:
        standing.close_cohort(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id)
    assert rules_of(refused) == ["cohort.not-started"]
    assert w.uow.events == [] and w.repo.completions == {} and w.repo.cohorts[w.snap.cohort_id].closed_on is None


def test_the_background_job_closes_cohorts_whose_end_has_passed_on_the_clock_s_today():
    w = World()
    assert standing.close_ended(w.uow, policy=POLICY, clock=w.clock) == 0  # running
    w.clock.set(DAYS[-1] + timedelta(days=1))
    assert standing.close_ended(w.uow, policy=POLICY, clock=w.clock) == 1
    assert w.repo.cohorts[w.snap.cohort_id].closed_on == DAYS[-1]
    [decision] = w.uow.emitted(events.TRAINEE_NOT_COMPLETED)  # nothing recorded: every day absent
    assert (decision["final_rate"], decision["date"]) == (0.0, DAYS[-1].isoformat())
    assert standing.close_ended(w.uow, policy=POLICY, clock=w.clock) == 0


def test_the_settings_defaults_are_the_domain_s_policy():
    from services.attendance.domain.marks import CheckInPolicy, MarkPolicy
    from services.attendance.domain.qr import QrPolicy
    from services.attendance.domain.standing import AllowancePolicy, StandingPolicy

    assert (POLICY.marks, POLICY.check_in, POLICY.standing, POLICY.allowance) == (
        MarkPolicy(),
        CheckInPolicy(),
        StandingPolicy(),
        AllowancePolicy(),
    )
    assert (POLICY.qr.window_s, POLICY.qr.lookback_windows) == (QrPolicy(b"").window_s, QrPolicy(b"").lookback_windows)


# -- late joiners and enrollments that reach a closed cohort ----------------------------------------------
def joined_late(snap: events.CohortSnapshot, on: date, name: str = "Late Joiner") -> events.TraineeEnrolled:
    return enrolled(snap, name).model_copy(update={"enrolled_on": on})


def test_a_late_joiner_s_standing_counts_only_the_sessions_from_the_join_date():
    w = World(trainees=0)
    data = joined_late(w.snap, DAYS[3])
    w.handle(on_enrolled, data)
    w.sessions = w.repo.sessions_of(w.snap.cohort_id)
    w.clock.set(DAYS[5], time(19))  # days 0-5 held; the trainee joined on day 3
    for day in (3, 4, 5):
        w.set_mark(data.trainee_id, day, "present")
    [out] = standing.trainee_attendance(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, trainee_id=data.trainee_id, cohort_id=None
    )
    assert (out.scheduled_days, out.held_days, out.attended_days, out.absences) == (7, 3, 3, 0)
    assert (out.current_rate, out.max_possible_rate, out.at_risk) == (1.0, 1.0, False)
    [month] = out.months
    assert (month.scheduled_days, month.attended_days, month.allowance_krw) == (7, 3, 3 * 5_800)
    sheet = standing.month_sheet(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id, month="2027-03"
    )
    [row] = sheet.rows
    assert [row.marks[d.isoformat()] for d in DAYS[:4]] == [None, None, None, "present"]
    assert (row.attended_days, row.rate) == (3, 1.0)


def test_marks_for_sessions_before_the_join_date_are_refused_for_that_trainee():
    w = World(trainees=0)
    data = joined_late(w.snap, DAYS[3])
    w.handle(on_enrolled, data)
    w.sessions = w.repo.sessions_of(w.snap.cohort_id)
    w.clock.set(DAYS[3], time(19))
    with pytest.raises(RuleViolation) as refused:
        w.set_mark(data.trainee_id, 1, "present")
    assert rules_of(refused) == ["roster.before-joining"]
    w.clock.set(DAYS[1], time(9, 5))
    with pytest.raises(RuleViolation) as refused:
        w.check_in(data.trainee_id, "09:00", day=1)
    assert rules_of(refused) == ["roster.before-joining"]
    report = marks.bulk_check_in(
        w.uow,
        principal=STAFF,
        policy=POLICY,
        clock=w.clock,
        session_id=w.sessions[1].id,
        body=BulkCheckInIn(items=[{"trainee_id": data.trainee_id, "kind": "in", "method": "card"}]),
    )
    assert [(r.status, r.rule) for r in report.rows] == [("refused", "roster.before-joining")]
    assert w.repo.marks == {}  # nothing stored for the sessions before joining
    w.clock.set(DAYS[3], time(9, 5))
    assert w.check_in(data.trainee_id, "09:00", day=3).mark == "present"  # from the join date on, as anyone


def test_an_enrollment_that_reaches_a_closed_cohort_is_decided_at_once_and_once():
    w = World(trainees=1)
    on_time = w.trainees[0]
    w.clock.set(DAYS[-1] + timedelta(days=1))
    assert standing.close_ended(w.uow, policy=POLICY, clock=w.clock) == 1
    before = len(w.uow.events)
    late = enrolled(w.snap, "Late Lee").model_copy(update={"enrolled_on": DAYS[-1] + timedelta(days=3)})
    w.clock.set(DAYS[-1] + timedelta(days=3))
    w.handle(on_enrolled, late)
    [decision] = [e for t, e in w.uow.events[before:] if t == events.TRAINEE_NOT_COMPLETED]
    assert (decision["trainee_id"], decision["date"], decision["final_rate"]) == (
        str(late.trainee_id),
        DAYS[-1].isoformat(),  # dated the closing day: the certification window closes there
        0.0,
    )
    stored = w.repo.completions[(w.snap.cohort_id, late.trainee_id)]
    assert (stored.outcome, stored.late, stored.decided_on) == ("not_completed", True, DAYS[-1])
    assert w.repo.completions[(w.snap.cohort_id, on_time)].late is False
    # the same enrollment again (a redelivery, or a new event for the same trainee) decides nothing twice
    w.handle(on_enrolled, late)
    w.handle(on_enrolled, late.model_copy(update={"name": "Lee Late"}))
    assert len(w.uow.events) == before + 1
    rows = {r.trainee_id: r for r in roster.cohort_roster(w.uow, principal=STAFF, cohort_id=w.snap.cohort_id)}
    assert (rows[late.trainee_id].outcome, rows[late.trainee_id].late_decision) == ("not_completed", True)
    assert rows[late.trainee_id].decided_at is not None
    assert (rows[on_time].outcome, rows[on_time].late_decision) == ("not_completed", False)
    [out] = standing.trainee_attendance(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, trainee_id=late.trainee_id, cohort_id=None
    )
    assert (out.outcome, out.late_decision, out.decided_at is not None) == ("not_completed", True, True)


def test_an_enrollment_delayed_past_the_close_is_decided_over_the_days_since_joining():
    w = World(trainees=1)
    w.clock.set(DAYS[-1], time(19))
    for day in range(10):
        w.set_mark(w.trainees[0], day, "present")
    standing.close_cohort(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id)
    # consumer lag: the trainee joined on day 8 but the enrollment arrives after the close; the two sessions
    # since joining were held with nothing recorded for them, so both are absences
    late = joined_late(w.snap, DAYS[8])
    w.handle(on_enrolled, late)
    [decision] = w.uow.emitted(events.TRAINEE_NOT_COMPLETED)
    assert (decision["trainee_id"], decision["final_rate"], decision["reason"]) == (
        str(late.trainee_id),
        0.0,
        "below_threshold",
    )
    assert len(w.uow.emitted(events.TRAINEE_COMPLETED)) == 1  # the trainee decided at the close, once
    [out] = standing.trainee_attendance(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, trainee_id=late.trainee_id, cohort_id=None
    )
    assert (out.scheduled_days, out.held_days, out.absences) == (2, 2, 2)


def test_a_batch_of_enrollments_at_a_closed_cohort_decides_each_new_trainee_once():
    from services.attendance.entrypoints.events import enrolled_many

    w = World(trainees=1)
    w.clock.set(DAYS[-1], time(19))
    standing.close_cohort(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, cohort_id=w.snap.cohort_id)
    before = len(w.uow.events)
    a, b = enrolled(w.snap, "A"), enrolled(w.snap, "B")
    items = [
        (a, _event_of(a)),
        (b, _event_of(b)),
        (a, _event_of(a)),
        (again := enrolled(w.snap, "again", w.trainees[0]), _event_of(again)),
    ]
    with w.uow:
        enrolled_many(HandlerContext(uow=w.uow, settings=SETTINGS, clock=w.clock), items)  # type: ignore[arg-type]
        w.uow.commit()
    decided = [e["trainee_id"] for t, e in w.uow.events[before:] if t == events.TRAINEE_NOT_COMPLETED]
    assert sorted(decided) == sorted([str(a.trainee_id), str(b.trainee_id)])
    assert all(w.repo.completions[(w.snap.cohort_id, t.trainee_id)].late for t in (a, b))


def _event_of(data: events.TraineeEnrolled) -> events.CloudEvent:
    event, _key = events.build_event(events.TRAINEE_ENROLLED, data)
    return event
