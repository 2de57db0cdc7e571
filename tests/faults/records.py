"""Helpers of the fault tests: a broker of the test's own, raw records of every poison kind, DLQ readers.

Each fault test that stops, restarts or poisons a broker gets one of its own (``own_broker``): a
restart would take the topics of every other module's tests with it, and a fresh consumer group reads
its topics from the beginning, so on the shared broker it would meet other modules' records too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from kafka import KafkaProducer

from shared import events
from shared.events import CloudEvent
from shared.kafka import ensure_topics
from trainingops import dlq
from trainingops.broker import LocalBroker


@pytest.fixture()
def own_broker() -> Iterator[LocalBroker]:
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        yield broker


def restart(broker: LocalBroker, pad: tuple[str, ...] = (events.topic_for("enrollment"),)) -> None:
    """Stop the broker and start it again on the same port; tansu keeps nothing, so the topics are made anew.

    A real broker keeps its logs over a restart; this one starts every partition at offset 0 again, while a
    consumer that stayed up still holds its positions (a few records in) and would silently skip the first
    records sent after the restart. Each partition of the ``pad`` topics therefore gets a few records first
    that every consumer ignores (a declared type no consumer of enrollment's topic handles), so the records a
    test sends after the restart sit where a real broker would have put them: after the old positions."""
    broker.stop()
    broker.start()
    ensure_topics(broker.bootstrap)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap.split(","), acks="all")
    try:
        filler = envelope(events.APPLICATION_DECIDED, {"note": "filler after a broker restart"})
        for topic in pad:
            for partition in sorted(producer.partitions_for(topic)):
                for _ in range(8):
                    producer.send(topic, partition=partition, key=b"filler", value=filler)
        producer.flush(15)
    finally:
        producer.close(timeout=5)


def envelope(event_type: str, data: dict) -> bytes:
    """A CloudEvent as any producer could send it, valid or not against the contract's data models."""
    return CloudEvent(
        id=str(uuid.uuid4()), source="/services/enrollment", type=event_type, time=datetime.now(UTC), data=data
    ).to_bytes()


def poisons() -> dict[str, bytes | None]:
    """One record of each kind a consumer cannot decode or handle, by name."""
    return {
        "tombstone": None,
        "not-json": b"\xff\xfe this is not JSON {",
        "not-a-cloudevent": b'{"hello": "world"}',
        "unknown-type": envelope("trainingops.enrollment.nothing.we.know.v1", {"trainee_id": str(uuid.uuid4())}),
        "invalid-payload": envelope(events.TRAINEE_ENROLLED, {"trainee_id": "not-a-uuid"}),
    }


class Raw:
    """Sends records as they are, value None included (a tombstone)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all")

    def send(self, topic: str, key: str, value: bytes | None) -> None:
        self.producer.send(topic, key=key.encode(), value=value).get(timeout=15)

    def close(self) -> None:
        self.producer.close(timeout=5)


def dead_letters(bootstrap: str, service: str) -> list[dlq.DeadLetter]:
    return dlq.list_dead_letters(bootstrap, service)


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels`` (a TestClient is an httpx.Client)."""
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        m = re.match(rf"^{re.escape(name)}\{{(.*)\}} ([0-9.eE+-]+|NaN)$", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += float(m.group(2))
    return total
