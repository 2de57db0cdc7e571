"""Kafka clients made the same way everywhere (kafka-python; broker-agnostic)."""
from __future__ import annotations

import logging
import time

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
            admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="trainingops-admin",
                                     request_timeout_ms=5000)
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
