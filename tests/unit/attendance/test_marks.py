"""Marks from check-in/out times, with DOMAIN.md's figures: 10-minute grace, early leave, out, half-session."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.attendance.domain.marks import (
    ABSENT,
    EARLY_LEAVE,
    EXCUSED,
    IN,
    LATE,
    OUT,
    OUT_PUNCH,
    PRESENT,
    MarkPolicy,
    Punch,
    decide,
    normalise,
    not_started_failure,
    presence,
)

START = datetime(2027, 3, 2, 9, 0)
END = datetime(2027, 3, 2, 18, 0)
HOURS = 8.0  # 09:00-18:00 with a one-hour break


def at(h: int, m: int = 0) -> datetime:
    return START.replace(hour=h, minute=m)


def mark(*punches: tuple[str, datetime]) -> str:
    return decide([Punch(k, t) for k, t in punches], START, END, HOURS)


@pytest.mark.parametrize(
    "arrive, expected",
    [
        (at(8, 50), PRESENT),
        (at(9, 0), PRESENT),
        (at(9, 10), PRESENT),  # up to 10 minutes late is on time
        (at(9, 11), LATE),
        (at(9, 10) + timedelta(seconds=1), LATE),
        (at(12, 59), LATE),
    ],
)
def test_grace_of_ten_minutes(arrive, expected):
    assert mark((IN, arrive), (OUT_PUNCH, at(18))) == expected


@pytest.mark.parametrize(
    "leave, expected",
    [
        (at(18), PRESENT),
        (at(17, 50), PRESENT),  # leaving 10 minutes early is still fine
        (at(17, 49), EARLY_LEAVE),
        (at(14, 30), EARLY_LEAVE),
    ],
)
def test_leaving_more_than_ten_minutes_early(leave, expected):
    assert mark((IN, at(9)), (OUT_PUNCH, leave)) == expected


def test_out_and_return_is_out():
    assert mark((IN, at(9)), (OUT_PUNCH, at(11)), (IN, at(12)), (OUT_PUNCH, at(18))) == OUT


def test_missing_half_the_hours_is_absent():
    # 8-hour session: 4 hours missed (half) is an absence; 3h59 missed is not.
    assert mark((IN, at(13)), (OUT_PUNCH, at(18))) == ABSENT
    assert mark((IN, at(12, 59)), (OUT_PUNCH, at(18))) == LATE
    assert mark((IN, at(9)), (OUT_PUNCH, at(14))) == ABSENT
    assert mark((IN, at(9)), (OUT_PUNCH, at(10)), (IN, at(12)), (OUT_PUNCH, at(16))) == ABSENT  # 2h out + 2h early


def test_nothing_recorded_is_absent():
    assert mark() == ABSENT
    assert mark((IN, at(18, 5))) == ABSENT  # arrived after the end


def test_no_check_out_means_stayed_to_the_end():
    assert mark((IN, at(9, 5))) == PRESENT


def test_duplicate_punches_are_harmless():
    once = mark((IN, at(9, 5)), (OUT_PUNCH, at(18)))
    assert mark((IN, at(9, 5)), (IN, at(9, 6)), (IN, at(9, 5)), (OUT_PUNCH, at(18)), (OUT_PUNCH, at(18))) == once
    assert normalise([Punch(OUT_PUNCH, at(8)), Punch(IN, at(9))]) == [Punch(IN, at(9))]


def test_grace_is_a_policy():
    strict = MarkPolicy(grace_minutes=0)
    assert decide([Punch(IN, at(9, 1))], START, END, HOURS, strict) == LATE


def test_presence_reads_first_in_last_out_and_outs():
    p = presence([Punch(IN, at(9)), Punch(OUT_PUNCH, at(11)), Punch(IN, at(12)), Punch(OUT_PUNCH, at(17))])
    assert p.check_in == at(9) and p.check_out == at(17) and p.outs == ((at(11), at(12)),)


minutes = st.integers(min_value=-60, max_value=10 * 60)


@given(st.lists(st.tuples(st.sampled_from([IN, OUT_PUNCH]), minutes), max_size=8))
def test_mark_is_one_of_the_marks_and_order_free(raw):
    punches = [Punch(k, START + timedelta(minutes=m)) for k, m in raw]
    result = decide(punches, START, END, HOURS)
    assert result in (PRESENT, LATE, EARLY_LEAVE, OUT, ABSENT)
    assert decide(list(reversed(punches)), START, END, HOURS) == result
    assert decide(punches + punches[:1], START, END, HOURS) == result  # a repeated reading changes nothing


@pytest.mark.parametrize("mark", [PRESENT, LATE, EARLY_LEAVE, OUT, ABSENT])
def test_a_mark_waits_for_the_session_to_start(mark):
    weeks_ahead = START - timedelta(days=21)
    failure = not_started_failure(mark, START, weeks_ahead)
    assert failure is not None and (failure.rule, failure.field) == ("mark.session-not-started", "mark")
    assert not_started_failure(mark, START, START - timedelta(minutes=1)) is not None
    assert not_started_failure(mark, START, START) is None  # from the start on
    assert not_started_failure(mark, START, END + timedelta(days=3)) is None  # a correction afterwards


def test_an_excuse_may_be_entered_ahead():
    assert not_started_failure(EXCUSED, START, START - timedelta(days=21)) is None
