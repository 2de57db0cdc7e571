"""Attendance's use cases against an in-memory repository, a fake unit of work and a clock that stands still.

No database, no broker: roster upkeep from enrollment's events, check-in (window, roster, rotating code),
marks (late, early leave, excuses, bulk), at-risk warnings, monthly allowance periods and closing a cohort.
"""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

import pytest

from services.attendance.domain import qr
from services.attendance.entrypoints.events import on_enrolled, on_withdrawn
from services.attendance.schemas import BulkCheckInIn, CheckInIn, MarkIn
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
            CheckInIn(trainee_id=a, method="card", at=f"{DAYS[0]}T08:58:00+09:00"),
            CheckInIn(trainee_id=a, method="card", at=f"{DAYS[0]}T08:58:00+09:00"),
            CheckInIn(trainee_id=b, method="card", at=f"{DAYS[0]}T09:15:00+09:00"),
            CheckInIn(trainee_id=b, method="card", at=f"{DAYS[0]}T09:04:00+09:00"),  # the first reading counts
            CheckInIn(trainee_id=stranger, method="card", at=f"{DAYS[0]}T09:00:00+09:00"),
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


def test_a_bulk_request_beyond_the_limit_is_refused_whole():
    w = World()
    few = POLICY.__class__(**{**POLICY.__dict__, "check_in": POLICY.check_in.__class__(bulk_max_readings=1)})
    body = BulkCheckInIn(items=[CheckInIn(trainee_id=w.trainees[0], method="card")] * 2)
    with pytest.raises(RuleViolation) as refused:
        marks.bulk_check_in(w.uow, principal=STAFF, policy=few, clock=w.clock, session_id=w.sessions[0].id, body=body)
    assert rules_of(refused) == ["bulk.too-many"] and w.repo.marks == {}


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
