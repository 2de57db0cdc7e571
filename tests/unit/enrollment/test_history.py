import uuid
from datetime import date

from services.enrollment.domain.history import CohortTerms, Participation, ReadmissionPolicy, check_history

NEW = CohortTerms(uuid.uuid4(), date(2027, 3, 2), date(2027, 5, 28), 300)


def past(start: date, hours: int = 300, status: str = "completed", before_start: bool = False) -> Participation:
    return Participation(uuid.uuid4(), start, date(start.year, start.month, 28), hours, status, before_start)


def rules(failures) -> list[str]:
    return [f.rule for f in failures]


def test_first_and_two_readmissions_within_three_years_are_allowed():
    assert check_history([], NEW) == []
    assert check_history([past(date(2025, 1, 6))], NEW) == []
    assert check_history([past(date(2025, 1, 6)), past(date(2026, 1, 5))], NEW) == []


def test_a_third_readmission_within_three_years_is_refused():
    history = [past(date(2024, 4, 1)), past(date(2025, 1, 6)), past(date(2026, 1, 5), status="not_completed")]
    failures = check_history(history, NEW)
    assert rules(failures) == ["readmission.limit"]
    assert "3 short-course participations" in failures[0].message


def test_participations_older_than_three_years_do_not_count():
    history = [past(date(2024, 3, 1)), past(date(2025, 1, 6)), past(date(2026, 1, 5))]  # 2024-03-01 < 2024-03-02
    assert check_history(history, NEW) == []


def test_long_courses_are_not_limited_and_do_not_count():
    long_new = CohortTerms(uuid.uuid4(), date(2027, 3, 2), date(2027, 12, 20), 960)
    short = [past(date(2024, 4, 1)), past(date(2025, 1, 6)), past(date(2026, 1, 5))]
    assert check_history(short, long_new) == []
    long_history = [past(date(2024, 4, 1), 351), past(date(2025, 1, 6), 960), past(date(2026, 1, 5), 500)]
    assert check_history(long_history, NEW) == []


def test_exactly_350_hours_is_a_short_course():
    history = [past(date(2024, 4, 1), 350), past(date(2025, 1, 6), 350), past(date(2026, 1, 5), 350)]
    assert rules(check_history(history, CohortTerms(uuid.uuid4(), date(2027, 3, 2), date(2027, 5, 1), 350))) == [
        "readmission.limit"
    ]


def test_withdrawals_before_the_start_do_not_count():
    history = [
        past(date(2024, 4, 1)),
        past(date(2025, 1, 6)),
        past(date(2026, 1, 5), status="withdrawn", before_start=True),
    ]
    assert check_history(history, NEW) == []


def test_the_limit_is_a_setting():
    history = [past(date(2025, 1, 6)), past(date(2026, 1, 5))]
    assert rules(check_history(history, NEW, ReadmissionPolicy(max_readmissions=1))) == ["readmission.limit"]


def test_overlapping_active_enrollment_is_refused():
    running = Participation(uuid.uuid4(), date(2027, 1, 4), date(2027, 3, 31), 960, "enrolled")
    assert rules(check_history([running], NEW)) == ["enrollment.overlap"]
    ended = Participation(uuid.uuid4(), date(2027, 1, 4), date(2027, 3, 1), 960, "enrolled")
    assert check_history([ended], NEW) == []
    completed = Participation(uuid.uuid4(), date(2027, 1, 4), date(2027, 3, 31), 960, "completed")
    assert check_history([completed], NEW) == []
