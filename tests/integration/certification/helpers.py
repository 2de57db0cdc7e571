"""Building blocks for certification's integration tests: outside events, the catalogue, claims."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from kafka import KafkaProducer

from shared import events
from shared.events import CONTENT_TYPE, build_event
from tests.support import wait_until

C = "/certification/v1"


def publish(kafka: str, event_type: str, data: dict[str, Any]) -> events.CloudEvent:
    """Send an event as the producing service would (its topic, key = trainee id)."""
    event, key = build_event(event_type, data)
    producer = KafkaProducer(bootstrap_servers=kafka.split(","), acks="all")
    try:
        producer.send(
            events.EVENTS[event_type].topic,
            key=key.encode(),
            value=event.to_bytes(),
            headers=[("content-type", CONTENT_TYPE.encode())],
        ).get(timeout=15)
    finally:
        producer.close()
    return event


def enrolled(
    kafka: str,
    *,
    trainee: str,
    campus: str,
    programme_code: str,
    qualification_codes: list[str],
    start: date,
    end: date,
) -> str:
    cohort = str(uuid.uuid4())
    publish(
        kafka,
        events.TRAINEE_ENROLLED,
        {
            "trainee_id": trainee,
            "enrollment_id": str(uuid.uuid4()),
            "name": "Trainee",
            "birth_date": "1995-06-01",
            "enrolled_on": str(start),
            "cohort": {
                "cohort_id": cohort,
                "programme_code": programme_code,
                "programme_title": "Welding",
                "campus": campus,
                "track": "national_qualification",
                "total_hours": 960,
                "completion_threshold": 0.8,
                "qualification_codes": qualification_codes,
                "start_date": str(start),
                "end_date": str(end),
            },
        },
    )
    return cohort


def completed(
    kafka: str, *, trainee: str, cohort: str, campus: str, programme_code: str, qualification_codes: list[str], on: date
) -> None:
    publish(
        kafka,
        events.TRAINEE_COMPLETED,
        {
            "trainee_id": trainee,
            "cohort_id": cohort,
            "campus": campus,
            "programme_code": programme_code,
            "qualification_codes": qualification_codes,
            "completion_date": str(on),
            "final_rate": 0.92,
        },
    )


def qualification(
    client: Any,
    headers: dict[str, str],
    code: str | None = None,
    written_fee: int | None = 14_500,
    practical_fee: int | None = None,
    grade: str = "craftsman",
) -> str:
    code = code or f"Q-{uuid.uuid4().hex[:8]}"
    r = client.put(
        f"{C}/qualifications/{code}",
        json={
            "code": code,
            "name": "Welding Craftsman",
            "grade": grade,
            "written_fee": written_fee,
            "practical_fee": practical_fee,
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return code


def wait_window(
    client: Any, headers: dict[str, str], trainee: str, status: str = "enrolled", count: int = 1
) -> list[dict]:
    def ready():
        r = client.get(f"{C}/trainees/{trainee}/windows", headers=headers)
        if r.status_code != 200:
            return None
        rows = r.json()
        # the cohort's dates come on its own events, which may arrive after the enrollment's
        settled = all(w["status"] == status and w["end_date"] for w in rows[:count])
        return rows if len(rows) >= count and settled else None

    return wait_until(ready, timeout=30)


def eligible_trainee(
    client: Any,
    kafka: str,
    finance: dict[str, str],
    *,
    campus: str | None = None,
    code: str | None = None,
    qualification_codes: list[str] | None = None,
) -> dict[str, str]:
    """A trainee enrolled 60 days ago (by an enrollment event) in a programme preparing for a new qualification."""
    campus = campus or f"c{uuid.uuid4().hex[:8]}"
    code = code or qualification(client, finance)
    trainee = str(uuid.uuid4())
    today = date.today()
    cohort = enrolled(
        kafka,
        trainee=trainee,
        campus=campus,
        programme_code=f"P-{uuid.uuid4().hex[:6]}",
        qualification_codes=qualification_codes if qualification_codes is not None else [code],
        start=today - timedelta(days=60),
        end=today + timedelta(days=60),
    )
    wait_window(client, finance, trainee)
    return {"trainee": trainee, "campus": campus, "code": code, "cohort": cohort}


def claim_body(trainee: str, code: str, **extra: Any) -> dict[str, Any]:
    body = {
        "trainee_id": trainee,
        "qualification_code": code,
        "stage": "written",
        "exam_date": str(date.today() - timedelta(days=5)),
        "amount_paid": 14_500,
        "receipt_number": f"R-{uuid.uuid4().hex[:10]}",
        "admission_slip_number": f"S-{uuid.uuid4().hex[:6]}",
    }
    body.update(extra)
    return body


def approved_claim(client: Any, finance: dict[str, str], trainee: str, code: str, **extra: Any) -> dict:
    r = client.post(f"{C}/claims", json=claim_body(trainee, code, **extra), headers=finance)
    assert r.status_code == 201, r.text
    a = client.post(f"{C}/claims/{r.json()['id']}/approve", headers=finance)
    assert a.status_code == 200, a.text
    return a.json()
