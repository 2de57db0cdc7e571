"""Test helpers: enrollment's events as an outside producer would send them, and Seoul-local dates."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kafka import KafkaProducer

from shared import events
from shared.events import build_event, topic_for

SEOUL = ZoneInfo("Asia/Seoul")


def today() -> date:
    return datetime.now(SEOUL).date()


def weekdays(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1) if (start + timedelta(n)).weekday() < 5]


def snapshot(
    campus: str,
    start: date,
    end: date,
    *,
    threshold: float = 0.8,
    days: list[date] | None = None,
    slot: tuple[time, time] = (time(9), time(18)),
    hours: float = 8.0,
) -> events.CohortSnapshot:
    return events.CohortSnapshot(
        cohort_id=uuid.uuid4(),
        programme_code=f"P-{uuid.uuid4().hex[:6]}",
        programme_title="Special Welding",
        campus=campus,
        track="national_qualification",
        total_hours=int(hours * 10),
        completion_threshold=threshold,
        qualification_codes=["WELD-CRAFTSMAN"],
        start_date=start,
        end_date=end,
        sessions=[
            events.SessionSlot(date=d, start=slot[0], end=slot[1], hours=hours)
            for d in (days if days is not None else weekdays(start, end))
        ],
    )


class Enrollment:
    """Sends enrollment's events to its topic, keyed as the contract says; keeps what it sent."""

    def __init__(self, kafka: str) -> None:
        self.producer = KafkaProducer(bootstrap_servers=kafka.split(","), acks="all")
        self.sent: list[tuple[str, bytes]] = []

    def send(self, event_type: str, data: events.EventData) -> events.CloudEvent:
        event, key = build_event(event_type, data)
        raw = event.to_bytes()
        self.producer.send(topic_for("enrollment"), key=key.encode(), value=raw).get(timeout=15)
        self.sent.append((key, raw))
        return event

    def redeliver_all(self) -> int:
        for key, raw in self.sent:
            self.producer.send(topic_for("enrollment"), key=key.encode(), value=raw)
        self.producer.flush(15)
        return len(self.sent)

    def publish(self, snap: events.CohortSnapshot) -> None:
        self.send(events.COHORT_PUBLISHED, events.CohortPublished(**snap.model_dump()))

    def enroll(
        self,
        snap: events.CohortSnapshot,
        trainee_id: uuid.UUID | None = None,
        name: str = "Kim Minji",
        *,
        enrolled_on: date | None = None,
    ) -> uuid.UUID:
        trainee_id = trainee_id or uuid.uuid4()
        self.send(
            events.TRAINEE_ENROLLED,
            events.TraineeEnrolled(
                trainee_id=trainee_id,
                enrollment_id=uuid.uuid4(),
                name=name,
                birth_date=date(1994, 5, 17),
                enrolled_on=enrolled_on or snap.start_date,
                cohort=snap,
            ),
        )
        return trainee_id

    def withdraw(self, snap: events.CohortSnapshot, trainee_id: uuid.UUID, on: date) -> None:
        self.send(
            events.TRAINEE_WITHDRAWN,
            events.TraineeWithdrawn(
                trainee_id=trainee_id,
                enrollment_id=uuid.uuid4(),
                cohort_id=snap.cohort_id,
                campus=snap.campus,
                programme_code=snap.programme_code,
                date=on,
                reason="personal",
            ),
        )

    def close(self) -> None:
        self.producer.close(timeout=5)


def local(d: date, hh: int, mm: int = 0) -> str:
    return datetime.combine(d, time(hh, mm), tzinfo=SEOUL).isoformat()
