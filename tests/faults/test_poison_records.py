"""A record attendance cannot decode or handle goes to its DLQ with the error, and the partition moves on.

Each poison record is followed, on the same key (so the same partition), by a good trainee.enrolled:
that trainee reaches the roster only if the consumer got past the poison.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared import events
from shared.events import dlq_for, topic_for
from tests.faults.records import Raw, dead_letters, envelope, metric, own_broker, poisons  # noqa: F401
from tests.integration.attendance.helpers import Enrollment, snapshot, today
from tests.support import running_service, token, wait_until

A = "/attendance/v1"
TOPIC = topic_for("enrollment")


def on_roster(client, snap, staff) -> set[str]:
    r = client.get(f"{A}/cohorts/{snap.cohort_id}/roster", headers=staff)
    return {row["trainee_id"] for row in r.json()} if r.status_code == 200 else set()


def test_every_kind_of_poison_is_dead_lettered_and_the_events_behind_it_are_applied(own_broker, databases):
    kafka = own_broker.bootstrap
    staff = token(["instructor"], ["*"])
    snap = snapshot("jungbu", today() + timedelta(days=7), today() + timedelta(days=30))
    kinds = dict(poisons())
    # a record the handler refuses though its payload is valid: the database refuses a 300-character name
    too_long = uuid.uuid4()
    kinds["handler-raises"] = envelope(
        events.TRAINEE_ENROLLED,
        events.TraineeEnrolled(
            trainee_id=too_long,
            enrollment_id=uuid.uuid4(),
            name="N" * 300,
            birth_date="1990-01-01",
            enrolled_on=snap.start_date,
            cohort=snap,
        ).model_dump(mode="json"),
    )
    with running_service(
        "attendance", database_url=databases.new("fault_poison"), kafka_bootstrap_servers=kafka, consumer_retries=1
    ) as client:
        sender, raw = Enrollment(kafka), Raw(kafka)
        try:
            sender.publish(snap)
            behind: dict[str, str] = {}
            for kind, value in kinds.items():
                trainee = str(too_long) if kind == "handler-raises" else str(uuid.uuid4())
                raw.send(TOPIC, trainee, value)  # the poison, then a good event on the same key and partition
                behind[kind] = str(sender.enroll(snap, uuid.UUID(trainee) if kind != "handler-raises" else None))
            wait_until(lambda: set(behind.values()) <= on_roster(client, snap, staff), timeout=30)
            # the service counts what it dead-lettered; the DLQ is then read to its end once
            wait_until(
                lambda: metric(client, "trainingops_dlq_messages_total", service="attendance") >= len(kinds), timeout=60
            )
            letters = dead_letters(kafka, "attendance")
        finally:
            sender.close()
            raw.close()
        assert len(letters) == len(kinds), [d.headers.get("dlq.error.type") for d in letters]
        by_value = {d.value: d for d in letters}
        for kind, value in kinds.items():
            letter = by_value[value]
            h = letter.headers
            assert h["dlq.original.topic"] == TOPIC and h["dlq.consumer"] == "attendance", kind
            assert int(h["dlq.original.offset"]) >= 0 and h["dlq.original.partition"].isdigit(), kind
            assert h["dlq.attempts"] == "1", kind
            assert h["dlq.error.type"] and h["dlq.error.message"], kind
        assert by_value[None].headers["dlq.error.type"] == "TombstoneRecord"
        assert by_value[kinds["invalid-payload"]].headers["dlq.error.type"] == "ValidationError"
        assert by_value[kinds["unknown-type"]].headers["dlq.error.type"] == "UnknownEventType"
        assert "N" * 50 not in by_value[kinds["handler-raises"]].headers["dlq.error.message"]  # no values in errors
        assert metric(client, "trainingops_dlq_messages_total", service="attendance") == len(kinds)
        assert metric(client, "trainingops_consumer_loop_failures_total") == 0  # no poison made the loop fail
        assert dlq_for("attendance") == "trainingops.attendance.dlq"
