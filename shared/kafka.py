"""Kafka clients made the same way everywhere (kafka-python; broker-agnostic)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared.events import ALL_TOPICS

log = logging.getLogger(__name__)


def make_producer(bootstrap: str, client_id: str, **overrides: object) -> KafkaProducer:
    config: dict[str, object] = dict(
        bootstrap_servers=bootstrap.split(","),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        retries=5,
        request_timeout_ms=10_000,
        max_block_ms=5_000,
    )
    config.update(overrides)
    return KafkaProducer(**config)


Message = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]  # topic, key, value, headers


class ResilientProducer:
    """One producer, made on first use and made anew after it failed: every producer of the platform.

    An idempotent producer retries what can be retried by itself (``retries``); an error that still
    reaches us is fatal for that instance: the broker no longer knows its producer id
    (``UnknownProducerIdError`` after a broker restart), its sequence numbers broke
    (``OutOfOrderSequenceNumberError``), it timed out while the broker was away (``KafkaTimeoutError``),
    or it was closed or broke. Any error from a send, a flush or a delivery therefore closes this instance
    and the next call builds a fresh one (a new producer id), so nothing stays stuck on a dead producer
    after a broker restart. Redelivery is safe: a message sent twice is dropped by its consumer by event id.
    """

    def __init__(self, factory: Callable[[], KafkaProducer], name: str = "producer") -> None:
        self.factory = factory
        self.name = name
        self.rebuilds = 0  # producers discarded after an error
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _get(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = self.factory()
            return self._producer

    def discard(self, exc: BaseException | None = None) -> None:
        """Close the current producer (it failed); the next send builds another."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is None:
            return
        self.rebuilds += 1
        log.warning(
            "producer discarded after an error; the next send builds a new one",
            extra={"producer": self.name, "error": type(exc).__name__ if exc else ""},
        )
        try:
            producer.close(timeout=0)
        except Exception:  # a broken producer may fail to close too
            pass

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=timeout)
            except Exception:
                pass

    def send_many(self, messages: Sequence[Message], timeout: float = 15.0) -> None:
        """Send ``messages`` in order and wait until the broker has every one; raises if any failed."""
        producer = self._get()
        try:
            futures = [
                producer.send(topic, key=key, value=value, headers=headers) for topic, key, value, headers in messages
            ]
            producer.flush(timeout=timeout)
            for future in futures:
                future.get(timeout=0)
        except Exception as exc:
            self.discard(exc)
            raise

    def send(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
        timeout: float = 15.0,
        attempts: int = 2,
    ) -> Any:
        """Send one message and wait for the broker's acknowledgement; on failure, try again on a fresh
        producer (``attempts`` in all), then raise."""
        for attempt in range(1, attempts + 1):
            producer = self._get()
            try:
                return producer.send(topic, key=key, value=value, headers=headers or []).get(timeout=timeout)
            except Exception as exc:
                self.discard(exc)
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")


def make_consumer(bootstrap: str, group_id: str, client_id: str, **overrides: object) -> KafkaConsumer:
    config: dict[str, object] = dict(
        bootstrap_servers=bootstrap.split(","),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    config.update(overrides)
    return KafkaConsumer(**config)


def ensure_topics(
    bootstrap: str,
    topics: tuple[str, ...] | list[str] = ALL_TOPICS,
    *,
    partitions: int = 3,
    replication: int = 1,
    timeout_s: float = 30.0,
) -> None:
    """Create any of ``topics`` that do not exist yet; waits for the broker up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap.split(","), client_id="trainingops-admin", request_timeout_ms=5000
            )
            break
        except Exception:  # broker not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(t, partitions, replication) for t in missing])
            except TopicAlreadyExistsError:
                pass
            log.info("topics created", extra={"topics": ",".join(missing)})
    finally:
        admin.close()
