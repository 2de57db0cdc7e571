"""Rate, three-to-one, 80% completion, maximum possible rate, at-risk crossing, monthly allowance."""

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.attendance.domain.excuses import REASON_CODES, check_excuse
from services.attendance.domain.marks import ABSENT, EARLY_LEAVE, EXCUSED, LATE, OUT, PRESENT
from services.attendance.domain.standing import (
    AllowancePolicy,
    Day,
    allowance,
    at_risk_reason,
    before_joining,
    completed,
    completion_outcome,
    counts,
    current_rate,
    final_rate,
    max_possible_rate,
    monthly_periods,
    scheduled_from,
    should_warn,
)

D0 = date(2027, 3, 1)


def days(*marks, hours=8.0, start=D0):
    return [Day(start + timedelta(i), hours, m) for i, m in enumerate(marks)]


def test_three_lates_early_leaves_or_outs_count_as_one_absence():
    c = counts(days(LATE, EARLY_LEAVE, OUT, *[PRESENT] * 7))
    assert (c.converted_absences, c.attended, c.scheduled) == (1, 9, 10)
    assert final_rate(c) == Fraction(9, 10)
    assert counts(days(LATE, LATE, *[PRESENT] * 8)).attended == 10  # two lates: no absence yet
    assert counts(days(*[LATE] * 6, *[PRESENT] * 4)).converted_absences == 2


def test_excused_counts_as_attended():
    c = counts(days(EXCUSED, EXCUSED, *[PRESENT] * 8))
    assert final_rate(c) == 1


def test_eighty_percent_completes():
    assert completed(counts(days(*[ABSENT] * 2, *[PRESENT] * 8)), 0.8)  # exactly 80%
    assert not completed(counts(days(*[ABSENT] * 3, *[PRESENT] * 7)), 0.8)  # 70%
    assert not completed(counts(days(ABSENT, ABSENT, LATE, LATE, LATE, *[PRESENT] * 5)), 0.8)  # 7/10 after conversion
    assert completed(counts(days(*[ABSENT] * 3, *[PRESENT] * 7)), 0.7)  # threshold per programme


def test_maximum_possible_rate_and_at_risk():
    # 20 scheduled days; 5 held with 4 absences: 1 attended + 15 remaining = 16/20 = 80% -> still reachable,
    # but the current rate 1/5 is below: at risk.
    c = counts(days(*[ABSENT] * 4, PRESENT, *[None] * 15))
    assert max_possible_rate(c) == Fraction(16, 20)
    assert current_rate(c) == Fraction(1, 5)
    assert at_risk_reason(c, 0.8) == "below_threshold"
    # a fifth absence: 15/20 = 75% < 80%, can no longer reach it
    c = counts(days(*[ABSENT] * 5, *[None] * 15))
    assert at_risk_reason(c, 0.8) == "cannot_reach_threshold"
    assert at_risk_reason(counts(days(*[PRESENT] * 5, *[None] * 15)), 0.8) is None
    assert at_risk_reason(counts(days(*[None] * 20)), 0.8) is None  # nothing held yet


def test_warn_once_per_crossing():
    assert should_warn(False, True)
    assert not should_warn(True, True)  # still at risk: no second warning
    assert not should_warn(True, False)  # climbed back: re-armed, no warning
    assert not should_warn(False, False)


def test_monthly_allowance_full_days():
    # 20 attended 8-hour days in a 20-day month: 20 x 5,800 = 116,000 (the cap)
    [m] = monthly_periods(days(*[PRESENT] * 20))
    assert (m.attended_days, m.rate, m.allowance_krw) == (20, 1, 116_000)
    # 22 days attended: still capped at 116,000
    [m] = monthly_periods(days(*[PRESENT] * 22))
    assert m.allowance_krw == 116_000
    # 17 of 20 days (85%): 17 x 5,800 = 98,600
    [m] = monthly_periods(days(*[ABSENT] * 3, *[PRESENT] * 17))
    assert m.allowance_krw == 98_600


def test_month_below_eighty_percent_pays_nothing():
    [m] = monthly_periods(days(*[ABSENT] * 5, *[PRESENT] * 15))  # 75%
    assert m.rate == Fraction(3, 4) and m.allowance_krw == 0
    [m] = monthly_periods(days(*[ABSENT] * 4, *[PRESENT] * 16))  # exactly 80% pays
    assert m.allowance_krw == 16 * 5_800


def test_short_days_pay_2500_capped_at_50000():
    [m] = monthly_periods(days(*[PRESENT] * 10, hours=4.0))
    assert (m.short_days_attended, m.allowance_krw) == (10, 25_000)
    [m] = monthly_periods(days(*[PRESENT] * 21, hours=4.0))
    assert m.allowance_krw == 50_000
    [m] = monthly_periods(days(*[PRESENT] * 20, hours=5.0))  # 5 hours is a full day
    assert m.allowance_krw == 116_000


def test_conversion_counts_in_the_month_and_drops_the_third_minor_day():
    [m] = monthly_periods(days(LATE, LATE, LATE, *[PRESENT] * 17))
    assert (m.attended_days, m.allowance_krw) == (19, 19 * 5_800)


def test_months_are_separate_periods():
    ds = [Day(date(2027, 3, 31), 8, PRESENT), Day(date(2027, 4, 1), 8, ABSENT), Day(date(2027, 4, 2), 8, None)]
    march, april = monthly_periods(ds)
    assert (march.month, march.allowance_krw, march.complete) == ("2027-03", 5_800, True)
    assert (april.month, april.allowance_krw, april.complete, april.held_days) == ("2027-04", 0, False, 1)


def test_allowance_figures_are_policy():
    p = AllowancePolicy(full_day_krw=6_000, full_day_cap_krw=120_000)
    assert allowance(20, 0, Fraction(1), p) == 120_000
    assert allowance(3, 2, None, p) == 0


def test_excuse_needs_a_known_reason_and_evidence():
    assert check_excuse("reserve_forces", "MND-2027-0042") == []
    assert [f.rule for f in check_excuse("holiday", "x")] == ["excuse.reason-code"]
    assert [f.rule for f in check_excuse("voting", " ")] == ["excuse.evidence"]
    assert {
        "reserve_forces",
        "civil_defence",
        "job_interview",
        "voting",
        "business_start_exam",
        "skills_competition",
    } <= set(REASON_CODES)


marks = st.sampled_from([PRESENT, LATE, EARLY_LEAVE, OUT, ABSENT, EXCUSED, None])


@given(st.lists(marks, min_size=1, max_size=120))
def test_rate_arithmetic_properties(ms):
    c = counts(days(*ms))
    assert 0 <= c.attended <= c.held <= c.scheduled
    assert c.converted_absences == c.minor // 3
    assert 0 <= final_rate(c) <= max_possible_rate(c) <= 1
    if c.remaining == 0:
        assert max_possible_rate(c) == final_rate(c)
    # the allowance periods agree with the overall count when there is one month and all is held
    assert sum(p.held_days for p in monthly_periods(days(*ms))) == c.held


@given(
    st.lists(st.sampled_from([PRESENT, LATE, EARLY_LEAVE, OUT, ABSENT, EXCUSED]), min_size=1, max_size=60),
    st.sampled_from([PRESENT, EXCUSED]),
)
def test_attending_never_lowers_the_rate(ms, better):
    worse = counts(days(*ms, ABSENT))
    good = counts(days(*ms, better))
    assert final_rate(good) >= final_rate(worse)
    assert max_possible_rate(good) >= max_possible_rate(worse)


@given(st.integers(0, 31), st.integers(0, 31))
def test_allowance_bounded_by_caps(full, short):
    amount = allowance(full, short, Fraction(1), AllowancePolicy())
    assert 0 <= amount <= 116_000 + 50_000
    assert amount == min(full * 5_800, 116_000) + min(short * 2_500, 50_000)


# -- a trainee who joins after the start is measured from the join date ---------------------------------
def test_a_late_joiner_is_rated_only_over_the_sessions_from_the_join_date():
    # ten days; joined on day 4: the three days before are not theirs, attended 6 of the 7 that are
    ten = days(*[None] * 3, PRESENT, PRESENT, ABSENT, *[PRESENT] * 4)
    joined = D0 + timedelta(3)
    c = counts(ten, joined_on=joined)
    assert (c.scheduled, c.held, c.attended, c.marked_absent) == (7, 7, 6, 1)
    assert final_rate(c) == Fraction(6, 7) and completed(c, 0.8)
    # measured over the whole cohort, the three days before joining would be three more absences
    whole = counts([Day(d.date, d.hours, d.mark or ABSENT) for d in ten])
    assert final_rate(whole) == Fraction(6, 10) and not completed(whole, 0.8)


def test_a_late_joiner_s_maximum_possible_rate_and_at_risk_count_from_the_join_date():
    joined = D0 + timedelta(5)
    # five days held before joining (recorded absent for the cohort), two attended since, three to come
    ten = days(*[ABSENT] * 5, PRESENT, PRESENT, None, None, None)
    c = counts(ten, joined_on=joined)
    assert (c.scheduled, c.held, c.remaining) == (5, 2, 3)
    assert max_possible_rate(c) == 1 and current_rate(c) == 1
    assert at_risk_reason(c, 0.8) is None
    assert at_risk_reason(counts(ten), 0.8) == "cannot_reach_threshold"  # as if scheduled from the start


def test_joining_on_the_first_day_or_without_a_join_date_changes_nothing():
    ten = days(LATE, ABSENT, *[PRESENT] * 8)
    assert counts(ten, joined_on=D0) == counts(ten) == counts(ten, joined_on=None)
    assert counts(ten, joined_on=D0 - timedelta(30)) == counts(ten)


def test_a_trainee_who_joins_after_the_last_session_has_nothing_scheduled_and_does_not_complete():
    c = counts(days(*[PRESENT] * 5), joined_on=D0 + timedelta(10))
    assert (c.scheduled, final_rate(c), completed(c, 0.8)) == (0, 0, False)
    assert completion_outcome(c, 0.8, withdrawn=False) == ("not_completed", "below_threshold")


def test_the_completion_outcome_names_its_reason():
    assert completion_outcome(counts(days(*[PRESENT] * 8, ABSENT, ABSENT)), 0.8, withdrawn=False) == (
        "completed",
        None,
    )
    assert completion_outcome(counts(days(*[PRESENT] * 7, *[ABSENT] * 3)), 0.8, withdrawn=False) == (
        "not_completed",
        "below_threshold",
    )
    assert completion_outcome(counts(days(*[PRESENT] * 10)), 0.8, withdrawn=True) == ("not_completed", "withdrawn")


def test_the_join_month_s_allowance_counts_only_the_days_from_joining():
    # March 22-31 (8 weekdays): joined on the 29th, attended the 29th-31st; the five days before are not theirs
    march = [date(2027, 3, d) for d in (22, 23, 24, 25, 26, 29, 30, 31)]
    april = [date(2027, 4, d) for d in (1, 2)]
    marks = [ABSENT] * 5 + [PRESENT] * 3 + [PRESENT, PRESENT]
    all_days = [Day(d, 8.0, m) for d, m in zip(march + april, marks)]
    joined = date(2027, 3, 29)
    m, a = monthly_periods(all_days, AllowancePolicy(), joined_on=joined)
    assert (m.month, m.scheduled_days, m.attended_days, m.rate, m.allowance_krw) == ("2027-03", 3, 3, 1, 3 * 5_800)
    assert (a.month, a.scheduled_days, a.allowance_krw) == ("2027-04", 2, 2 * 5_800)
    [whole, _] = monthly_periods(all_days, AllowancePolicy())
    assert whole.allowance_krw == 0  # three of eight: below the month threshold if counted from the 22nd


def test_a_month_wholly_before_the_join_date_has_no_period():
    feb_and_march = [Day(date(2027, 2, 26), 8.0, ABSENT), Day(date(2027, 3, 2), 8.0, PRESENT)]
    [only] = monthly_periods(feb_and_march, AllowancePolicy(), joined_on=date(2027, 3, 1))
    assert (only.month, only.allowance_krw) == ("2027-03", 5_800)


def test_a_session_before_the_join_date_is_not_the_trainee_s():
    joined = date(2027, 3, 10)
    assert before_joining(date(2027, 3, 9), joined)
    assert not before_joining(joined, joined) and not before_joining(date(2027, 3, 11), joined)
    assert not before_joining(date(2027, 3, 9), None)
    assert [d.date for d in scheduled_from(days(PRESENT, PRESENT, PRESENT), D0 + timedelta(1))] == [
        D0 + timedelta(1),
        D0 + timedelta(2),
    ]
