"""Placement rules with DOMAIN.md's figures: schedule, outcomes, employment rate, internships, indicators."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.placement.domain import followups, indicators, internships, outcomes
from services.placement.domain.calendar import add_months, quarter_after
from services.placement.domain.outcomes import Employment, Outcome, Ratio


# -- follow-up schedule -------------------------------------------------------
def test_follow_ups_are_due_1_3_6_and_12_months_after_completion():
    plan = followups.schedule(date(2024, 7, 31))
    assert [(p.months, p.due_date) for p in plan] == [
        (1, date(2024, 8, 31)),
        (3, date(2024, 10, 31)),
        (6, date(2025, 1, 31)),
        (12, date(2025, 7, 31)),
    ]


def test_month_end_is_clamped():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)


def test_schedule_months_are_a_policy():
    plan = followups.schedule(date(2024, 1, 15), followups.FollowupPolicy(months=(2, 24), lead_days=0, grace_days=0))
    assert [p.due_date for p in plan] == [date(2024, 3, 15), date(2026, 1, 15)]


def test_status_moves_from_upcoming_to_due_to_overdue():
    p = followups.schedule(date(2024, 1, 15), followups.FollowupPolicy(lead_days=7, grace_days=14))[0]
    assert p.due_date == date(2024, 2, 15)
    kw = dict(done=False, window_opens=p.window_opens, overdue_after=p.overdue_after)
    assert followups.status(on=date(2024, 2, 7), **kw) == "upcoming"
    assert followups.status(on=date(2024, 2, 8), **kw) == "due"
    assert followups.status(on=date(2024, 2, 29), **kw) == "due"
    assert followups.status(on=date(2024, 3, 1), **kw) == "overdue"
    assert followups.status(on=date(2024, 3, 1), **{**kw, "done": True}) == "done"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 60))
def test_add_months_never_goes_backwards_and_lands_in_the_right_month(day, months):
    later = add_months(day, months)
    assert later >= day
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months


# -- outcomes and the employment rate ----------------------------------------
def test_seoul_2017_1323_of_2006_is_66_percent():
    r = Ratio(1323, 2006)
    assert round(r.value, 4) == 0.6595
    assert r.percent == 66


def test_employment_rate_excludes_further_education_military_and_not_seeking():
    cats = (
        ["employed"] * 1200
        + ["self_employed"] * 123
        + ["seeking_work"] * 400
        + ["unreachable"] * 183
        + [None] * 100
        + ["further_education"] * 30
        + ["military_service"] * 20
        + ["not_seeking"] * 10
    )
    r = outcomes.employment_rate(cats)
    assert (r.numerator, r.denominator, r.percent) == (1323, 2006, 66)


def test_rate_with_no_targets_is_undefined_not_zero():
    r = outcomes.employment_rate(["military_service"])
    assert (r.numerator, r.denominator, r.value, r.percent) == (0, 0, None, None)


def test_percent_rounds_half_up():
    assert Ratio(1, 8).percent == 13  # 12.5 -> 13
    assert Ratio(822, 1000).percent == 82


@given(st.lists(st.sampled_from(list(outcomes.CATEGORIES) + [None]), max_size=200))
def test_rate_is_a_fraction_of_the_targets(cats):
    r = outcomes.employment_rate(cats)
    assert 0 <= r.numerator <= r.denominator <= len(cats)
    assert r.denominator == sum(1 for c in cats if c not in outcomes.NOT_TARGETS)


def test_latest_outcome_as_of_a_date():
    history = [
        Outcome("seeking_work", date(2024, 2, 1), 0),
        Outcome("employed", date(2024, 5, 1), 1, 2_500_000),
        Outcome("unreachable", date(2024, 5, 1), 2),
    ]
    assert outcomes.latest_as_of(history, date(2024, 1, 31)) is None
    assert outcomes.latest_as_of(history, date(2024, 4, 30)).category == "seeking_work"
    assert outcomes.latest_as_of(history, date(2024, 5, 1)).category == "unreachable"  # recorded later, same day


def _emp(**kw):
    base = dict(
        employer_name="Hanbit Robotics",
        start_date=date(2024, 3, 4),
        employment_type="regular",
        insured=True,
        monthly_wage=2_600_000,
    )
    base.update(kw)
    return Employment(**base)


def test_valid_employed_outcome_passes():
    assert outcomes.check_outcome("employed", date(2024, 4, 1), date(2024, 2, 28), _emp()) == []


@pytest.mark.parametrize(
    "category,as_of,employment,rule",
    [
        ("employed", date(2024, 4, 1), _emp(monthly_wage=-1), "outcome.wage-negative"),
        ("employed", date(2024, 4, 1), _emp(employment_type="freelance"), "outcome.employment-type"),
        ("employed", date(2024, 4, 1), None, "outcome.employment-required"),
        ("employed", date(2024, 1, 1), _emp(start_date=date(2023, 12, 1)), "outcome.before-completion"),
        ("employed", date(2024, 4, 1), _emp(start_date=date(2024, 5, 1)), "outcome.start-after-as-of"),
        ("seeking_work", date(2024, 4, 1), _emp(), "outcome.employment-details"),
        ("retired", date(2024, 4, 1), None, "outcome.category"),
    ],
)
def test_bad_outcomes_name_the_rule(category, as_of, employment, rule):
    failures = outcomes.check_outcome(category, as_of, date(2024, 2, 28), employment)
    assert rule in [f.rule for f in failures]


def test_median_wage():
    assert outcomes.median([]) is None
    assert outcomes.median([2_500_000]) == 2_500_000
    assert outcomes.median([3_000_000, 2_000_000, 2_500_000]) == 2_500_000
    assert outcomes.median([2_000_001, 2_000_000]) == 2_000_001  # 2,000,000.5 half up


# -- internships --------------------------------------------------------------
POLICY = internships.PayPolicy(hourly_krw=11_436, full_time_monthly_hours=209, full_time_weekly_hours=40, months=3)


def test_full_time_month_at_the_living_wage_is_2390124():
    assert internships.monthly_pay(POLICY) == 2_390_124
    assert internships.total_pay(POLICY) == 7_170_372


def test_part_time_is_pro_rata_rounded_down():
    assert internships.monthly_pay(POLICY, 20) == 1_195_062
    assert internships.monthly_pay(POLICY, 15) == 896_296  # 896,296.5 rounded down


def test_internship_lasts_three_months():
    assert internships.end_date(date(2024, 3, 4), POLICY) == date(2024, 6, 3)


def test_conversion_makes_the_incentive_due_once():
    assert internships.check_conversion("active", False, date(2024, 3, 4), date(2024, 6, 4)) == []
    twice = internships.check_conversion("converted", True, date(2024, 3, 4), date(2024, 6, 4))
    assert [f.rule for f in twice] == ["incentive.once-per-internship"]
    assert [f.rule for f in internships.check_conversion("cancelled", False, date(2024, 3, 4), date(2024, 6, 4))] == [
        "internship.cancelled"
    ]
    assert [f.rule for f in internships.check_conversion("active", False, date(2024, 3, 4), date(2024, 3, 1))] == [
        "internship.hire-before-start"
    ]


MONTH = internships.monthly_pay(POLICY)  # 2,390,124


def test_an_early_end_pays_full_months_and_the_last_month_by_its_calendar_days():
    # 1 April start, last day 15 June: April and May in full, 15 of June's 30 days.
    assert internships.pay_until(date(2025, 4, 1), date(2025, 6, 15), MONTH, 3) == 2 * 2_390_124 + 1_195_062
    # 4 March start: internship months run 4 March-3 April (31 days), 4 April-3 May, 4 May-3 June (31 days);
    # last day 20 May is 17 of the third month's 31 days: 2,390,124 x 17 / 31 = 1,310,713.35, rounded down.
    assert internships.pay_until(date(2024, 3, 4), date(2024, 5, 20), MONTH, 3) == 4_780_248 + 1_310_713


def test_an_early_end_on_a_month_boundary_or_the_first_day():
    assert internships.pay_until(date(2024, 3, 4), date(2024, 4, 3), MONTH, 3) == 2_390_124
    assert internships.pay_until(date(2024, 3, 4), date(2024, 3, 4), MONTH, 3) == 77_100  # 1/31, rounded down
    assert internships.pay_until(date(2024, 3, 4), date(2024, 6, 3), MONTH, 3) == internships.total_pay(POLICY)


def test_an_early_end_of_a_part_time_internship_prorates_its_own_monthly_pay():
    assert internships.pay_until(date(2025, 4, 1), date(2025, 4, 10), internships.monthly_pay(POLICY, 20), 3) == (
        1_195_062 * 10 // 30
    )


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)), st.integers(0, 91))
def test_early_end_pay_grows_with_the_days_worked_and_never_passes_the_whole(start, days):
    last = start + timedelta(days=days)
    pay = internships.pay_until(start, last, MONTH, 3)
    assert 0 < pay <= internships.total_pay(POLICY)
    assert pay >= internships.pay_until(start, last - timedelta(days=1), MONTH, 3)


def test_only_an_active_internship_ends_early_and_before_its_planned_end():
    start, planned = date(2024, 3, 4), date(2024, 6, 3)
    assert internships.check_early_end("active", start, planned, date(2024, 5, 20)) == []
    for status in ("converted", "ended_early", "cancelled", "completed"):
        assert [f.rule for f in internships.check_early_end(status, start, planned, date(2024, 5, 20))] == [
            "internship.not-active"
        ]
    assert [f.rule for f in internships.check_early_end("active", start, planned, date(2024, 3, 3))] == [
        "internship.end-before-start"
    ]
    assert [f.rule for f in internships.check_early_end("active", start, planned, planned)] == [
        "internship.end-not-early"
    ]


def test_an_internship_ended_early_is_not_converted():
    failures = internships.check_conversion("ended_early", False, date(2024, 3, 4), date(2024, 6, 4))
    assert [f.rule for f in failures] == ["internship.ended-early"]


def test_weekly_hours_within_full_time():
    assert internships.check_start(40, POLICY) == []
    assert [f.rule for f in internships.check_start(41, POLICY)] == ["internship.weekly-hours"]


# -- indicators ---------------------------------------------------------------
def test_wioa_quarters_after_exit():
    assert quarter_after(date(2024, 2, 15), 2) == (date(2024, 7, 1), date(2024, 9, 30))
    assert quarter_after(date(2024, 11, 30), 4) == (date(2025, 10, 1), date(2025, 12, 31))
    cp = indicators.checkpoints(date(2024, 2, 15))
    assert (cp.at_6m, cp.at_12m, cp.q2_end, cp.q4_end) == (
        date(2024, 8, 15),
        date(2025, 2, 15),
        date(2024, 9, 30),
        date(2025, 3, 31),
    )


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2300, 1, 1)),
    st.integers(0, 1023),
    st.sampled_from(outcomes.CATEGORIES),
    st.one_of(st.none(), st.integers(0, outcomes.MAX_MONTHLY_WAGE)),
)
def test_sort_key_round_trips_category_and_wage(day, seq, category, wage):
    key = indicators.sort_key(day, seq, category, wage)
    assert key < 2**63
    assert indicators.decode_key(key) == (category, wage)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(0, 1023),
    st.integers(0, 1023),
    st.sampled_from(outcomes.CATEGORIES),
    st.sampled_from(outcomes.CATEGORIES),
    st.integers(0, 10**8),
    st.integers(0, 10**8),
)
def test_sort_key_orders_by_date_then_recording(d1, d2, s1, s2, c1, c2, w1, w2):
    k1, k2 = indicators.sort_key(d1, s1, c1, w1), indicators.sort_key(d2, s2, c2, w2)
    if (d1, s1) != (d2, s2):
        assert (k1 < k2) == ((d1, s1) < (d2, s2))


def test_reference_indicators():
    done = date(2024, 1, 31)
    grads = [
        indicators.GraduateFacts(
            done,
            [Outcome("seeking_work", date(2024, 3, 1), 0), Outcome("employed", date(2024, 6, 1), 1, 2_400_000)],
            date(2024, 12, 1),
        ),
        indicators.GraduateFacts(done, [Outcome("further_education", date(2024, 3, 1), 0)], date(2025, 3, 1)),
        indicators.GraduateFacts(done, [Outcome("self_employed", date(2024, 9, 1), 0)]),
        indicators.GraduateFacts(done, [], date(2023, 12, 1)),
        indicators.GraduateFacts(date(2025, 1, 31), [Outcome("employed", date(2025, 2, 3), 0, 3_000_000)]),
    ]
    ind = indicators.compute(grads, date(2025, 3, 31))
    assert ind.completers == 5
    assert (ind.employment_rate.numerator, ind.employment_rate.denominator) == (3, 4)
    # at 6 months (2024-07-31): only the first is employed; the 5th has not reached 6 months
    assert (ind.employment_rate_6m.numerator, ind.employment_rate_6m.denominator) == (1, 3)
    assert (ind.employment_rate_12m.numerator, ind.employment_rate_12m.denominator) == (2, 3)
    assert (ind.median_monthly_wage, ind.wage_count) == (2_700_000, 2)
    # certificates within a year: the 1st (Dec 2024) and the 4th (before completion); the 2nd was too late
    assert (ind.certificate_attainment.numerator, ind.certificate_attainment.denominator) == (2, 5)
    # exit quarter 2024Q1: Q2 after = 2024Q3 (ends 2024-09-30), Q4 after = 2025Q1 (ends 2025-03-31)
    assert (ind.wioa_employment_q2.numerator, ind.wioa_employment_q2.denominator) == (2, 4)
    assert (ind.wioa_employment_q4.numerator, ind.wioa_employment_q4.denominator) == (2, 4)
    assert (ind.wioa_median_earnings_q2, ind.wioa_earnings_count) == (7_200_000, 1)


def test_an_internship_s_term_is_read_off_its_own_planned_dates():
    start = date(2024, 3, 4)
    assert internships.term_months(start, internships.end_date(start, POLICY)) == POLICY.months == 3
    assert internships.term_months(start, date(2024, 5, 3)) == 2  # started when the setting said two months
