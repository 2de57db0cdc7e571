from datetime import date, time

from services.enrollment.domain.timetable import expand, session_hours


def test_weekday_sessions_skip_weekends_and_holidays():
    sessions = expand(
        date(2027, 3, 1), date(2027, 3, 14), [0, 1, 2, 3, 4], time(9), time(18), 60, frozenset({date(2027, 3, 1)})
    )
    assert len(sessions) == 9
    assert all(s.date.weekday() < 5 for s in sessions)
    assert sessions[0].date == date(2027, 3, 2)
    assert {s.hours for s in sessions} == {8.0}


def test_session_hours_subtract_the_break():
    assert session_hours(time(9), time(18), 60) == 8.0
    assert session_hours(time(19), time(22)) == 3.0
    assert session_hours(time(9), time(13, 30)) == 4.5


# -- changes to a published timetable -------------------------------------------------------------------
from services.enrollment.domain.timetable import Change, Plan, change_plan  # noqa: E402

MON, TUE, WED = date(2027, 3, 1), date(2027, 3, 2), date(2027, 3, 3)
PLAN = Plan(MON, date(2027, 3, 31), tuple(expand(MON, date(2027, 3, 31), [0, 1, 2, 3, 4], time(9), time(18), 60)))


def failed(change: Change, today: date = TUE) -> list[str]:
    outcome, failures = change_plan(PLAN, change, today)
    assert outcome is None
    return [f.rule for f in failures]


def test_cancelling_a_future_session_takes_it_out_of_the_plan():
    outcome, failures = change_plan(PLAN, Change("cancel", day=WED), TUE)
    assert not failures and outcome is not None
    assert outcome.removed is not None and outcome.removed.date == WED
    assert len(outcome.plan.sessions) == len(PLAN.sessions) - 1
    assert WED not in {s.date for s in outcome.plan.sessions}


def test_todays_session_may_still_be_cancelled_but_not_one_that_took_place():
    assert change_plan(PLAN, Change("cancel", day=TUE), TUE)[1] == []
    assert failed(Change("cancel", day=MON)) == ["timetable.session-held"]
    assert failed(Change("move", day=MON, new_day=date(2027, 3, 6))) == ["timetable.session-held"]


def test_a_change_names_an_existing_session():
    assert failed(Change("cancel", day=date(2027, 3, 6))) == ["timetable.no-such-session"]  # a Saturday
    assert failed(Change("cancel", day=WED, start=time(13))) == ["timetable.no-such-session"]


def test_a_make_up_session_lies_within_the_cohort_dates_and_not_in_the_past():
    outcome, failures = change_plan(
        PLAN, Change("add", new_day=date(2027, 3, 6), new_start=time(9), new_end=time(13)), TUE
    )
    assert not failures and outcome is not None and outcome.added is not None
    assert (outcome.added.date, outcome.added.hours) == (date(2027, 3, 6), 4.0)
    assert len(outcome.plan.sessions) == len(PLAN.sessions) + 1
    assert failed(Change("add", new_day=date(2027, 4, 3), new_start=time(9), new_end=time(13))) == [
        "timetable.outside-cohort"
    ]
    assert failed(
        Change("add", new_day=date(2027, 2, 27), new_start=time(9), new_end=time(13)), today=date(2027, 2, 1)
    ) == ["timetable.outside-cohort"]
    assert "timetable.in-the-past" in failed(Change("add", new_day=MON, new_start=time(19), new_end=time(21)))


def test_no_two_sessions_share_a_date_and_start():
    assert failed(Change("add", new_day=WED, new_start=time(9), new_end=time(12))) == ["timetable.slot-taken"]
    assert failed(Change("move", day=WED, new_day=date(2027, 3, 4))) == ["timetable.slot-taken"]
    # a second session the same day at another time is fine
    assert change_plan(PLAN, Change("add", new_day=WED, new_start=time(19), new_end=time(21)), TUE)[1] == []


def test_moving_a_session_keeps_its_times_unless_new_ones_are_given():
    outcome, failures = change_plan(PLAN, Change("move", day=WED, new_day=date(2027, 3, 6)), TUE)
    assert not failures and outcome is not None and outcome.removed and outcome.added
    assert (outcome.removed.date, outcome.added.date, outcome.added.start, outcome.added.hours) == (
        WED,
        date(2027, 3, 6),
        time(9),
        8.0,
    )
    assert len(outcome.plan.sessions) == len(PLAN.sessions)
    outcome, failures = change_plan(PLAN, Change("move", day=WED, new_start=time(13), new_end=time(18)), TUE)
    assert not failures and outcome is not None and outcome.added is not None
    assert (outcome.added.date, outcome.added.start, outcome.added.hours) == (WED, time(13), 5.0)
    assert failed(Change("move", day=WED, new_day=date(2027, 4, 1))) == ["timetable.outside-cohort"]
    assert failed(Change("move", day=WED, new_day=WED)) == ["timetable.move-unchanged"]


def test_extending_moves_the_end_only_later_and_then_admits_sessions_up_to_it():
    assert failed(Change("extend", new_end_date=date(2027, 3, 31))) == ["timetable.extend-not-later"]
    assert failed(Change("extend", new_end_date=date(2027, 3, 20))) == ["timetable.extend-not-later"]
    outcome, failures = change_plan(PLAN, Change("extend", new_end_date=date(2027, 4, 9)), TUE)
    assert not failures and outcome is not None
    assert (outcome.old_end_date, outcome.new_end_date, outcome.plan.end_date) == (
        date(2027, 3, 31),
        date(2027, 4, 9),
        date(2027, 4, 9),
    )
    assert outcome.plan.sessions == PLAN.sessions
    later, failures = change_plan(
        outcome.plan, Change("add", new_day=date(2027, 4, 1), new_start=time(9), new_end=time(18)), TUE
    )
    assert not failures and later is not None


def test_a_cohort_that_has_ended_keeps_its_plan_but_may_still_be_extended_on_its_last_day():
    last_day, after = date(2027, 3, 31), date(2027, 4, 1)
    for change in (
        Change("extend", new_end_date=date(2027, 4, 30)),
        Change("add", new_day=date(2027, 4, 2), new_start=time(9), new_end=time(18)),
        Change("cancel", day=last_day),
    ):
        assert failed(change, today=after) == ["timetable.cohort-ended"]
    assert change_plan(PLAN, Change("extend", new_end_date=date(2027, 4, 30)), last_day)[1] == []
