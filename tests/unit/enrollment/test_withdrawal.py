"""The withdrawal date: within the enrollment, and recorded on or after the day it happens, never ahead."""

from datetime import date, timedelta

from services.enrollment.domain.withdrawal import date_failures

TODAY = date(2027, 3, 15)
ENROLLED = date(2027, 3, 2)
END = date(2027, 6, 30)


def rules(day: date, today: date = TODAY) -> list[str]:
    return [f.rule for f in date_failures(day, today=today, enrolled_on=ENROLLED, cohort_end=END)]


def test_a_withdrawal_today_or_earlier_within_the_enrollment_is_recorded():
    assert rules(TODAY) == [] and rules(ENROLLED) == [] and rules(TODAY - timedelta(days=5)) == []


def test_a_withdrawal_dated_ahead_is_refused_even_by_one_day():
    assert rules(TODAY + timedelta(days=45)) == ["withdrawal.date-in-future"]
    [failure] = date_failures(TODAY + timedelta(days=1), today=TODAY, enrolled_on=ENROLLED, cohort_end=END)
    assert (failure.rule, failure.field) == ("withdrawal.date-in-future", "date")


def test_a_date_after_the_end_or_before_the_enrollment_names_its_rule():
    after_end = END + timedelta(days=1)
    assert rules(after_end, today=date(2027, 7, 10)) == ["withdrawal.after-end"]
    assert rules(after_end) == ["withdrawal.date-in-future", "withdrawal.after-end"]  # both broken: both named
    assert rules(ENROLLED - timedelta(days=1)) == ["withdrawal.before-enrollment"]
