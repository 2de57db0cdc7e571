"""A database that is down is not poison: the consumer retries, its loop fails and is counted, nothing is
dead-lettered, and the event is applied once the database is back.

The database goes away for real: the consumer reaches PostgreSQL through a TCP relay that this test cuts
(existing connections closed, new ones refused) and then restores.
"""

from __future__ import annotations

import socket
import threading
import uuid
from datetime import timedelta

from sqlalchemy import text

from services.attendance.adapters.repository import AttendanceRepository
from services.attendance.entrypoints.events import HANDLERS
from shared import migrations
from shared.consumer import EventConsumer, TransientEventError
from shared.db import Database
from shared.kafka import make_consumer, make_producer
from shared.metrics import ServiceMetrics
from shared.unit_of_work import SqlUnitOfWork
from tests.faults.records import dead_letters, own_broker  # noqa: F401
from tests.integration.attendance.helpers import Enrollment, snapshot, today
from tests.support import wait_until


class Cuttable:
    """A TCP relay to PostgreSQL that can be cut (connections dropped, new ones refused) and restored."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.open.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_a_database_that_is_down_stalls_the_consumer_and_dead_letters_nothing(own_broker, databases):
    kafka = own_broker.bootstrap
    url = databases.new("fault_dbdown")
    migrations.upgrade("attendance", url)
    host_port = int(url.rsplit("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    relay = Cuttable(host_port)
    db = Database(url.replace(f":{host_port}/", f":{relay.port}/"))
    real = Database(url)
    metrics = ServiceMetrics("attendance")
    consumer = EventConsumer(
        service="attendance",
        db=db,
        handlers=HANDLERS,
        metrics=metrics,
        retries=2,
        retry_backoff_s=0.05,
        unit_of_work=lambda: SqlUnitOfWork(db, AttendanceRepository),
        producer_factory=lambda: make_producer(kafka, "fault-dbdown"),
        consumer_factory=lambda: make_consumer(
            kafka,
            f"fault-dbdown-{uuid.uuid4().hex[:6]}",
            "fault-dbdown",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            max_poll_interval_ms=10000,
        ),
    )
    snap = snapshot("jungbu", today() + timedelta(days=7), today() + timedelta(days=30))
    sender = Enrollment(kafka)
    trainee = uuid.uuid4()

    def on_roster() -> bool:
        with real.engine.connect() as conn:
            return (
                conn.execute(
                    text("SELECT count(*) FROM roster_entry WHERE trainee_id = :t"), {"t": str(trainee)}
                ).scalar_one()
                == 1
            )

    def failures() -> float:
        return sum(
            s.value for m in metrics.consumer_loop_failures.collect() for s in m.samples if s.name.endswith("_total")
        )

    try:
        relay.cut()  # the database goes away
        consumer.start()
        sender.publish(snap)
        sender.enroll(snap, trainee)
        wait_until(lambda: failures() >= 2, timeout=40)  # the loop fails again and again, and says so
        labels = {s.labels["error"] for m in metrics.consumer_loop_failures.collect() for s in m.samples}
        assert labels == {"OperationalError"}, labels
        assert dead_letters(kafka, "attendance") == []  # not poison: nothing dead-lettered
        assert not on_roster()

        relay.restore()  # the database is back: the same records are handled, once
        wait_until(on_roster, timeout=40)
        assert dead_letters(kafka, "attendance") == []
    finally:
        consumer.stop()
        sender.close()
        relay.close()
        db.dispose()
        real.dispose()


def test_handle_record_raises_rather_than_dead_letters_when_the_database_is_down(own_broker, databases):
    """The decision itself, on one record: a transient error outlasting the retries is raised, not dead-lettered."""
    from collections import namedtuple

    from shared import events
    from shared.events import build_event, topic_for

    kafka = own_broker.bootstrap
    db = Database("postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens there
    consumer = EventConsumer(
        service="attendance",
        db=db,
        handlers=HANDLERS,
        retries=1,
        retry_backoff_s=0,
        unit_of_work=lambda: SqlUnitOfWork(db, AttendanceRepository),
        producer_factory=lambda: make_producer(kafka, "fault-dbdown-one"),
        consumer_factory=lambda: None,
    )
    snap = snapshot("jungbu", today() + timedelta(days=7), today() + timedelta(days=30))
    event, key = build_event(events.COHORT_PUBLISHED, events.CohortPublished(**snap.model_dump()))
    Record = namedtuple("Record", "topic partition offset key value headers")
    try:
        try:
            consumer.handle_record(Record(topic_for("enrollment"), 0, 0, key.encode(), event.to_bytes(), []))
        except TransientEventError as exc:
            assert type(exc.__cause__).__name__ == "OperationalError"
        else:
            raise AssertionError("a database that is down must not end in the DLQ")
        assert dead_letters(kafka, "attendance") == []
    finally:
        consumer.stop()
        db.dispose()
