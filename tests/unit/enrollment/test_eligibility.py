from datetime import date

from services.enrollment.domain.eligibility import (
    ApplicantFacts,
    EligibilityPolicy,
    admitted_above_capacity,
    age_on,
    check_eligibility,
    is_priority,
)

START = date(2027, 3, 2)


def facts(birth: date, residency: str = "city_resident", **kw) -> ApplicantFacts:
    return ApplicantFacts(birth_date=birth, residency_status=residency, **kw)


def rules(failures) -> list[str]:
    return [f.rule for f in failures]


def test_age_is_counted_in_full_years_on_the_start_date():
    assert age_on(date(2012, 3, 2), START) == 15
    assert age_on(date(2012, 3, 3), START) == 14
    assert age_on(date(2008, 2, 29), date(2027, 2, 28)) == 18
    assert age_on(date(2008, 2, 29), date(2027, 3, 1)) == 19


def test_fifteen_on_the_start_date_is_old_enough_fourteen_is_not():
    policy = EligibilityPolicy()
    assert check_eligibility(policy, facts(date(2012, 3, 2)), START) == []
    assert rules(check_eligibility(policy, facts(date(2012, 3, 3)), START)) == ["eligibility.min-age"]


def test_default_residency_admits_residents_permanent_residents_and_marriage_immigrants_and_children():
    policy = EligibilityPolicy()
    for status in ("city_resident", "foreign_permanent_resident", "marriage_immigrant", "marriage_immigrant_child"):
        assert check_eligibility(policy, facts(date(1990, 1, 1), status), START) == []
    assert rules(check_eligibility(policy, facts(date(1990, 1, 1), "non_resident"), START)) == ["eligibility.residency"]


def test_gwangju_age_band_18_to_39():
    policy = EligibilityPolicy(min_age=18, max_age=39)
    assert check_eligibility(policy, facts(date(1988, 3, 2)), START) == []  # 39
    assert rules(check_eligibility(policy, facts(date(1987, 3, 1)), START)) == ["eligibility.max-age"]  # 40
    assert rules(check_eligibility(policy, facts(date(2009, 3, 3)), START)) == ["eligibility.min-age"]  # 17


def test_woman_up_admits_only_women_with_a_career_break():
    policy = EligibilityPolicy(career_break_women_only=True)
    assert check_eligibility(policy, facts(date(1985, 1, 1), gender="female", career_break=True), START) == []
    assert rules(check_eligibility(policy, facts(date(1985, 1, 1), gender="female"), START)) == [
        "eligibility.career-break-women"
    ]
    assert rules(check_eligibility(policy, facts(date(1985, 1, 1), gender="male", career_break=True), START)) == [
        "eligibility.career-break-women"
    ]


def test_every_failed_rule_is_named_not_just_the_first():
    policy = EligibilityPolicy(max_age=39, career_break_women_only=True)
    failures = check_eligibility(policy, facts(date(1950, 1, 1), "non_resident", gender="male"), START)
    assert rules(failures) == ["eligibility.max-age", "eligibility.residency", "eligibility.career-break-women"]
    assert all(f.message for f in failures)


def test_priority_groups():
    assert is_priority(facts(date(1990, 1, 1), priority_categories=frozenset({"disabled"})))
    assert is_priority(facts(date(1990, 1, 1), priority_categories=frozenset({"basic_livelihood"})))
    assert not is_priority(facts(date(1990, 1, 1)))


def test_leaving_care_is_above_capacity_only_between_15_and_34():
    assert admitted_above_capacity(facts(date(1992, 3, 3), leaving_care=True), START)  # 34
    assert not admitted_above_capacity(facts(date(1992, 3, 2), leaving_care=True), START)  # 35
    assert admitted_above_capacity(facts(date(2012, 3, 2), leaving_care=True), START)  # 15
    assert not admitted_above_capacity(facts(date(2000, 1, 1), leaving_care=False), START)
