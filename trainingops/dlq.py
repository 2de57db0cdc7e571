"""Reading and replaying a consumer's dead-letter topic (operator commands).

Replay sends each dead letter, unchanged, to the consumer's own retry topic
``trainingops.<consumer>.retry``, which that consumer alone subscribes to (as Spring
Kafka's retry topics do): no other consumer of the original topic sees it again. The
consumer deduplicates by event id, so a letter whose event had been applied has no
second effect. A letter that fails again goes back to the DLQ with ``dlq.attempts``
one higher; a replay leaves alone letters that reached ``max_attempts``. A replay
consumer group remembers how far replay got, so a letter is replayed once even if the
command is run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from shared.events import dlq_for, retry_for
from shared.kafka import ResilientProducer, make_producer

READ_TIMEOUT_S = 60.0  # how long a listing or replay may take to read the DLQ to its end
MAX_ATTEMPTS = 3  # a letter dead-lettered this many times is not replayed unless the operator asks for more


@dataclass
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def original_topic(self) -> str:
        return self.headers.get("dlq.original.topic", "")

    @property
    def attempts(self) -> int:
        """How many times the consumer failed on this message (1 unless it was replayed and failed again)."""
        try:
            return int(self.headers.get("dlq.attempts", "1"))
        except ValueError:
            return 1


def _consumer(bootstrap: str, group_id: str | None) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
    )


def _records(consumer: KafkaConsumer, topic: str, *, from_committed: bool) -> Iterator[tuple[DeadLetter, object]]:
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not partitions:
        return
    consumer.assign(partitions)
    ends = consumer.end_offsets(partitions)
    if not from_committed:
        consumer.seek_to_beginning(*partitions)
    for tp in partitions:
        if from_committed and consumer.committed(tp) is None:
            consumer.seek_to_beginning(tp)
    remaining = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
    # An empty poll is no proof that the topic was read to its end (a slow broker or a busy machine
    # answers late): read on until every partition reached the end offset taken at the start, and say
    # so when that does not happen in time rather than return part of the letters as if they were all.
    deadline = time.monotonic() + READ_TIMEOUT_S
    while remaining:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{topic}: partitions {sorted(tp.partition for tp in remaining)} not read to "
                f"their end within {READ_TIMEOUT_S:.0f} s"
            )
        batch = consumer.poll(timeout_ms=1000)
        for tp, records in batch.items():
            for r in records:
                if r.offset >= ends[tp]:
                    continue
                headers = {k: v.decode(errors="replace") for k, v in (r.headers or []) if v is not None}
                yield DeadLetter(r.partition, r.offset, r.key, r.value, headers), tp
            if consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)


def pending(bootstrap: str, service: str) -> int:
    """Dead letters not yet replayed."""
    consumer = _consumer(bootstrap, f"trainingops.{service}.dlq-replay")
    try:
        topic = dlq_for(service)
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            return 0
        ends = consumer.end_offsets(partitions)
        begins = consumer.beginning_offsets(partitions)
        return sum(ends[tp] - max(consumer.committed(tp) or 0, begins[tp]) for tp in partitions)
    finally:
        consumer.close()


def list_dead_letters(bootstrap: str, service: str) -> list[DeadLetter]:
    consumer = _consumer(bootstrap, None)
    try:
        return [d for d, _tp in _records(consumer, dlq_for(service), from_committed=False)]
    finally:
        consumer.close()


def replay(
    bootstrap: str,
    service: str,
    on_each: Callable[[DeadLetter], None] | None = None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> int:
    """Send every not-yet-replayed dead letter to the consumer's retry topic; returns how many were sent.

    A letter that already failed ``max_attempts`` times is skipped; its offset is committed like the
    others', so it is not offered again (raise ``max_attempts`` and reset the replay group to retry it)."""
    from kafka.structs import OffsetAndMetadata

    consumer = _consumer(bootstrap, f"trainingops.{service}.dlq-replay")
    producer = ResilientProducer(
        lambda: make_producer(bootstrap, f"trainingops-dlq-replay-{service}"), f"dlq-replay-{service}"
    )
    count = 0
    keep = (
        "dlq.original.topic",
        "dlq.original.partition",
        "dlq.original.offset",
        "dlq.attempts",
        "dlq.error.type",
        "dlq.event.id",
        "dlq.event.type",
    )
    try:
        for letter, tp in _records(consumer, dlq_for(service), from_committed=True):
            if letter.attempts < max_attempts:
                headers = [(k, letter.headers[k].encode()) for k in keep if k in letter.headers]
                if "dlq.attempts" not in letter.headers:  # dead-lettered before attempts were counted
                    headers.append(("dlq.attempts", b"1"))
                headers.append(("dlq.replayed-from", dlq_for(service).encode()))
                producer.send(retry_for(service), key=letter.key, value=letter.value, headers=headers, timeout=15)
                count += 1
            consumer.commit({tp: OffsetAndMetadata(letter.offset + 1, "", -1)})
            if on_each:
                on_each(letter)
    finally:
        producer.close()
        consumer.close()
    return count
