"""Until when a seat can be taken: never after the cohort's end, and at most so many days after its start."""

from datetime import date, timedelta

from services.enrollment.domain.seats import LATE_JOIN_MAX_DAYS, JoiningPolicy, joining_failures, last_joining_day

START, END = date(2027, 3, 2), date(2027, 6, 30)


DEFAULT = JoiningPolicy()


def rules(today: date, policy: JoiningPolicy = DEFAULT) -> list[str]:
    return [f.rule for f in joining_failures(START, END, today, policy)]


def test_a_seat_can_be_taken_before_the_start_and_up_to_the_limit_after_it():
    assert rules(START - timedelta(30)) == rules(START) == []
    assert rules(START + timedelta(LATE_JOIN_MAX_DAYS)) == []
    assert rules(START + timedelta(LATE_JOIN_MAX_DAYS + 1)) == ["seat.join-too-late"]


def test_no_seat_is_taken_after_the_end_whatever_the_limit():
    assert rules(END + timedelta(1)) == ["seat.cohort-ended"]
    assert rules(END + timedelta(1), JoiningPolicy(late_join_max_days=365)) == ["seat.cohort-ended"]
    assert rules(END, JoiningPolicy(late_join_max_days=365)) == []


def test_a_limit_of_zero_means_joining_by_the_first_day_and_the_last_day_never_passes_the_end():
    assert rules(START, JoiningPolicy(0)) == [] and rules(START + timedelta(1), JoiningPolicy(0)) == [
        "seat.join-too-late"
    ]
    assert last_joining_day(START, START + timedelta(5), JoiningPolicy()) == START + timedelta(5)
    assert last_joining_day(START, END, JoiningPolicy()) == START + timedelta(14)
