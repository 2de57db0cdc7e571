"""The journeys run against a broker of their own.

The platform's consumers read their topics from the beginning, so on the broker the
other test modules share they would also meet those modules' cohorts and campuses.
Each end-to-end module gets a fresh local broker, unless TRAININGOPS_TEST_KAFKA names
an external one (then that is used as it is).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared.kafka import ensure_topics
from trainingops.broker import LocalBroker


@pytest.fixture(scope="module")
def kafka() -> Iterator[str]:
    if os.environ.get("TRAININGOPS_TEST_KAFKA"):
        yield os.environ["TRAININGOPS_TEST_KAFKA"]
        return
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        yield broker.bootstrap
