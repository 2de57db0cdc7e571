"""Attendance's completion events become admission history: the re-admission rule, redelivery, dead letters."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from kafka import KafkaProducer

from shared import events
from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import running_service, token, wait_until


@pytest.fixture(scope="module")
def client(kafka, databases):
    with running_service("enrollment", database_url=databases.new("enrhist"), kafka_bootstrap_servers=kafka) as c:
        yield c


@pytest.fixture(scope="module")
def producer(kafka):
    p = KafkaProducer(bootstrap_servers=kafka)
    yield p
    p.close()


def send(producer: KafkaProducer, event: events.CloudEvent, key: str) -> None:
    producer.send("trainingops.attendance.events", key=key.encode(), value=event.to_bytes()).get(timeout=10)


def enrol(client, staff, campus: str, person: str, start_in_days: int) -> tuple[str, str]:
    cohort = new_cohort(
        client, staff, new_programme(client, staff, campus, hours=300), capacity=1, start_in_days=start_in_days, weeks=1
    )
    app = apply(client, staff, person, cohort)
    client.post(f"{E}/cohorts/{cohort}/selection", headers=staff)
    r = client.post(f"{E}/applications/{app['id']}/accept", headers=staff)
    assert r.status_code == 200, r.text
    return cohort, r.json()["enrollment_id"]


def test_completions_count_towards_the_readmission_limit_and_redelivery_has_no_second_effect(client, producer, kafka):
    staff = token(["admissions"], ["*"])
    campus = new_campus(client, staff)
    person = new_applicant(client, staff, campus)
    finished = []
    for n in range(3):  # three short courses, one after another
        cohort, enrollment = enrol(client, staff, campus, person, start_in_days=10 + 10 * n)
        event, key = events.build_event(
            events.TRAINEE_COMPLETED if n < 2 else events.TRAINEE_NOT_COMPLETED,
            {
                "trainee_id": person,
                "cohort_id": cohort,
                "campus": campus,
                "programme_code": "P",
                "completion_date": str(date.today() + timedelta(days=20 + 10 * n)),
                "date": str(date.today() + timedelta(days=20 + 10 * n)),
                "final_rate": 0.9 if n < 2 else 0.5,
                "reason": "below_threshold",
            },
        )
        send(producer, event, key)
        send(producer, event, key)  # redelivered: must have no second effect
        finished.append((enrollment, "completed" if n < 2 else "not_completed"))
    for enrollment, status in finished:
        wait_until(lambda: client.get(f"{E}/enrollments/{enrollment}", headers=staff).json()["status"] == status)
    history = client.get(f"{E}/enrollments", params={"trainee_id": person}, headers=staff).json()
    assert sorted(e["status"] for e in history["items"]) == ["completed", "completed", "not_completed"]

    fourth = new_cohort(client, staff, new_programme(client, staff, campus, hours=300), start_in_days=60)
    refused = apply(client, staff, person, fourth)
    assert refused["status"] == "ineligible"
    assert [r["rule"] for r in refused["reasons"]] == ["readmission.limit"]
    long_course = new_cohort(client, staff, new_programme(client, staff, campus, hours=960), start_in_days=60)
    assert apply(client, staff, person, long_course)["status"] == "submitted"

    metrics = client.get("/metrics").text
    duplicates = [line for line in metrics.splitlines() if 'result="duplicate"' in line and not line.startswith("#")]
    assert duplicates and sum(float(line.rsplit(" ", 1)[1]) for line in duplicates) >= 3


def test_an_unusable_message_goes_to_the_dead_letter_topic_and_the_consumer_moves_on(client, producer, kafka):
    staff = token(["admissions"], ["*"])
    producer.send("trainingops.attendance.events", key=b"junk", value=b"{this is not an event").get(timeout=10)
    campus = new_campus(client, staff)
    person = new_applicant(client, staff, campus)
    cohort, enrollment = enrol(client, staff, campus, person, start_in_days=10)
    event, key = events.build_event(
        events.TRAINEE_COMPLETED,
        {
            "trainee_id": person,
            "cohort_id": cohort,
            "campus": campus,
            "programme_code": "P",
            "completion_date": str(date.today() + timedelta(days=30)),
            "final_rate": 0.85,
        },
    )
    send(producer, event, key)
    wait_until(lambda: client.get(f"{E}/enrollments/{enrollment}", headers=staff).json()["status"] == "completed")
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        "trainingops.enrollment.dlq",
        bootstrap_servers=kafka,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=3000,
    )
    try:
        records = [r for r in consumer if r.value == b"{this is not an event"]
    finally:
        consumer.close()
    assert records, "the unusable message is not on the dead-letter topic"
    headers = dict(records[0].headers)
    assert headers["dlq.original.topic"] == b"trainingops.attendance.events"
    assert headers["dlq.consumer"] == b"enrollment"
    assert headers["dlq.error.type"]
