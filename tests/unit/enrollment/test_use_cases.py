"""Enrollment's use cases without a database: apply, select, accept, decline, withdraw, completion history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.enrollment.adapters.orm import Applicant, Application, Campus, Cohort, Enrollment, Programme
from services.enrollment.domain.history import ReadmissionPolicy
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.entrypoints.events import on_completed
from services.enrollment.schemas import AcceptIn, ApplicantIn, ApplicationIn, ApplicationOut, WithdrawIn
from services.enrollment.service_layer import (
    applicants,
    applications,
    catalogue,
    enrollments,
    history,
    imports,
    seats,
    selection,
)
from services.enrollment.service_layer.policy import admissions_policy
from services.enrollment.settings import Settings
from shared import events
from shared.auth import Principal
from shared.consumer import HandlerContext, PermanentEventError
from shared.idempotency import Idempotency
from shared.problems import Problem, RuleViolation
from tests.fakes import FakeUnitOfWork, FixedClock
from tests.unit.enrollment.fakes import FakeEnrollmentRepository

TODAY = date(2026, 3, 2)
STAFF = Principal(sub="staff", roles=frozenset({"admissions"}), campuses=frozenset({"jungbu"}))
ELSEWHERE = Principal(sub="other", roles=frozenset({"admissions"}), campuses=frozenset({"seobu"}))
POLICY = AdmissionsPolicy()


def rules(exc: pytest.ExceptionInfo[RuleViolation]) -> list[str]:
    return [f.rule for f in exc.value.errors]


class World:
    """A campus, a short programme and a cohort whose applications are open today and which starts in April."""

    def __init__(self, capacity: int = 3, total_hours: int = 300) -> None:
        self.repo = FakeEnrollmentRepository()
        self.uow = FakeUnitOfWork(self.repo)
        self.clock = FixedClock(TODAY)
        self.repo.add(Campus(code="jungbu", name="Jungbu"))
        self.programme = Programme(
            code="JB-1",
            title="Welding",
            campus="jungbu",
            track="other",
            total_hours=total_hours,
            allowed_residency=["city_resident"],
        )
        self.repo.add(self.programme)
        self.cohort = self.new_cohort(capacity, start=date(2026, 4, 1))

    def new_cohort(self, capacity: int, *, start: date, programme: Programme | None = None) -> Cohort:
        programme = programme or self.programme
        cohort = Cohort(
            programme_id=programme.id,
            campus="jungbu",
            label=f"c{start}",
            capacity=capacity,
            application_opens=start - timedelta(60),
            application_closes=start - timedelta(10),
            start_date=start,
            end_date=start + timedelta(60),
            sessions=[],
        )
        self.repo.add(cohort)
        return cohort

    def person(self, *, born: date = date(1990, 5, 1), priority: bool = False, leaving_care: bool = False) -> Applicant:
        applicant = Applicant(
            campus="jungbu",
            name="Kim",
            birth_date=born,
            residency_status="city_resident",
            priority_categories=["single_parent"] if priority else [],
            leaving_care=leaving_care,
        )
        self.repo.add(applicant)
        return applicant

    def apply(self, applicant: Applicant, score: float = 50, cohort: Cohort | None = None) -> ApplicationOut:
        body = ApplicationIn(applicant_id=applicant.id, cohort_id=(cohort or self.cohort).id, score=score)
        return applications.submit_application(self.uow, principal=STAFF, policy=POLICY, clock=self.clock, body=body)

    def app(self, out: ApplicationOut) -> Application:
        return self.repo.applications_[out.id]

    def select(self, cohort: Cohort | None = None):  # type: ignore[no-untyped-def]
        return selection.run_selection(
            self.uow, principal=STAFF, policy=POLICY, clock=self.clock, cohort_id=(cohort or self.cohort).id
        )

    def accept(self, out: ApplicationOut, idem: Idempotency | None = None) -> ApplicationOut:
        return seats.accept(
            self.uow, principal=STAFF, policy=POLICY, clock=self.clock, application_id=out.id, idem=idem
        )

    def past_participation(self, applicant: Applicant, start: date, status: str = "completed") -> Enrollment:
        cohort = self.new_cohort(10, start=start)
        app = Application(applicant_id=applicant.id, cohort_id=cohort.id, campus="jungbu", status="accepted")
        self.repo.add(app)
        enrollment = Enrollment(
            application_id=app.id,
            applicant_id=applicant.id,
            cohort_id=cohort.id,
            campus="jungbu",
            status=status,
            enrolled_on=start,
        )
        self.repo.add(enrollment)
        return enrollment


# -- apply --------------------------------------------------------------------------------------------
def test_an_eligible_application_is_taken_and_decides_nothing_yet() -> None:
    w = World()
    out = w.apply(w.person(priority=True), score=71)
    assert (out.status, out.score, out.priority, out.reasons) == ("submitted", 71, True, [])
    assert w.app(out).cohort_id == w.cohort.id
    assert w.uow.committed == 1 and w.uow.events == []


def test_an_ineligible_application_is_kept_with_every_failed_rule_and_its_decision_goes_out() -> None:
    w = World()
    young = w.person(born=date(2012, 1, 1))
    young.residency_status = "non_resident"
    out = w.apply(young)
    assert out.status == "ineligible"
    assert {r.rule for r in out.reasons} == {"eligibility.min-age", "eligibility.residency"}
    [decided] = w.uow.emitted(events.APPLICATION_DECIDED)
    assert (decided["decision"], decided["application_id"]) == ("ineligible", str(out.id))
    assert {r["code"] for r in decided["reasons"]} == {"eligibility.min-age", "eligibility.residency"}


def test_a_fourth_short_course_in_three_years_is_refused_by_the_readmission_limit() -> None:
    w = World()
    person = w.person()
    for start in (date(2023, 6, 1), date(2024, 6, 1), date(2025, 6, 1)):
        w.past_participation(person, start)
    out = w.apply(person)
    assert out.status == "ineligible"
    assert [r.rule for r in out.reasons] == ["readmission.limit"]
    # the limit is the policy's: one more re-admission allowed, and the same history passes
    lenient = AdmissionsPolicy(readmission=ReadmissionPolicy(max_readmissions=3))
    other = w.new_cohort(3, start=date(2026, 4, 2))
    body = ApplicationIn(applicant_id=person.id, cohort_id=other.id, score=1)
    assert (
        applications.submit_application(w.uow, principal=STAFF, policy=lenient, clock=w.clock, body=body).status
        == "submitted"
    )


def test_outside_the_window_nothing_is_stored_and_nothing_goes_out() -> None:
    w = World()
    person = w.person()
    w.clock.set(w.cohort.application_closes + timedelta(1))
    with pytest.raises(RuleViolation) as refused:
        w.apply(person)
    assert rules(refused) == ["application.window-closed"]
    assert w.repo.applications_ == {} and w.uow.events == [] and w.uow.committed == 0


def test_applying_twice_to_a_cohort_is_a_conflict() -> None:
    w = World()
    person = w.person()
    w.apply(person)
    with pytest.raises(Problem) as refused:
        w.apply(person)
    assert (refused.value.status, refused.value.code) == (409, "application-exists")
    assert len(w.repo.applications_) == 1


def test_a_cohort_of_another_campus_is_not_visible() -> None:
    w = World()
    body = ApplicationIn(applicant_id=w.person().id, cohort_id=w.cohort.id, score=1)
    with pytest.raises(RuleViolation) as refused:
        applications.submit_application(w.uow, principal=ELSEWHERE, policy=POLICY, clock=w.clock, body=body)
    assert rules(refused) == ["reference.cohort"]


def test_a_birth_date_of_today_is_refused_against_the_clock() -> None:
    w = World()
    body = ApplicantIn(campus="jungbu", name="Lee", birth_date=TODAY - timedelta(1), residency_status="city_resident")
    w.clock.set(TODAY - timedelta(1))
    with pytest.raises(Problem) as refused:
        applicants.create_applicant(w.uow, principal=STAFF, clock=w.clock, body=body)
    assert (refused.value.status, refused.value.code) == (422, "validation-error")
    assert [(f.rule, f.field) for f in refused.value.errors] == [("value_error", "body")]
    w.clock.set(TODAY)
    out = applicants.create_applicant(w.uow, principal=STAFF, clock=w.clock, body=body)
    assert w.repo.applicants_[out.id].name == "Lee"


def test_an_import_takes_each_row_on_its_own_and_reports_every_one() -> None:
    w = World()
    known = w.person()
    rows = [
        "name,birth_date,residency_status,score,applicant_id",
        "Lee Ok,1996-02-03,city_resident,70,",
        f"Han Bit,{TODAY},city_resident,70,",  # refused: born today by the centre's clock
        f",,,,{uuid.uuid4()}",  # refused: no such applicant
        f",,,55,{known.id}",
        "Young,2015-01-01,city_resident,10,",
    ]  # imported, ineligible
    report = imports.import_applications(
        w.uow,
        principal=STAFF,
        policy=POLICY,
        clock=w.clock,
        cohort_id=w.cohort.id,
        content="\n".join(rows).encode(),
        filename="a.csv",
    )
    assert [(r.row, r.status, r.application_status) for r in report.report] == [
        (2, "imported", "submitted"),
        (3, "refused", None),
        (4, "refused", None),
        (5, "imported", "submitted"),
        (6, "imported", "ineligible"),
    ]
    assert [(e.rule, e.field) for e in report.report[1].errors] == [("value_error", None)]
    assert report.report[2].errors[0].rule == "reference.applicant"
    assert (report.rows, report.imported, report.refused) == (5, 3, 2)
    assert sorted(a.name for a in w.repo.applicants_.values()) == ["Kim", "Lee Ok", "Young"]  # Han Bit undone
    assert len(w.repo.applications_) == 3 and w.uow.committed == 1
    assert [d["decision"] for d in w.uow.emitted(events.APPLICATION_DECIDED)] == ["ineligible"]


# -- select -------------------------------------------------------------------------------------------
def test_selection_gives_30_percent_of_the_seats_to_priority_applicants_then_goes_by_score() -> None:
    w = World(capacity=10)
    priority = [w.apply(w.person(priority=True), score=10 + n) for n in range(4)]
    merit = [w.apply(w.person(), score=90 - n) for n in range(8)]
    care = w.apply(w.person(born=date(2005, 1, 1), leaving_care=True), score=1)
    out = w.select()
    assert (
        out.capacity,
        out.priority_quota,
        out.selected,
        out.selected_within_capacity,
        out.selected_above_capacity,
        out.priority_selected,
        out.above_capacity,
        out.waitlisted,
    ) == (10, 3, 11, 10, 1, 3, 1, 2)
    stats = catalogue.cohort_stats(w.uow, principal=STAFF, policy=POLICY, cohort_id=w.cohort.id)
    counts = ("selected", "selected_within_capacity", "selected_above_capacity", "priority_selected", "waitlisted")
    assert [getattr(stats, k) for k in counts] == [getattr(out, k) for k in counts]  # one way of counting
    quota = {w.app(a).reasons[0]["rule"] for a in priority[1:]}  # the three best-scored priority applicants
    assert quota == {"selection.priority-quota"} and w.app(priority[0]).status == "waitlisted"
    assert [w.app(a).status for a in merit] == ["selected"] * 7 + ["waitlisted"] * 1
    assert w.app(care).status == "selected" and w.app(care).reasons[0]["rule"] == "selection.leaving-care"
    waitlist = sorted(
        (a for a in w.repo.applications_.values() if a.status == "waitlisted"), key=lambda a: a.waitlist_position or 0
    )
    assert [a.waitlist_position for a in waitlist] == [1, 2]
    assert [a.id for a in waitlist] == [merit[7].id, priority[0].id]  # by score, the rest of them
    assert w.cohort.selection_done_at is not None
    decided = w.uow.emitted(events.APPLICATION_DECIDED)
    assert len(decided) == 13
    assert sum(d["decision"] == "waitlisted" for d in decided) == 2


def test_the_quota_is_the_policys() -> None:
    w = World(capacity=10)
    for n in range(4):
        w.apply(w.person(priority=True), score=n)
    out = selection.run_selection(
        w.uow,
        principal=STAFF,
        policy=admissions_policy(Settings(priority_quota_percent=10)),
        clock=w.clock,
        cohort_id=w.cohort.id,
    )
    assert (out.priority_quota, out.selected_within_capacity) == (1, 4)


def test_selection_runs_once() -> None:
    w = World()
    w.apply(w.person())
    w.select()
    sent = len(w.uow.events)
    with pytest.raises(RuleViolation) as refused:
        w.select()
    assert rules(refused) == ["selection.already-run"] and refused.value.status == 409
    assert len(w.uow.events) == sent


# -- seats --------------------------------------------------------------------------------------------
def selected_world(capacity: int = 1, applicants: int = 2) -> tuple[World, list[ApplicationOut]]:
    w = World(capacity=capacity)
    outs = [w.apply(w.person(), score=90 - n) for n in range(applicants)]
    w.select()
    w.uow.events.clear()
    return w, outs


def test_accepting_an_offered_seat_enrolls_the_trainee_today() -> None:
    w, (first, _second) = selected_world()
    out = w.accept(first)
    assert out.status == "accepted" and out.enrollment_id is not None
    enrollment = w.repo.enrollments_[out.enrollment_id]
    assert (enrollment.status, enrollment.enrolled_on, enrollment.cohort_id) == ("enrolled", TODAY, w.cohort.id)
    [enrolled] = w.uow.emitted(events.TRAINEE_ENROLLED)
    assert enrolled["enrollment_id"] == str(out.enrollment_id) and enrolled["enrolled_on"] == TODAY.isoformat()
    # the slim form: the cohort's keys and the plan version, not the plan itself
    assert (enrolled["cohort_id"], enrolled["campus"], enrolled["programme_code"], enrolled["plan_version"]) == (
        str(w.cohort.id),
        "jungbu",
        "JB-1",
        1,
    )
    assert "cohort" not in enrolled and "sessions" not in enrolled


def test_an_idempotent_retry_replays_the_first_answer_and_enrolls_once() -> None:
    w, (first, _second) = selected_world()
    key = Idempotency(scope="accept", key="k-1", request_hash="h")
    out = w.accept(first, key)
    again = w.accept(first, Idempotency(scope="accept", key="k-1", request_hash="h"))
    assert again == out
    assert len(w.repo.enrollments_) == 1 and len(w.uow.emitted(events.TRAINEE_ENROLLED)) == 1
    with pytest.raises(Problem) as reused:
        w.accept(first, Idempotency(scope="accept", key="k-1", request_hash="another body"))
    assert reused.value.status == 422
    with pytest.raises(RuleViolation) as twice:
        w.accept(first)
    assert rules(twice) == ["seat.already-accepted"] and twice.value.status == 409


def test_only_an_offered_seat_can_be_accepted() -> None:
    w, (_first, second) = selected_world()
    assert w.app(second).status == "waitlisted"
    with pytest.raises(RuleViolation) as refused:
        w.accept(second)
    assert rules(refused) == ["seat.not-offered"]
    assert w.repo.enrollments_ == {} and w.uow.events == []


def test_accepting_is_refused_when_the_history_now_breaks_the_readmission_limit() -> None:
    w, (first, _second) = selected_world()
    for start in (date(2023, 6, 1), date(2024, 6, 1), date(2025, 6, 1)):
        w.past_participation(w.repo.applicants_[first.applicant_id], start)
    with pytest.raises(RuleViolation) as refused:
        w.accept(first)
    assert rules(refused) == ["readmission.limit"]
    assert w.app(first).status == "selected" and w.uow.events == []


def test_a_declined_seat_goes_to_the_first_on_the_waitlist_and_capacity_holds() -> None:
    w, (first, second, third) = selected_world(capacity=1, applicants=3)
    out = seats.decline(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, application_id=first.id)
    assert out.status == "declined"
    assert (w.app(second).status, w.app(second).reasons[0]["rule"]) == ("selected", "selection.promoted")
    assert w.app(third).status == "waitlisted"
    [promoted] = w.uow.emitted(events.APPLICATION_DECIDED)
    assert (promoted["application_id"], promoted["decision"]) == (str(second.id), "selected")
    # the seat is taken again: rejecting someone still waiting frees nothing and promotes nobody
    applications.reject(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, application_id=third.id, reason="no show")
    assert w.repo.seats_taken(w.cohort.id) == 1
    assert [d["decision"] for d in w.uow.emitted(events.APPLICATION_DECIDED)] == ["selected", "rejected"]


def test_accepting_is_refused_once_the_cohort_has_ended() -> None:
    w, (first, _second) = selected_world()
    w.clock.set(w.cohort.end_date + timedelta(1))
    with pytest.raises(RuleViolation) as refused:
        w.accept(first)
    assert rules(refused) == ["seat.cohort-ended"] and refused.value.status == 409
    assert w.app(first).status == "selected" and w.repo.enrollments_ == {} and w.uow.events == []


def test_accepting_is_refused_beyond_the_late_join_limit_and_allowed_on_its_last_day() -> None:
    w, (first, second) = selected_world(capacity=2)
    w.clock.set(w.cohort.start_date + timedelta(POLICY.joining.late_join_max_days + 1))
    with pytest.raises(RuleViolation) as refused:
        w.accept(first)
    assert rules(refused) == ["seat.join-too-late"] and refused.value.status == 409
    assert w.repo.enrollments_ == {} and w.uow.events == []
    w.clock.set(w.cohort.start_date + timedelta(POLICY.joining.late_join_max_days))
    out = w.accept(second)
    [enrolled] = w.uow.emitted(events.TRAINEE_ENROLLED)
    assert (out.status, enrolled["enrolled_on"]) == ("accepted", w.clock.today().isoformat())


def test_the_late_join_limit_is_the_setting_s() -> None:
    w, (first, _second) = selected_world()
    w.clock.set(w.cohort.start_date + timedelta(3))
    strict = admissions_policy(Settings(late_join_max_days=2))
    with pytest.raises(RuleViolation) as refused:
        seats.accept(w.uow, principal=STAFF, policy=strict, clock=w.clock, application_id=first.id, idem=None)
    assert rules(refused) == ["seat.join-too-late"]
    assert Settings().late_join_max_days == POLICY.joining.late_join_max_days == 14


def test_selection_offers_no_seat_that_could_not_be_taken() -> None:
    w = World()
    out = w.apply(w.person())
    w.clock.set(w.cohort.end_date + timedelta(1))
    with pytest.raises(RuleViolation) as refused:
        w.select()
    assert rules(refused) == ["seat.cohort-ended"] and refused.value.status == 409
    assert w.app(out).status == "submitted" and w.uow.events == [] and w.cohort.selection_done_at is None
    w.clock.set(w.cohort.start_date + timedelta(15))  # past the late-join limit: staff may record earlier joins
    assert w.select().selected == 1


def test_staff_may_record_the_earlier_day_a_trainee_joined_within_the_limit() -> None:
    w, (first, second) = selected_world(capacity=2)
    w.clock.set(w.cohort.start_date + timedelta(30))
    out = seats.accept(
        w.uow,
        principal=STAFF,
        policy=POLICY,
        clock=w.clock,
        application_id=first.id,
        idem=None,
        body=AcceptIn(joined_on=w.cohort.start_date + timedelta(2)),
    )
    assert out.enrollment_id is not None
    assert w.repo.enrollments_[out.enrollment_id].enrolled_on == w.cohort.start_date + timedelta(2)
    [enrolled] = w.uow.emitted(events.TRAINEE_ENROLLED)
    assert enrolled["enrolled_on"] == (w.cohort.start_date + timedelta(2)).isoformat()
    with pytest.raises(RuleViolation) as refused:
        seats.accept(
            w.uow,
            principal=STAFF,
            policy=POLICY,
            clock=w.clock,
            application_id=second.id,
            idem=None,
            body=AcceptIn(joined_on=w.cohort.start_date + timedelta(15)),
        )
    assert rules(refused) == ["seat.join-too-late"]


def test_a_seat_declined_too_late_to_be_taken_promotes_nobody() -> None:
    w, (first, second) = selected_world()
    w.clock.set(w.cohort.start_date + timedelta(20))
    seats.decline(w.uow, principal=STAFF, policy=POLICY, clock=w.clock, application_id=first.id)
    assert w.app(second).status == "waitlisted" and w.uow.emitted(events.APPLICATION_DECIDED) == []


# -- one name for the person across the services ---------------------------------------------------------
def test_every_answer_that_carries_an_applicant_also_carries_the_trainee_id_the_other_services_use() -> None:
    w, (first, _second) = selected_world()
    person = first.applicant_id
    enrollment_id = w.accept(first).enrollment_id
    assert enrollment_id is not None
    applicant = applicants.get_applicant(w.uow, principal=STAFF, applicant_id=person)
    application = applications.get_application(w.uow, principal=STAFF, application_id=first.id)
    enrollment = enrollments.get_enrollment(w.uow, principal=STAFF, enrollment_id=enrollment_id)
    assert applicant.trainee_id == application.trainee_id == enrollment.trainee_id == person
    assert applicant.model_dump(mode="json")["trainee_id"] == str(person)  # in the JSON answer as well
    assert application.model_dump(mode="json")["trainee_id"] == str(person)


# -- withdraw -----------------------------------------------------------------------------------------
def test_a_withdrawal_before_the_start_gives_the_seat_to_the_next_waiting() -> None:
    w, (first, second) = selected_world()
    enrollment_id = w.accept(first).enrollment_id
    assert enrollment_id is not None
    w.uow.events.clear()
    out = enrollments.withdraw(
        w.uow,
        principal=STAFF,
        policy=POLICY,
        clock=w.clock,
        enrollment_id=enrollment_id,
        body=WithdrawIn(date=TODAY, reason="early_employment"),
    )
    assert (out.status, out.withdrawn_on, out.withdraw_reason) == ("withdrawn", TODAY, "early_employment")
    assert w.app(first).status == "withdrawn" and w.app(second).status == "selected"
    [withdrawn] = w.uow.emitted(events.TRAINEE_WITHDRAWN)
    assert (withdrawn["before_start"], withdrawn["early_employment"], withdrawn["programme_code"]) == (
        True,
        True,
        "JB-1",
    )
    assert [d["application_id"] for d in w.uow.emitted(events.APPLICATION_DECIDED)] == [str(second.id)]


def test_a_withdrawal_after_the_start_promotes_nobody_and_one_after_the_end_is_refused() -> None:
    w, (first, second) = selected_world()
    enrollment_id = w.accept(first).enrollment_id
    assert enrollment_id is not None
    w.uow.events.clear()

    def withdraw(day: date):  # noqa: ANN202
        body = WithdrawIn(date=day, reason="personal")
        return enrollments.withdraw(
            w.uow, principal=STAFF, policy=POLICY, clock=w.clock, enrollment_id=enrollment_id, body=body
        )

    w.clock.set(w.cohort.end_date + timedelta(5))
    with pytest.raises(RuleViolation) as refused:
        withdraw(w.cohort.end_date + timedelta(1))
    assert rules(refused) == ["withdrawal.after-end"] and w.uow.events == []
    withdraw(w.cohort.start_date + timedelta(3))
    assert w.app(second).status == "waitlisted"
    assert w.uow.emitted(events.APPLICATION_DECIDED) == []
    assert w.uow.emitted(events.TRAINEE_WITHDRAWN)[0]["before_start"] is False


def test_a_withdrawal_dated_ahead_is_refused_and_the_trainee_stays_enrolled() -> None:
    w, (first, second) = selected_world()
    enrollment_id = w.accept(first).enrollment_id
    assert enrollment_id is not None
    w.uow.events.clear()
    w.clock.set(w.cohort.start_date + timedelta(3))  # the cohort is under way
    ahead = WithdrawIn(date=w.clock.today() + timedelta(45), reason="early_employment")
    with pytest.raises(RuleViolation) as refused:
        enrollments.withdraw(
            w.uow, principal=STAFF, policy=POLICY, clock=w.clock, enrollment_id=enrollment_id, body=ahead
        )
    assert rules(refused) == ["withdrawal.date-in-future"] and refused.value.status == 422
    assert w.uow.events == [] and w.app(first).status == "accepted"
    assert w.repo.enrollments_[enrollment_id].status == "enrolled"
    today = WithdrawIn(date=w.clock.today(), reason="early_employment")
    out = enrollments.withdraw(
        w.uow, principal=STAFF, policy=POLICY, clock=w.clock, enrollment_id=enrollment_id, body=today
    )
    assert (out.status, out.withdrawn_on) == ("withdrawn", w.clock.today())


# -- completion history (the consumer's) ---------------------------------------------------------------
def test_the_completion_decision_is_kept_as_history_without_committing() -> None:
    w = World()
    person = w.person()
    enrollment = w.past_participation(person, date(2025, 6, 1), status="enrolled")
    data = events.TraineeCompleted.model_validate(
        dict(
            trainee_id=str(person.id),
            cohort_id=str(enrollment.cohort_id),
            campus="jungbu",
            programme_code="JB-1",
            completion_date="2025-08-01",
            final_rate=0.93,
        )
    )
    event = events.CloudEvent(
        id=str(uuid.uuid4()),
        source="attendance",
        type=events.TRAINEE_COMPLETED,
        time=datetime(2025, 8, 1, tzinfo=UTC),
        data=data.model_dump(mode="json"),
    )
    with w.uow:  # the consumer opens the work, the handler fills it, the consumer commits
        on_completed(HandlerContext(uow=w.uow, settings=Settings(), clock=w.clock), data, event)
        assert w.uow.committed == 0
    assert (enrollment.status, enrollment.outcome_date, enrollment.final_rate) == ("completed", date(2025, 8, 1), 0.93)


def test_a_withdrawal_stays_the_record_and_an_unknown_enrollment_is_permanent() -> None:
    w = World()
    person = w.person()
    enrollment = w.past_participation(person, date(2025, 6, 1), status="withdrawn")
    with w.uow:
        history.record_outcome(
            w.uow,
            trainee_id=person.id,
            cohort_id=enrollment.cohort_id,
            status="not_completed",
            on=date(2025, 8, 1),
            final_rate=0.4,
        )
        assert enrollment.status == "withdrawn" and enrollment.final_rate is None
        with pytest.raises(PermanentEventError):
            history.record_outcome(
                w.uow,
                trainee_id=uuid.uuid4(),
                cohort_id=enrollment.cohort_id,
                status="completed",
                on=date(2025, 8, 1),
                final_rate=0.9,
            )
    assert w.uow.committed == 0


# -- timetable changes ----------------------------------------------------------------------------------
def timetable_world() -> World:
    from services.enrollment.domain.timetable import expand

    w = World()
    w.cohort.timetable = {"break_minutes": 60}
    w.cohort.sessions = [
        events.SessionSlot(date=s.date, start=s.start, end=s.end, hours=s.hours).model_dump(mode="json")
        for s in expand(w.cohort.start_date, w.cohort.end_date, [0, 1, 2, 3, 4], time(9), time(18), 60)
    ]
    return w


def change(w: World, principal: Principal = STAFF, **body: object):  # type: ignore[no-untyped-def]
    from services.enrollment.schemas import TimetableChangeIn
    from services.enrollment.service_layer import timetable

    return timetable.change_timetable(
        w.uow, principal=principal, clock=w.clock, cohort_id=w.cohort.id, body=TimetableChangeIn.model_validate(body)
    )


def test_a_cancelled_session_bumps_the_plan_is_kept_and_goes_out_with_the_whole_new_plan() -> None:
    w = timetable_world()
    before = len(w.cohort.sessions)
    out = change(w, kind="cancel", session_date="2026-04-01", reason="holiday")
    assert (out.plan_version, out.kind, out.session.date, out.changed_by) == (2, "cancel", date(2026, 4, 1), "staff")  # type: ignore[union-attr]
    assert w.cohort.plan_version == 2 and len(w.cohort.sessions) == before - 1
    [sent] = w.uow.emitted(events.COHORT_RESCHEDULED)
    assert (sent["cohort_id"], sent["plan_version"], sent["reason"]) == (str(w.cohort.id), 2, "holiday")
    assert sent["change"]["kind"] == "cancel" and sent["change"]["session"]["date"] == "2026-04-01"
    assert len(sent["sessions"]) == before - 1 and sent["programme_code"] == "JB-1"
    from services.enrollment.service_layer import timetable

    [kept] = timetable.changes_of(w.uow, principal=STAFF, cohort_id=w.cohort.id)
    assert (kept.reason, kept.plan_version) == ("holiday", 2)


def test_an_extension_moves_the_end_and_a_make_up_session_may_then_follow_it() -> None:
    w = timetable_world()
    old_end = w.cohort.end_date
    change(w, kind="extend", end_date=(old_end + timedelta(14)).isoformat(), reason="make-up weeks")
    assert w.cohort.end_date == old_end + timedelta(14)
    change(w, kind="add", date=(old_end + timedelta(3)).isoformat(), start="09:00", end="13:00", reason="make-up")
    assert w.cohort.plan_version == 3
    [ext, add] = w.uow.emitted(events.COHORT_RESCHEDULED)
    assert ext["change"] == {
        "kind": "extend",
        "session": None,
        "new_session": None,
        "old_end_date": old_end.isoformat(),
        "new_end_date": (old_end + timedelta(14)).isoformat(),
    }
    assert (
        add["end_date"] == (old_end + timedelta(14)).isoformat() and add["change"]["new_session"]["hours"] == 3.0
    )  # the cohort's hour of break


def test_a_refused_change_names_its_rule_and_changes_nothing() -> None:
    w = timetable_world()
    w.clock.set(date(2026, 4, 3))
    with pytest.raises(RuleViolation) as exc:
        change(w, kind="cancel", session_date="2026-04-01", reason="too late")
    assert rules(exc) == ["timetable.session-held"] and exc.value.status == 409
    assert w.cohort.plan_version == 1 and not w.uow.emitted(events.COHORT_RESCHEDULED)


def test_another_campus_cannot_change_the_timetable() -> None:
    w = timetable_world()
    with pytest.raises(Problem) as exc:
        change(w, ELSEWHERE, kind="cancel", session_date="2026-04-01", reason="x")
    assert exc.value.status == 404
