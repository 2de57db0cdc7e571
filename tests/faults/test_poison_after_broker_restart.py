"""A broker restart between two poison records: both are dead-lettered and the events behind each are applied.

Before, the consumer kept its idempotent DLQ producer for ever; after the restart the broker no longer knew
its producer id, the second poison could not be dead-lettered and the partition waited for a service restart.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from kafka.partitioner.default import murmur2

from shared.events import topic_for
from tests.faults.records import Raw, dead_letters, metric, own_broker, restart  # noqa: F401
from tests.integration.attendance.helpers import Enrollment, snapshot, today
from tests.support import running_service, token, wait_until

A = "/attendance/v1"


def on_roster(client, snap, staff) -> set[str]:
    r = client.get(f"{A}/cohorts/{snap.cohort_id}/roster", headers=staff)
    return {row["trainee_id"] for row in r.json()} if r.status_code == 200 else set()


def partition_of(key: uuid.UUID, partitions: int = 3) -> int:
    return (murmur2(str(key).encode()) & 0x7FFFFFFF) % partitions


def poison_then_good(kafka: str, snap, trainee: uuid.UUID, poison: bytes | None) -> None:
    sender, raw = Enrollment(kafka), Raw(kafka)
    try:
        sender.publish(snap)
        raw.send(topic_for("enrollment"), str(trainee), poison)
        sender.enroll(snap, trainee)
    finally:
        sender.close()
        raw.close()


def test_dead_letters_and_later_events_survive_a_broker_restart(own_broker, databases):
    kafka = own_broker.bootstrap
    staff = token(["instructor"], ["*"])
    first, second = (snapshot("jungbu", today() + timedelta(days=7), today() + timedelta(days=30)) for _ in "12")
    # both keys on one partition: the second dead letter follows the first on the DLQ's partition too, where the
    # old producer's next sequence number is one the restarted broker has never seen for its producer id
    t1 = uuid.uuid4()
    t2 = next(t for t in iter(uuid.uuid4, None) if partition_of(t) == partition_of(t1))
    with running_service(
        "attendance", database_url=databases.new("fault_restart"), kafka_bootstrap_servers=kafka, consumer_retries=1
    ) as client:
        poison_then_good(kafka, first, t1, b"not json before the restart")
        wait_until(lambda: str(t1) in on_roster(client, first, staff), timeout=30)
        before = wait_until(lambda: dead_letters(kafka, "attendance"), timeout=30)
        assert [d.headers["dlq.error.type"] for d in before] == ["ValueError"]

        restart(own_broker)  # everything the broker held is gone, the producer ids it knew too

        poison_then_good(kafka, second, t2, b'{"not": "a CloudEvent, after the restart"}')
        wait_until(lambda: str(t2) in on_roster(client, second, staff), timeout=60)
        after = wait_until(lambda: dead_letters(kafka, "attendance"), timeout=30)
        assert [(d.value, d.headers["dlq.error.type"]) for d in after] == [
            (b'{"not": "a CloudEvent, after the restart"}', "ValidationError")
        ]
        assert metric(client, "trainingops_dlq_messages_total", service="attendance") == 2
