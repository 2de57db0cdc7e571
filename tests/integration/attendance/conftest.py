"""What attendance's integration tests share: enrollment's events sent to the broker, and attendance's read back."""

from __future__ import annotations

import pytest

from shared.events import topic_for
from tests.integration.attendance.helpers import Enrollment
from tests.support import EventReader


@pytest.fixture
def enrollment(kafka):  # type: ignore[no-untyped-def]
    producer = Enrollment(kafka)
    yield producer
    producer.close()


@pytest.fixture
def out(kafka):  # type: ignore[no-untyped-def]
    reader = EventReader(kafka, topic_for("attendance"))
    yield reader
    reader.close()
