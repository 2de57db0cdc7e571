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
