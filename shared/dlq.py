"""Reading and replaying a consumer's dead-letter topic (operator commands).

Replay sends each dead letter back, unchanged, to the topic it came from; every
consumer of that topic deduplicates by event id, so only the consumer that failed
does the work again. A replay consumer group remembers how far replay got, so a
message is replayed once even if the command is run again.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from shared.events import dlq_for
from shared.kafka import make_producer


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


def _consumer(bootstrap: str, group_id: str | None) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=group_id, enable_auto_commit=False,
                         auto_offset_reset="earliest", consumer_timeout_ms=2000)


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
    while remaining:
        batch = consumer.poll(timeout_ms=2000)
        if not batch:
            break
        for tp, records in batch.items():
            for r in records:
                if r.offset >= ends[tp]:
                    continue
                headers = {k: v.decode(errors="replace") for k, v in (r.headers or [])}
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


def replay(bootstrap: str, service: str, on_each: Callable[[DeadLetter], None] | None = None) -> int:
    """Send every not-yet-replayed dead letter back to its original topic; returns how many."""
    consumer = _consumer(bootstrap, f"trainingops.{service}.dlq-replay")
    producer = make_producer(bootstrap, f"trainingops-dlq-replay-{service}")
    count = 0
    try:
        for letter, tp in _records(consumer, dlq_for(service), from_committed=True):
            if letter.original_topic:
                producer.send(letter.original_topic, key=letter.key, value=letter.value,
                              headers=[("dlq.replayed-from", dlq_for(service).encode())]).get(timeout=15)
                count += 1
            from kafka.structs import OffsetAndMetadata

            consumer.commit({tp: OffsetAndMetadata(letter.offset + 1, "", -1)})
            if on_each:
                on_each(letter)
    finally:
        producer.close()
        consumer.close()
    return count
