import uuid
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.enrollment.domain.selection import Candidate, competition_ratio, priority_quota, select

T0 = datetime(2026, 12, 1, 9, 0)


def cand(score: float, minute: int = 0, priority: bool = False, above: bool = False) -> Candidate:
    return Candidate(uuid.uuid4(), score, T0 + timedelta(minutes=minute), priority, above)


def test_quota_is_thirty_percent_rounded_up():
    assert priority_quota(10) == 3
    assert priority_quota(15) == 5  # 4.5 -> 5
    assert priority_quota(20) == 6
    assert priority_quota(40) == 12
    assert priority_quota(7) == 3  # 2.1 -> 3
    assert priority_quota(1) == 1
    assert priority_quota(2004) == 602  # 601.2 -> 602


def test_priority_applicants_take_the_quota_before_higher_scores():
    general = [cand(90 + i, i) for i in range(10)]
    prio = [cand(50 + i, 20 + i, priority=True) for i in range(5)]
    result = select(general + prio, capacity=10)
    assert result.quota == 3
    chosen = set(result.selected)
    # the three best priority applicants are in, although every general applicant outscores them
    best_prio = sorted(prio, key=lambda c: -c.score)[:3]
    assert {c.application_id for c in best_prio} <= chosen
    # the remaining seven seats go by score
    assert {c.application_id for c in sorted(general, key=lambda c: -c.score)[:7]} <= chosen
    assert len(result.selected) == 10
    assert len(result.priority_selected) == 3


def test_when_too_few_priority_applicants_apply_the_rest_go_by_score():
    general = [cand(80 + i, i) for i in range(12)]
    prio = [cand(10, 30, priority=True)]
    result = select(general + prio, capacity=10)
    assert prio[0].application_id in result.selected
    assert len(result.selected) == 10
    assert result.priority_selected == [prio[0].application_id]


def test_priority_applicants_may_win_more_than_the_quota_on_score():
    prio = [cand(99 - i, i, priority=True) for i in range(6)]
    general = [cand(50, 10 + i) for i in range(6)]
    result = select(prio + general, capacity=10)
    assert len(result.priority_selected) == 6
    # only the quota's three (the best) took quota seats; the other three won theirs on score
    assert result.under_quota == [c.application_id for c in prio[:3]]


def test_ties_are_broken_by_application_time():
    early, late = cand(70, minute=1), cand(70, minute=2)
    result = select([late, early], capacity=1, quota_percent=0)
    assert result.selected == [early.application_id]
    assert result.waitlist == [late.application_id]


def test_leaving_care_applicants_are_admitted_on_top_of_capacity():
    regular = [cand(60 + i, i) for i in range(5)]
    care = [cand(1, 50, above=True), cand(2, 51, above=True)]
    result = select(regular + care, capacity=3)
    assert len(result.selected) == 3
    assert set(result.above_capacity) == {c.application_id for c in care}
    assert not set(result.above_capacity) & set(result.selected)


def test_the_rest_form_an_ordered_waitlist():
    cs = [cand(s, i) for i, s in enumerate([50, 90, 70, 60, 80])]
    result = select(cs, capacity=2, quota_percent=0)
    scores = {c.application_id: c.score for c in cs}
    assert [scores[a] for a in result.selected] == [90, 80]
    assert [scores[a] for a in result.waitlist] == [70, 60, 50]


def test_competition_ratio_as_seoul_reported_it():
    assert competition_ratio(3728, 2004) == 1.86
    assert competition_ratio(0, 20) == 0.0
    assert competition_ratio(45, 30) == 1.5


candidates = st.lists(
    st.builds(
        lambda s, m, p, a: cand(s, m, p, a),
        st.integers(0, 100),
        st.integers(0, 10_000),
        st.booleans(),
        st.booleans().map(lambda b: b and False) | st.booleans(),
    ),
    max_size=80,
)


@given(candidates, st.integers(1, 50), st.integers(0, 100))
def test_selection_invariants(cs, capacity, percent):
    result = select(cs, capacity, percent)
    regular = [c for c in cs if not c.above_capacity]
    prio = [c for c in regular if c.priority]
    assert len(result.selected) == min(capacity, len(regular))
    assert len(result.priority_selected) >= min(result.quota, len(prio), capacity)
    assert sorted(map(str, result.selected + result.waitlist)) == sorted(str(c.application_id) for c in regular)
    assert len(result.above_capacity) == len(cs) - len(regular)
    ranks = {c.application_id: (-c.score, c.applied_at) for c in regular}
    waitlist_ranks = [ranks[a] for a in result.waitlist]
    assert waitlist_ranks == sorted(waitlist_ranks)
