"""Enrollment events applied as a batch leave exactly what applying them one by one leaves (no broker)."""

from __future__ import annotations

import uuid
from collections import namedtuple
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from services.attendance.adapters.orm import Base, Cohort, RosterEntry, TrainingSession
from services.attendance.adapters.repository import AttendanceRepository
from services.attendance.entrypoints.events import HANDLERS
from shared import events
from shared.consumer import BatchHandler, EventConsumer
from shared.db import KERNEL_METADATA, Database
from shared.events import build_event, topic_for
from shared.unit_of_work import SqlUnitOfWork
from tests.integration.attendance.helpers import snapshot

Record = namedtuple("Record", "topic partition offset key value")


class FakeProducer:
    def __init__(self) -> None:
        self.dead: list[str] = []

    def send(self, topic, key=None, value=None, headers=None):  # noqa: ANN001, ANN201
        self.dead.append(dict(headers)["dlq.event.id"].decode())
        return self

    def get(self, timeout=None):  # noqa: ANN001, ANN201
        return None


@pytest.fixture(params=["postgresql", "sqlite"])
def make_consumer(request, tmp_path):  # noqa: ANN001, ANN201
    made = []

    def make() -> EventConsumer:
        db = Database(
            request.getfixturevalue("databases").new("rosterb")
            if request.param == "postgresql"
            else f"sqlite:///{tmp_path}/roster{len(made)}.db"
        )
        Base.metadata.create_all(db.engine)
        KERNEL_METADATA.create_all(db.engine)
        producer = FakeProducer()
        consumer = EventConsumer(
            service="attendance",
            db=db,
            handlers=HANDLERS,
            consumer_factory=lambda: None,
            unit_of_work=lambda: SqlUnitOfWork(db, AttendanceRepository),
            producer_factory=lambda: producer,
            retries=0,
            retry_backoff_s=0,
        )
        consumer.producer = producer
        made.append(db)
        return consumer

    yield make
    for db in made:
        db.dispose()


def enrolled(snap: events.CohortSnapshot, tid: uuid.UUID, name: str) -> events.CloudEvent:
    return build_event(
        events.TRAINEE_ENROLLED,
        events.TraineeEnrolled(
            trainee_id=tid,
            enrollment_id=uuid.uuid5(tid, name),
            name=name,
            birth_date=date(1990, 1, 1),
            enrolled_on=snap.start_date,
            cohort=snap,
        ),
    )[0]


def withdrawn(snap: events.CohortSnapshot, tid: uuid.UUID) -> events.CloudEvent:
    return build_event(
        events.TRAINEE_WITHDRAWN,
        events.TraineeWithdrawn(
            trainee_id=tid,
            enrollment_id=uuid.uuid4(),
            cohort_id=snap.cohort_id,
            campus=snap.campus,
            programme_code=snap.programme_code,
            date=snap.start_date,
            reason="personal",
        ),
    )[0]


def state(db: Database) -> tuple:
    with db.session() as s:
        roster = sorted(
            (
                str(e.cohort_id),
                str(e.trainee_id),
                str(e.enrollment_id),
                e.campus,
                e.name,
                e.enrolled_on,
                e.status,
                e.withdrawn_on,
            )
            for e in s.execute(select(RosterEntry)).scalars()
        )
        cohorts = sorted(
            (str(c.id), c.campus, c.programme_title, c.snapshot_hash) for c in s.execute(select(Cohort)).scalars()
        )
        sessions = sorted(
            (str(t.id), str(t.cohort_id), t.date, t.start, t.end, t.hours)
            for t in s.execute(select(TrainingSession)).scalars()
        )
    return roster, cohorts, sessions


def test_a_batch_of_enrollment_events_leaves_what_one_by_one_leaves(make_consumer, monkeypatch):
    start = date(2030, 3, 4)
    x1 = snapshot("cx", start, start + timedelta(days=30))
    x2 = x1.model_copy(
        update=dict(
            programme_title="Renamed",
            campus="cx2",
            sessions=x1.sessions[1:]
            + [events.SessionSlot(date=start + timedelta(days=31), start=time(9), end=time(13), hours=4)],
        )
    )
    y1 = snapshot("cy", start, start + timedelta(days=20))
    y2 = y1.model_copy(update=dict(programme_title="Y again"))
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))
    first = enrolled(x1, a, "A")
    evs = [
        first,
        enrolled(y1, b, "B in Y"),
        enrolled(x1, b, "B"),
        enrolled(x1, a, "A again"),  # the same trainee twice in one run: the later name wins
        withdrawn(x1, b),  # ends the run; applied after B's enrollment
        enrolled(x2, c, "C"),  # a new snapshot of the cohort: sessions and campus change
        enrolled(x2, b, "B back"),  # re-enrolled after the withdrawal: renamed, still withdrawn
        enrolled(x1, d, "D"),  # an older snapshot again, as one by one would apply it
        first,  # the same event twice in the batch
        withdrawn(x1, uuid.uuid4()),  # not on the roster: dead-lettered, alone
        build_event(events.COHORT_PUBLISHED, events.CohortPublished(**y2.model_dump()))[0],
        enrolled(y2, e, "E"),
        withdrawn(x1, b),  # the entry was loaded, then upserted: read again, not stale
    ]
    recs = [Record(topic_for("enrollment"), 0, i, b"k", ev.to_bytes()) for i, ev in enumerate(evs)]

    batched = make_consumer()
    runs = []
    handler = HANDLERS[events.TRAINEE_ENROLLED]
    assert isinstance(handler, BatchHandler)
    apply_many = handler.apply_many
    monkeypatch.setattr(handler, "apply_many", lambda s, items: (runs.append(len(items)), apply_many(s, items)))
    batch_results = batched.handle_batch(recs)
    monkeypatch.undo()

    one_by_one = make_consumer()
    single_results = [one_by_one.handle_record(r) for r in recs]

    assert batch_results == single_results == ["done"] * 8 + ["duplicate", "dead-lettered", "done", "done", "done"]
    assert runs == [4, 3]  # then the bad withdrawal failed the batch, which was replayed record by record
    assert batched.producer.dead == one_by_one.producer.dead == [evs[9].id]
    assert state(batched.db) == state(one_by_one.db)


def test_a_clean_batch_is_applied_in_runs_and_matches_one_by_one(make_consumer, monkeypatch):
    start = date(2030, 3, 4)
    x1 = snapshot("cx", start, start + timedelta(days=30))
    y1 = snapshot("cy", start, start + timedelta(days=20))
    x2 = x1.model_copy(update=dict(campus="cx2"))
    a, b, c = (uuid.uuid4() for _ in range(3))
    evs = [
        enrolled(x1, a, "A"),
        enrolled(y1, a, "A in Y"),
        enrolled(x1, b, "B"),
        enrolled(x1, a, "A2"),
        enrolled(x2, c, "C"),
        enrolled(x1, b, "B2"),
        withdrawn(x1, a),
        enrolled(x1, a, "A3"),
        withdrawn(x1, a),
    ]
    recs = [Record(topic_for("enrollment"), 0, i, b"k", ev.to_bytes()) for i, ev in enumerate(evs)]

    batched = make_consumer()
    runs = []
    handler = HANDLERS[events.TRAINEE_ENROLLED]
    apply_many = handler.apply_many
    monkeypatch.setattr(handler, "apply_many", lambda s, items: (runs.append(len(items)), apply_many(s, items)))
    assert batched.handle_batch(recs) == ["done"] * len(evs)
    monkeypatch.undo()
    assert runs == [6, 1]

    one_by_one = make_consumer()
    assert [one_by_one.handle_record(r) for r in recs] == ["done"] * len(evs)
    assert state(batched.db) == state(one_by_one.db)
    roster = {(r[0], r[1]): r for r in state(batched.db)[0]}
    campus_name_status = lambda row: (row[3], row[4], row[6])  # noqa: E731
    assert campus_name_status(roster[(str(x1.cohort_id), str(a))]) == ("cx", "A3", "withdrawn")
    assert campus_name_status(roster[(str(x1.cohort_id), str(c))]) == ("cx2", "C", "active")  # its snapshot's
    assert campus_name_status(roster[(str(x1.cohort_id), str(b))]) == ("cx", "B2", "active")  # inserted before
    # a redelivered batch: no second effect
    before = state(batched.db)
    assert batched.handle_batch(recs) == ["duplicate"] * len(evs)
    assert state(batched.db) == before


def test_a_name_too_long_for_the_roster_is_refused_in_a_batch_as_alone(make_consumer):
    """The batch statement once cast its names to the column's VARCHAR(200), which PostgreSQL cuts silently:
    the batch path stored a shortened name where the one-by-one path dead-lettered the event."""
    snap = snapshot("cz", date(2030, 3, 4), date(2030, 4, 4))
    ok, long = uuid.uuid4(), uuid.uuid4()
    evs = [enrolled(snap, ok, "OK"), enrolled(snap, long, "N" * 300)]
    recs = [Record(topic_for("enrollment"), 0, i, b"k", ev.to_bytes()) for i, ev in enumerate(evs)]

    batched, one_by_one = make_consumer(), make_consumer()
    results = batched.handle_batch(recs)
    assert results == [one_by_one.handle_record(r) for r in recs]
    assert state(batched.db) == state(one_by_one.db)
    if batched.db.engine.dialect.name == "postgresql":  # SQLite does not hold strings to their declared length
        assert results == ["done", "dead-lettered"]
        assert batched.producer.dead == [evs[1].id]
        assert [r[1] for r in state(batched.db)[0]] == [str(ok)]
