"""Fixtures shared by every test: the real broker and the real PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.support import (
    IN_CI,
    Databases,
    LocalBroker,
    broker_endpoint,
    postgres_reachable,
    postgres_server,
    prepare_topics,
)

# The tests speak in the centre's dates (``date.today()`` in a test means the campus's today, as the
# services' clock does). The services themselves never read the process's zone: they are given a Clock.
os.environ["TZ"] = "Asia/Seoul"
time.tzset()


def _unavailable(what: str) -> None:
    message = f"{what} is not available"
    if IN_CI:
        pytest.fail(message + " (CI runs every integration test; none may be skipped)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def broker_info() -> Iterator[tuple[str, LocalBroker | None]]:
    try:
        cm = broker_endpoint()
        endpoint = cm.__enter__()
    except Exception as exc:  # noqa: BLE001
        _unavailable(f"the Kafka-protocol broker ({exc})")
        return
    try:
        prepare_topics(endpoint[0])
        yield endpoint
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def kafka(broker_info: tuple[str, LocalBroker | None]) -> str:
    return broker_info[0]


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    with postgres_server() as server:
        if not postgres_reachable(server):
            _unavailable(f"PostgreSQL at {server.split('@')[-1]}")
        dbs = Databases(server)
        try:
            yield dbs
        finally:
            dbs.drop_all()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in str(item.fspath) for part in ("/integration/", "/e2e/", "/faults/")):
            item.add_marker(pytest.mark.integration)
