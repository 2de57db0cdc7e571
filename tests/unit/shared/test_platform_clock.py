"""The input types' "not in the future" bound reads the platform clock the service sets, not the OS zone."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.clock import platform_clock, use_platform_clock
from shared.inputs import PastDay, PastMoment
from tests.fakes import FixedClock


@pytest.fixture()
def clock():
    before = platform_clock()
    fixed = FixedClock(date(2026, 3, 2), time(0, 30))  # 00:30 in Seoul is still 1 March in UTC
    use_platform_clock(fixed)
    yield fixed
    use_platform_clock(before)


def test_past_day_follows_the_platform_clock(clock):
    days = TypeAdapter(PastDay)
    assert days.validate_python("2026-03-02") == date(2026, 3, 2)  # the centre's today, though UTC says 1 March
    with pytest.raises(ValidationError) as refused:
        days.validate_python("2026-03-03")
    assert refused.value.errors()[0]["type"] == "date.future"
    assert "2026-03-02" in refused.value.errors()[0]["msg"]


def test_past_moment_is_read_in_the_clock_zone(clock):
    moments = TypeAdapter(PastMoment)
    # 15:10 UTC on 2 March is 00:10 on 3 March in Seoul: after the centre's today
    with pytest.raises(ValidationError):
        moments.validate_python("2026-03-02T15:10:00+00:00")
    assert moments.validate_python("2026-03-01T23:00:00+00:00") == datetime(2026, 3, 1, 23, tzinfo=UTC)


def test_a_service_app_sets_the_platform_clock_and_leaves_the_process_zone_alone(monkeypatch, tmp_path):
    from services.certification.main import create_app
    from services.certification.settings import Settings

    monkeypatch.setenv("TZ", "UTC")
    before = platform_clock()
    try:
        app = create_app(
            Settings(
                database_url=f"sqlite:///{tmp_path}/c.db",
                timezone="Europe/Paris",
                kafka_bootstrap_servers="",
                relay_enabled=False,
                consumer_enabled=False,
            )
        )
        assert platform_clock() is app.state.clock and str(app.state.clock.zone) == "Europe/Paris"
        assert os.environ["TZ"] == "UTC"
    finally:
        use_platform_clock(before)
