"""Placement runs once per test module; outside systems' events are produced with a plain Kafka producer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaProducer

from shared.events import CONTENT_TYPE, EVENTS, CloudEvent, build_event


class Outside:
    """Attendance, enrollment and certification as seen from placement: events on their topics."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = KafkaProducer(bootstrap_servers=bootstrap.split(","))

    def send(self, event_type: str, data: dict, event: CloudEvent | None = None) -> CloudEvent:
        if event is None:
            event, key = build_event(event_type, data)
        else:
            key = str(event.data[EVENTS[event.type].key])
        self.producer.send(
            EVENTS[event_type].topic,
            key=key.encode(),
            value=event.to_bytes(),
            headers=[("content-type", CONTENT_TYPE.encode())],
        ).get(timeout=15)
        return event

    def close(self) -> None:
        self.producer.close(timeout=5)


@pytest.fixture(scope="module")
def outside(kafka: str) -> Iterator[Outside]:
    o = Outside(kafka)
    yield o
    o.close()
