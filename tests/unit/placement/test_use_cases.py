"""Placement's use cases against a fake unit of work and a fixed clock: no database, no broker.

The graduate's year of follow-up opened from trainee.completed, an outcome recorded, internships started and
converted (with the employer's incentive, once, and idempotency keys replayed), the employment report and the
programmes' targets.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest

from services.placement.adapters.orm import Employer, Posting
from services.placement.entrypoints.events import on_completed, on_qualification, on_withdrawn
from services.placement.schemas import (
    ContactIn,
    ConvertIn,
    EmployerIn,
    EmploymentIn,
    InternshipEndIn,
    InternshipIn,
    OutcomeIn,
    PostingCloseIn,
    TargetIn,
)
from services.placement.service_layer import employers, followups, graduates, internships, outcomes, reports, targets
from services.placement.settings import Settings
from shared import events
from shared.auth import Principal
from shared.consumer import HandlerContext
from shared.idempotency import Idempotency
from shared.pagination import PageParams
from shared.problems import Problem, RuleViolation
from tests.fakes import FakeUnitOfWork, FixedClock
from tests.unit.placement.fakes import FakePlacementRepository

CAMPUS = "womanup"
OFFICER = Principal(sub="officer-kim", roles=frozenset({"placement"}), campuses=frozenset({CAMPUS}))
ELSEWHERE = Principal(sub="officer-lee", roles=frozenset({"placement"}), campuses=frozenset({"other"}))
COMPLETED = date(2026, 1, 30)
COHORT = uuid.UUID(int=7)
PAGE = PageParams(limit=50, offset=0)


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite://", campuses=[])


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(date(2026, 4, 15), time(10, 0))


@pytest.fixture
def uow() -> FakeUnitOfWork[FakePlacementRepository]:
    return FakeUnitOfWork(FakePlacementRepository())


def consume(uow, settings, clock, handler, data) -> None:  # type: ignore[no-untyped-def]
    """What the consumer does around a handler: open the unit of work, apply, commit."""
    with uow:
        handler(HandlerContext(uow=uow, settings=settings, clock=clock), data, None)
        uow.commit()


def complete(
    uow,
    settings,
    clock,
    trainee_id: uuid.UUID | None = None,
    *,  # type: ignore[no-untyped-def]
    completion: date = COMPLETED,
    campus: str = CAMPUS,
) -> uuid.UUID:
    trainee_id = trainee_id or uuid.uuid4()
    consume(
        uow,
        settings,
        clock,
        on_completed,
        events.TraineeCompleted(
            trainee_id=trainee_id,
            cohort_id=COHORT,
            campus=campus,
            name="Kim Jiwoo",
            programme_code="BIGDATA",
            qualification_codes=["BIGDATA-ENG"],
            completion_date=completion,
            final_rate=0.93,
        ),
    )
    return trainee_id


def employment(**over: object) -> EmploymentIn:
    return EmploymentIn(
        **{
            "employer_name": "Hanbit Robotics",
            "start_date": "2026-03-02",
            "employment_type": "regular",
            "insured": True,
            "monthly_wage": 2_600_000,
            **over,
        }
    )


def idem(key: str, body: object) -> Idempotency:
    return Idempotency(scope="placement:test", key=key, request_hash=str(hash(repr(body))))


# -- the graduate's year of follow-up, from trainee.completed ----------------------------------------------
def test_a_completer_gets_a_year_of_follow_ups_and_a_second_notice_changes_nothing(uow, settings, clock):
    trainee = complete(uow, settings, clock)
    repo = uow.repo
    g = repo.graduates_[trainee]
    assert (g.campus, g.cohort_id, g.completion_date, g.at_6m, g.at_12m) == (
        CAMPUS,
        COHORT,
        COMPLETED,
        date(2026, 7, 30),
        date(2027, 1, 30),
    )
    plan = [(f.months, f.due_date, f.window_opens, f.overdue_after) for f in repo.followups_of(trainee)]
    assert plan == [
        (1, date(2026, 2, 28), date(2026, 2, 21), date(2026, 3, 14)),
        (3, date(2026, 4, 30), date(2026, 4, 23), date(2026, 5, 14)),
        (6, date(2026, 7, 30), date(2026, 7, 23), date(2026, 8, 13)),
        (12, date(2027, 1, 30), date(2027, 1, 23), date(2027, 2, 13)),
    ]
    complete(uow, settings, clock, trainee, completion=date(2026, 2, 27))
    assert len(repo.graduates_) == 1 and len(repo.followups) == 4
    assert repo.graduates_[trainee].completion_date == COMPLETED
    assert uow.events == [] and uow.committed == 2


def test_the_follow_up_schedule_is_the_settings_and_the_worklist_reads_the_clock(uow, clock):
    settings = Settings(database_url="sqlite://", followup_months=[2], followup_lead_days=0, followup_grace_days=1)
    trainee = complete(uow, settings, clock)
    assert [(f.months, f.due_date) for f in uow.repo.followups_of(trainee)] == [(2, date(2026, 3, 30))]
    detail = graduates.graduate_detail(uow, clock, principal=OFFICER, graduate_id=trainee)
    assert [f.status for f in detail.followups] == ["overdue"]  # 15 April, by the clock
    detail = graduates.graduate_detail(uow, clock, principal=OFFICER, graduate_id=trainee, on=date(2026, 3, 30))
    assert [f.status for f in detail.followups] == ["due"]


def test_an_early_employment_leaver_is_followed_and_counted_employed_the_day_they_left(uow, settings, clock):
    trainee = uuid.uuid4()
    consume(
        uow,
        settings,
        clock,
        on_withdrawn,
        events.TraineeWithdrawn(
            trainee_id=trainee,
            enrollment_id=uuid.uuid4(),
            cohort_id=COHORT,
            campus=CAMPUS,
            programme_code="BIGDATA",
            date=date(2026, 1, 12),
            reason="early_employment",
            early_employment=True,
        ),
    )
    assert uow.repo.graduates_[trainee].early_employment
    [o] = uow.repo.outcomes_of(trainee)
    assert (o.category, o.as_of, o.source) == ("employed", date(2026, 1, 12), "early_employment")
    assert all(f.done_at is None for f in uow.repo.followups_of(trainee))
    assert uow.emitted(events.OUTCOME_RECORDED) == [
        {
            "trainee_id": str(trainee),
            "cohort_id": str(COHORT),
            "campus": CAMPUS,
            "outcome": "employed",
            "as_of": "2026-01-12",
            "months_after_completion": 0,
        }
    ]


def test_a_withdrawal_for_another_reason_opens_no_file(uow, settings, clock):
    consume(
        uow,
        settings,
        clock,
        on_withdrawn,
        events.TraineeWithdrawn(
            trainee_id=uuid.uuid4(),
            enrollment_id=uuid.uuid4(),
            cohort_id=COHORT,
            campus=CAMPUS,
            programme_code="BIGDATA",
            date=date(2026, 1, 12),
            reason="personal",
        ),
    )
    assert uow.repo.graduates_ == {} and uow.events == []


def test_a_qualification_obtained_before_the_file_opens_is_the_graduates_first(uow, settings, clock):
    trainee = uuid.uuid4()
    data = events.QualificationObtained(
        trainee_id=trainee, qualification_code="BIGDATA-ENG", grade="pass", date=date(2026, 1, 20), campus=CAMPUS
    )
    consume(uow, settings, clock, on_qualification, data)
    consume(uow, settings, clock, on_qualification, data)  # redelivered: still one
    complete(uow, settings, clock, trainee)
    assert len(uow.repo.qualifications) == 1
    assert uow.repo.graduates_[trainee].first_qualification == date(2026, 1, 20)


# -- recording an outcome ------------------------------------------------------------------------------
def test_recording_employment_closes_the_follow_ups_it_answers_and_publishes_it(uow, settings, clock):
    trainee = complete(uow, settings, clock)
    out = outcomes.record_outcome(
        uow,
        principal=OFFICER,
        body=OutcomeIn(graduate_id=trainee, category="employed", as_of=date(2026, 3, 31), employment=employment()),
    )
    assert (out.category, out.months_after_completion, out.closed_followups) == ("employed", 2, [1])
    assert (out.employer_name, out.monthly_wage, out.recorded_by) == ("Hanbit Robotics", 2_600_000, "officer-kim")
    assert ("graduate", trainee) in uow.repo.locked
    [stored] = uow.repo.outcomes_of(trainee)
    assert stored.id == out.id and stored.source == "officer"
    assert [f.months for f in uow.repo.open_followups(trainee)] == [3, 6, 12]
    assert uow.emitted(events.OUTCOME_RECORDED) == [
        {
            "trainee_id": str(trainee),
            "cohort_id": str(COHORT),
            "campus": CAMPUS,
            "outcome": "employed",
            "as_of": "2026-03-31",
            "months_after_completion": 2,
        }
    ]


def test_an_employer_of_the_pool_names_the_job(uow, settings, clock):
    trainee = complete(uow, settings, clock)
    employer = Employer(campus=CAMPUS, name="Seongsu Data")
    uow.repo.employers_[employer.id] = employer
    out = outcomes.record_outcome(
        uow,
        principal=OFFICER,
        body=OutcomeIn(
            graduate_id=trainee,
            category="employed",
            as_of=date(2026, 3, 31),
            employment=employment(employer_name=None, employer_id=employer.id),
        ),
    )
    assert (out.employer_id, out.employer_name) == (employer.id, "Seongsu Data")


def test_a_refused_outcome_names_every_rule_and_leaves_nothing(uow, settings, clock):
    trainee = complete(uow, settings, clock)
    with pytest.raises(RuleViolation) as refused:
        outcomes.record_outcome(
            uow, principal=OFFICER, body=OutcomeIn(graduate_id=trainee, category="employed", as_of=date(2026, 1, 29))
        )
    assert {f.rule for f in refused.value.errors} == {"outcome.before-completion", "outcome.employment-required"}
    assert refused.value.status == 422
    with pytest.raises(RuleViolation) as refused:
        outcomes.record_outcome(
            uow,
            principal=OFFICER,
            body=OutcomeIn(
                graduate_id=trainee,
                category="employed",
                as_of=date(2026, 3, 31),
                employment=employment(employer_id=uuid.uuid4()),
            ),
        )
    assert [f.rule for f in refused.value.errors] == ["outcome.unknown-employer"]
    assert uow.repo.outcomes_of(trainee) == [] and uow.repo.graduates_[trainee].outcome_count == 0
    assert uow.emitted(events.OUTCOME_RECORDED) == []


def test_a_graduate_of_another_campus_is_not_found(uow, settings, clock):
    trainee = complete(uow, settings, clock)
    with pytest.raises(Problem) as refused:
        outcomes.record_outcome(
            uow,
            principal=ELSEWHERE,
            body=OutcomeIn(graduate_id=trainee, category="seeking_work", as_of=date(2026, 3, 31)),
        )
    assert refused.value.status == 404 and uow.events == []


# -- checks that need today ---------------------------------------------------------------------------------
def test_a_contact_attempt_after_today_is_refused_as_the_schema_did(uow, settings, clock):
    trainee = complete(uow, settings, clock)
    [first, *_] = uow.repo.followups_of(trainee)
    tomorrow = datetime(2026, 4, 16, 0, 30, tzinfo=clock.zone)
    with pytest.raises(Problem) as refused:
        followups.log_contact(
            uow,
            clock,
            principal=OFFICER,
            followup_id=first.id,
            body=ContactIn(attempted_at=tomorrow, channel="phone", result="reached"),
        )
    assert (refused.value.status, refused.value.code) == (422, "validation-error")
    assert [(e.field, e.rule) for e in refused.value.errors] == [("body.attempted_at", "date.future")]
    # 15:30 UTC on the 15th is already the 16th in Seoul; 14:59 UTC is still the 15th
    with pytest.raises(Problem):
        followups.log_contact(
            uow,
            clock,
            principal=OFFICER,
            followup_id=first.id,
            body=ContactIn(attempted_at=datetime(2026, 4, 15, 15, 30, tzinfo=UTC), channel="phone", result="reached"),
        )
    out = followups.log_contact(
        uow,
        clock,
        principal=OFFICER,
        followup_id=first.id,
        body=ContactIn(attempted_at=datetime(2026, 4, 15, 14, 59, tzinfo=UTC), channel="phone", result="no_answer"),
    )
    assert [c.id for c in uow.repo.contacts.values()] == [out.id] and out.officer == "officer-kim"


def test_an_employer_joining_after_today_is_refused_as_the_schema_did(uow, clock):
    settings = Settings(database_url="sqlite://", campuses=[CAMPUS])
    body = EmployerIn(campus=CAMPUS, name="Later Ltd", joined_on=date(2026, 4, 16))
    with pytest.raises(Problem) as refused:
        employers.create_employer(uow, clock, principal=OFFICER, settings=settings, body=body)
    assert [(e.field, e.rule) for e in refused.value.errors] == [("body.joined_on", "date.future")]
    out = employers.create_employer(
        uow,
        clock,
        principal=OFFICER,
        settings=settings,
        body=EmployerIn(campus=CAMPUS, name="Now Ltd", joined_on=date(2026, 4, 15)),
    )
    assert list(uow.repo.employers_) == [out.id]


def test_an_employer_of_a_campus_placement_does_not_know_is_refused(uow, settings, clock):
    with pytest.raises(RuleViolation) as refused:
        employers.create_employer(
            uow, clock, principal=OFFICER, settings=settings, body=EmployerIn(campus=CAMPUS, name="Hanbit Robotics")
        )
    assert [f.rule for f in refused.value.errors] == ["reference.campus"]
    complete(uow, settings, clock)  # a graduate from the campus makes it known
    employers.create_employer(
        uow, clock, principal=OFFICER, settings=settings, body=EmployerIn(campus=CAMPUS, name="Hanbit Robotics")
    )
    assert len(uow.repo.employers_) == 1


# -- internships and the employer's incentive -----------------------------------------------------------------
@pytest.fixture
def posting(uow) -> Posting:  # type: ignore[no-untyped-def]
    employer = Employer(campus=CAMPUS, name="Hanbit Robotics")
    p = Posting(employer_id=employer.id, campus=CAMPUS, role="Junior data analyst", weekly_hours=40)
    uow.repo.employers_[employer.id] = employer
    uow.repo.postings_[p.id] = p
    return p


def test_an_internship_is_paid_at_the_living_wage_and_a_retried_key_replays_it(uow, settings, clock, posting):
    trainee = complete(uow, settings, clock)
    body = InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 1))
    key = idem("start-1", body)
    out = internships.start_internship(uow, principal=OFFICER, settings=settings, body=body, idem=key)
    assert (out.end_date, out.hourly_krw, out.monthly_pay, out.total_pay, out.status) == (
        date(2026, 6, 30),
        11_436,
        2_390_124,
        7_170_372,
        "active",
    )
    assert list(uow.repo.internships_) == [out.id]
    again = internships.start_internship(uow, principal=OFFICER, settings=settings, body=body, idem=key)
    assert again == out and len(uow.repo.internships_) == 1
    with pytest.raises(Problem) as reused:
        internships.start_internship(
            uow,
            principal=OFFICER,
            settings=settings,
            idem=idem("start-1", "other"),
            body=InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 2)),
        )
    assert (reused.value.status, reused.value.code) == (422, "idempotency-key-reused")
    assert uow.events == []


def test_a_part_time_internship_is_pro_rata(uow, settings, clock, posting):
    trainee = complete(uow, settings, clock)
    out = internships.start_internship(
        uow,
        principal=OFFICER,
        settings=settings,
        idem=None,
        body=InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 1), weekly_hours=20),
    )
    assert (out.weekly_hours, out.monthly_pay) == (20, 1_195_062)


def test_a_second_active_internship_is_a_conflict_and_a_closed_posting_refuses(uow, settings, clock, posting):
    trainee = complete(uow, settings, clock)
    body = InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 1))
    internships.start_internship(uow, principal=OFFICER, settings=settings, body=body, idem=None)
    posting.status = "closed"
    with pytest.raises(RuleViolation) as refused:
        internships.start_internship(uow, principal=OFFICER, settings=settings, body=body, idem=idem("start-2", body))
    assert refused.value.status == 409
    assert {f.rule for f in refused.value.errors} == {"internship.already-active", "posting.closed"}
    assert len(uow.repo.internships_) == 1
    assert uow.keys == {}  # the refused request's key was not kept: a retry does the work


def test_converting_an_internship_makes_the_incentive_due_once_and_records_the_job(uow, settings, clock, posting):
    trainee = complete(uow, settings, clock)
    started = internships.start_internship(
        uow,
        principal=OFFICER,
        settings=settings,
        idem=None,
        body=InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 1)),
    )
    body = ConvertIn(hire_date=date(2026, 7, 1), monthly_wage=2_700_000)
    key = idem("convert-1", body)
    out = internships.convert(uow, principal=OFFICER, settings=settings, internship_id=started.id, body=body, idem=key)
    assert (out.status, out.hire_date) == ("converted", date(2026, 7, 1))
    assert out.incentive is not None and (out.incentive.amount, out.incentive.due_on) == (3_000_000, date(2026, 7, 1))
    [incentive] = uow.repo.incentives_.values()
    assert incentive.internship_id == started.id and incentive.employer_id == posting.employer_id
    [job] = uow.repo.outcomes_of(trainee)
    assert (job.category, job.source, job.employer_name, job.monthly_wage) == (
        "employed",
        "internship_conversion",
        "Hanbit Robotics",
        2_700_000,
    )
    assert uow.emitted(events.INCENTIVE_DUE) == [
        {
            "internship_id": str(started.id),
            "employer_id": str(posting.employer_id),
            "trainee_id": str(trainee),
            "campus": CAMPUS,
            "amount": 3_000_000,
        }
    ]
    assert len(uow.emitted(events.OUTCOME_RECORDED)) == 1

    assert (
        internships.convert(uow, principal=OFFICER, settings=settings, internship_id=started.id, body=body, idem=key)
        == out
    )  # the retry replays the first answer
    with pytest.raises(RuleViolation) as refused:
        internships.convert(uow, principal=OFFICER, settings=settings, internship_id=started.id, body=body, idem=None)
    assert refused.value.status == 409
    assert [f.rule for f in refused.value.errors] == ["incentive.once-per-internship"]
    assert len(uow.repo.incentives_) == 1 and len(uow.emitted(events.INCENTIVE_DUE)) == 1
    assert len(uow.repo.outcomes_of(trainee)) == 1


def test_the_incentive_amount_is_the_settings(uow, clock, posting):
    settings = Settings(database_url="sqlite://", conversion_incentive_krw=2_000_000)
    trainee = complete(uow, settings, clock)
    started = internships.start_internship(
        uow,
        principal=OFFICER,
        settings=settings,
        idem=None,
        body=InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 1)),
    )
    out = internships.convert(
        uow,
        principal=OFFICER,
        settings=settings,
        internship_id=started.id,
        body=ConvertIn(hire_date=date(2026, 7, 1)),
        idem=None,
    )
    assert out.incentive is not None and out.incentive.amount == 2_000_000
    page = internships.list_incentives(uow, principal=OFFICER, page=PAGE, campus=None)
    assert (page.total, [i.amount for i in page.items]) == (1, [2_000_000])
    assert internships.list_incentives(uow, principal=ELSEWHERE, page=PAGE, campus=None).total == 0


def test_a_hire_before_the_internship_started_is_refused_and_nothing_is_due(uow, settings, clock, posting):
    trainee = complete(uow, settings, clock)
    started = internships.start_internship(
        uow,
        principal=OFFICER,
        settings=settings,
        idem=None,
        body=InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 1)),
    )
    with pytest.raises(RuleViolation) as refused:
        internships.convert(
            uow,
            principal=OFFICER,
            settings=settings,
            internship_id=started.id,
            body=ConvertIn(hire_date=date(2026, 3, 31)),
            idem=None,
        )
    assert refused.value.status == 422
    assert [f.rule for f in refused.value.errors] == ["internship.hire-before-start"]
    assert uow.repo.incentives_ == {} and uow.events == []


# -- the employment-rate report ------------------------------------------------------------------------------
def test_the_employment_report_counts_each_completers_latest_outcome_as_of_the_clocks_today(uow, settings, clock):
    employed, studying, seeking, silent = (complete(uow, settings, clock) for _ in range(4))
    late = complete(uow, settings, clock, completion=date(2026, 4, 30))  # completes after the report date
    for trainee, category, job in (
        (employed, "employed", employment()),
        (studying, "further_education", None),
        (seeking, "seeking_work", None),
        (late, "employed", employment()),
    ):
        outcomes.record_outcome(
            uow,
            principal=OFFICER,
            body=OutcomeIn(
                graduate_id=trainee,
                category=category,
                as_of=date(2026, 3, 31) if trainee != late else date(2026, 5, 4),
                employment=job,
            ),
        )
    report = reports.build(uow, clock, principal=OFFICER)
    assert report.as_of == date(2026, 4, 15) and report.rows == []
    t = report.total
    assert t.completers == 4
    assert (t.employment_rate.numerator, t.employment_rate.denominator, t.employment_rate.percent) == (1, 3, 33)
    assert (t.median_monthly_wage.value, t.median_monthly_wage.count) == (2_600_000, 1)
    assert t.employment_rate_6m.denominator == 0 and t.employment_rate_6m.rate is None
    assert silent in uow.repo.graduates_


def test_a_grouped_report_has_a_row_per_group_and_the_filters_are_checked(uow, settings, clock):
    complete(uow, settings, clock)
    complete(uow, settings, clock, campus="other")
    everywhere = Principal(sub="auditor", roles=frozenset({"auditor"}), campuses=frozenset({"*"}))
    report = reports.build(uow, clock, principal=everywhere, group_by="campus")
    assert [(r.group, r.completers) for r in report.rows] == [("other", 1), (CAMPUS, 1)]
    assert report.total.completers == 2
    assert reports.build(uow, clock, principal=OFFICER).total.completers == 1  # campus scope
    with pytest.raises(Problem) as refused:
        reports.build(uow, clock, principal=OFFICER, campus="other")
    assert refused.value.status == 404
    with pytest.raises(Problem) as refused:
        reports.build(uow, clock, principal=OFFICER, completed_from=date(2026, 2, 1), completed_to=date(2026, 1, 1))
    assert refused.value.status == 400


# -- targets -------------------------------------------------------------------------------------------------
def test_a_programme_target_is_set_then_replaced(uow):
    with pytest.raises(Problem) as missing:
        targets.get_target(uow, "BIGDATA")
    assert missing.value.status == 404
    first = targets.set_target(uow, principal=OFFICER, programme_code="BIGDATA", body=TargetIn(employment_rate=0.7))
    assert (first.employment_rate, first.set_by) == (0.7, "officer-kim")
    second = targets.set_target(uow, principal=ELSEWHERE, programme_code="BIGDATA", body=TargetIn(employment_rate=0.75))
    assert (second.employment_rate, second.set_by) == (0.75, "officer-lee")
    assert ("target", "BIGDATA") in uow.repo.locked
    assert [t.programme_code for t in targets.list_targets(uow)] == ["BIGDATA"]
    assert targets.get_target(uow, "BIGDATA") == second
    assert uow.committed == 2 and uow.events == []


# -- closing a posting, ending an internship early -----------------------------------------------------------
def test_a_closed_posting_keeps_its_first_closing_and_takes_no_new_match(uow, settings, clock, posting):
    trainee = complete(uow, settings, clock)
    closed = employers.close_posting(
        uow, principal=OFFICER, settings=settings, posting_id=posting.id, body=PostingCloseIn(reason="filled")
    )
    assert (closed.status, closed.close_reason, closed.closed_at is not None) == ("closed", "filled", True)
    assert ("posting", posting.id) in uow.repo.locked
    again = employers.close_posting(
        uow, principal=OFFICER, settings=settings, posting_id=posting.id, body=PostingCloseIn(reason="other")
    )
    assert again == closed  # closing twice changes nothing and answers the same
    with pytest.raises(RuleViolation) as no_match:
        employers.matches(uow, principal=OFFICER, posting_id=posting.id, limit=10)
    assert (no_match.value.status, [f.rule for f in no_match.value.errors]) == (409, ["posting.closed"])
    body = InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=date(2026, 4, 1))
    with pytest.raises(RuleViolation) as no_start:
        internships.start_internship(uow, principal=OFFICER, settings=settings, body=body, idem=None)
    assert (no_start.value.status, [f.rule for f in no_start.value.errors]) == (409, ["posting.closed"])
    assert uow.repo.internships_ == {}
    listed = employers.list_postings(
        uow, principal=OFFICER, settings=settings, page=PAGE, campus=None, employer_id=None, status="closed"
    )
    assert [p.id for p in listed.items] == [posting.id]
    with pytest.raises(Problem) as unseen:
        employers.close_posting(
            uow, principal=ELSEWHERE, settings=settings, posting_id=posting.id, body=PostingCloseIn()
        )
    assert unseen.value.status == 404


def start(uow, settings, posting, trainee, day: date = date(2026, 3, 2)):  # type: ignore[no-untyped-def]
    body = InternshipIn(posting_id=posting.id, graduate_id=trainee, start_date=day)
    return internships.start_internship(uow, principal=OFFICER, settings=settings, body=body, idem=None)


def test_an_internship_ended_early_pays_the_days_worked_and_is_never_converted(uow, settings, clock, posting):
    trainee = complete(uow, settings, clock)
    started = start(uow, settings, posting, trainee)
    body = InternshipEndIn(date=date(2026, 4, 10), reason="moved to another city")
    key = idem("end-1", body)
    out = internships.end_early(uow, clock, principal=OFFICER, internship_id=started.id, body=body, idem=key)
    # 2 March-1 April in full; then 9 of the 30 days of 2 April-1 May: 2,390,124 x 9 / 30 = 717,037.2.
    assert (out.status, out.ended_on, out.end_reason, out.total_pay) == (
        "ended_early",
        date(2026, 4, 10),
        "moved to another city",
        2_390_124 + 717_037,
    )
    assert (out.end_date, out.monthly_pay) == (date(2026, 6, 1), 2_390_124)  # the planned end stays known
    assert ("internship", started.id) in uow.repo.locked
    assert internships.end_early(uow, clock, principal=OFFICER, internship_id=started.id, body=body, idem=key) == out
    with pytest.raises(RuleViolation) as twice:
        internships.end_early(uow, clock, principal=OFFICER, internship_id=started.id, body=body, idem=None)
    assert (twice.value.status, [f.rule for f in twice.value.errors]) == (409, ["internship.not-active"])
    with pytest.raises(RuleViolation) as converted:
        internships.convert(
            uow,
            principal=OFFICER,
            settings=settings,
            internship_id=started.id,
            body=ConvertIn(hire_date=date(2026, 4, 14)),
            idem=None,
        )
    assert (converted.value.status, [f.rule for f in converted.value.errors]) == (409, ["internship.ended-early"])
    assert uow.repo.incentives_ == {} and uow.emitted(events.INCENTIVE_DUE) == []
    assert start(uow, settings, posting, trainee, date(2026, 4, 13)).status == "active"  # free for another


def test_an_early_end_is_a_past_day_between_the_start_and_the_planned_end(uow, settings, clock, posting):
    started = start(uow, settings, posting, complete(uow, settings, clock))

    def end(day: date) -> Problem:
        with pytest.raises(Problem) as refused:
            internships.end_early(
                uow,
                clock,
                principal=OFFICER,
                internship_id=started.id,
                body=InternshipEndIn(date=day, reason="r"),
                idem=None,
            )
        return refused.value

    future = end(date(2026, 4, 16))  # the clock's today is 15 April
    assert (future.status, [f.rule for f in future.errors]) == (422, ["date.future"])
    before = end(date(2026, 3, 1))
    assert (before.status, [f.rule for f in before.errors]) == (422, ["internship.end-before-start"])
    assert uow.repo.internships_[started.id].status == "active"
