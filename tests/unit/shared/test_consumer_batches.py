"""The consumer's batch path with a BatchHandler: runs, order between types, duplicates, fallback, dead letters.

Driven through ``EventConsumer.handle_batch`` with records made here (no broker), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from datetime import date

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update

from shared import events
from shared.consumer import BatchHandler, EventConsumer, PermanentEventError
from shared.db import KERNEL_METADATA, Database
from shared.events import build_event, topic_for
from shared.tables import processed_event

Record = namedtuple("Record", "topic partition offset key value")

META = MetaData()
state = Table(
    "toy_state", META, Column("trainee_id", String(40), primary_key=True), Column("status", String(200), nullable=False)
)
log = Table(
    "toy_log",
    META,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("trainee_id", String(40), nullable=False),
    Column("what", String(200), nullable=False),
)

SNAP = events.CohortSnapshot(
    cohort_id=uuid.uuid4(),
    programme_code="P",
    programme_title="T",
    campus="c",
    track="t",
    total_hours=8,
    completion_threshold=0.8,
    start_date=date(2030, 1, 1),
    end_date=date(2030, 2, 1),
)


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, topic, key=None, value=None, headers=None):  # noqa: ANN001, ANN201
        self.sent.append(dict(topic=topic, value=value, headers=dict(headers or [])))
        return self

    def get(self, timeout=None):  # noqa: ANN001, ANN201
        return None


class Toy:
    """A toy service: enrollments are batched, withdrawals are handled one by one."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []  # the event ids of each apply_many call
        self.parsed: list[int] = []  # sizes of parse_many calls
        self.fail_many = 0  # apply_many raises this many times before working

    def enroll_one(self, ctx, data, event) -> None:  # noqa: ANN001
        session = ctx.uow.repo
        if data.name == "bad":
            raise PermanentEventError("a name no retry can fix")
        tid = str(data.trainee_id)
        if session.execute(select(state.c.status).where(state.c.trainee_id == tid)).first() is None:
            session.execute(insert(state).values(trainee_id=tid, status=f"enrolled:{data.name}"))
        else:
            session.execute(update(state).where(state.c.trainee_id == tid).values(status=f"enrolled:{data.name}"))
        session.execute(insert(log).values(trainee_id=tid, what=f"enrolled:{data.name}"))

    def enroll_many(self, ctx, items) -> None:  # noqa: ANN001
        self.calls.append([event.id for _data, event in items])
        if self.fail_many:
            self.fail_many -= 1
            raise RuntimeError("the database went away for a moment")
        for data, event in items:
            self.enroll_one(ctx, data, event)

    def parse_many(self, batch):  # noqa: ANN001, ANN201
        self.parsed.append(len(batch))
        return [events.TraineeEnrolled.model_validate(e.data) for e in batch]

    def withdraw(self, ctx, data, event) -> None:  # noqa: ANN001
        session = ctx.uow.repo
        tid = str(data.trainee_id)
        if session.execute(select(state.c.status).where(state.c.trainee_id == tid)).first() is None:
            raise PermanentEventError("not enrolled")
        session.execute(update(state).where(state.c.trainee_id == tid).values(status="withdrawn"))
        session.execute(insert(log).values(trainee_id=tid, what="withdrawn"))

    def handlers(self) -> dict:
        return {
            events.TRAINEE_ENROLLED: BatchHandler(self.enroll_one, self.enroll_many, self.parse_many),
            events.TRAINEE_WITHDRAWN: self.withdraw,
        }


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/toy.db"
    else:
        url = request.getfixturevalue("databases").new("batches")
    database = Database(url)
    META.create_all(database.engine)
    KERNEL_METADATA.create_all(database.engine, tables=[processed_event])
    yield database
    database.dispose()


@pytest.fixture
def toy() -> Toy:
    return Toy()


@pytest.fixture
def consumer(db, toy):  # noqa: ANN001, ANN201
    producer = FakeProducer()
    c = EventConsumer(
        service="toy",
        db=db,
        handlers=toy.handlers(),
        consumer_factory=lambda: None,
        producer_factory=lambda: producer,
        retries=1,
        retry_backoff_s=0,
    )
    c.dead = producer
    return c


def records(*evs: events.CloudEvent) -> list[Record]:
    return [Record(topic_for("enrollment"), 0, i, b"k", e.to_bytes()) for i, e in enumerate(evs)]


def enrolled(tid: uuid.UUID, name: str = "A") -> events.CloudEvent:
    return build_event(
        events.TRAINEE_ENROLLED,
        events.TraineeEnrolled(
            trainee_id=tid,
            enrollment_id=uuid.uuid4(),
            name=name,
            birth_date=date(1990, 1, 1),
            enrolled_on=date(2030, 1, 1),
            cohort=SNAP,
        ),
    )[0]


def withdrawn(tid: uuid.UUID) -> events.CloudEvent:
    return build_event(
        events.TRAINEE_WITHDRAWN,
        events.TraineeWithdrawn(
            trainee_id=tid,
            enrollment_id=uuid.uuid4(),
            cohort_id=SNAP.cohort_id,
            campus="c",
            programme_code="P",
            date=date(2030, 1, 5),
            reason="personal",
        ),
    )[0]


def other() -> events.CloudEvent:
    return build_event(
        events.CLAIM_PAID,
        events.ClaimPaid(claim_id=uuid.uuid4(), trainee_id=uuid.uuid4(), campus="c", amount=1, payout_reference="r"),
    )[0]


def statuses(db: Database) -> dict[str, str]:
    with db.session() as s:
        return dict(s.execute(select(state.c.trainee_id, state.c.status)).all())


def history(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return [tuple(r) for r in s.execute(select(log.c.trainee_id, log.c.what).order_by(log.c.seq)).all()]


def test_consecutive_events_of_a_batch_handler_are_applied_in_one_call_and_other_types_keep_their_place(
    consumer, toy, db
):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    evs = [enrolled(a), other(), enrolled(b), withdrawn(b), enrolled(c), enrolled(a, "A2")]
    assert consumer.handle_batch(records(*evs)) == ["done", "ignored", "done", "done", "done", "done"]
    # an ignored event does not break a run; the withdrawal does, and is applied after b's enrollment
    assert toy.calls == [[evs[0].id, evs[2].id], [evs[4].id, evs[5].id]]
    assert toy.parsed == [4]
    assert statuses(db) == {str(a): "enrolled:A2", str(b): "withdrawn", str(c): "enrolled:A"}
    assert history(db) == [
        (str(a), "enrolled:A"),
        (str(b), "enrolled:A"),
        (str(b), "withdrawn"),
        (str(c), "enrolled:A"),
        (str(a), "enrolled:A2"),
    ]


def test_a_redelivered_batch_has_no_second_effect(consumer, toy, db):
    a, b = uuid.uuid4(), uuid.uuid4()
    batch = records(enrolled(a), enrolled(b), withdrawn(a))
    assert consumer.handle_batch(batch) == ["done"] * 3
    before = history(db)
    toy.calls.clear()
    assert consumer.handle_batch(batch) == ["duplicate"] * 3
    assert toy.calls == [] and history(db) == before


def test_the_same_event_twice_in_one_batch_is_applied_once(consumer, toy, db):
    a = uuid.uuid4()
    event = enrolled(a)
    assert consumer.handle_batch(records(event, event)) == ["done", "duplicate"]
    assert toy.calls == [[event.id]]
    assert history(db) == [(str(a), "enrolled:A")]


def test_a_failing_record_of_a_run_is_dead_lettered_alone(consumer, toy, db):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    evs = [enrolled(a), enrolled(b, "bad"), enrolled(c), withdrawn(uuid.uuid4())]
    assert consumer.handle_batch(records(*evs)) == ["done", "dead-lettered", "done", "dead-lettered"]
    assert statuses(db) == {str(a): "enrolled:A", str(c): "enrolled:A"}
    assert [d["headers"]["dlq.event.id"] for d in consumer.dead.sent] == [evs[1].id.encode(), evs[3].id.encode()]
    assert {d["headers"]["dlq.error.type"] for d in consumer.dead.sent} == {b"PermanentEventError"}
    # the dead-lettered ones were not claimed: the good ones come back as duplicates, the bad ones fail again
    consumer.dead.sent.clear()
    assert consumer.handle_batch(records(*evs)) == ["duplicate", "dead-lettered", "duplicate", "dead-lettered"]


def test_a_transient_failure_of_a_run_is_retried_record_by_record(consumer, toy, db):
    a, b = uuid.uuid4(), uuid.uuid4()
    toy.fail_many = 1
    assert consumer.handle_batch(records(enrolled(a), enrolled(b))) == ["done", "done"]
    assert history(db) == [(str(a), "enrolled:A"), (str(b), "enrolled:A")]
    assert consumer.dead.sent == []


def test_data_that_parse_many_refuses_is_validated_one_by_one_and_only_the_invalid_event_dead_letters(
    consumer, toy, db
):
    a = uuid.uuid4()
    good = enrolled(a)
    broken = enrolled(uuid.uuid4())
    broken.data["birth_date"] = "not a date"
    assert consumer.handle_batch(records(good, broken)) == ["done", "dead-lettered"]
    assert statuses(db) == {str(a): "enrolled:A"}
    assert consumer.dead.sent[0]["headers"]["dlq.error.type"] == b"ValidationError"


def test_a_plain_handler_still_works_for_a_batch_handlers_type_one_record_at_a_time(consumer, toy, db):
    a = uuid.uuid4()
    assert consumer.handle_record(records(enrolled(a))[0]) == "done"
    assert toy.calls == [] and statuses(db) == {str(a): "enrolled:A"}
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(processed_event)).scalar_one() == 1
