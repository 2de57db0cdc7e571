"""Transactional outbox: events are written with the rows that cause them, then relayed.

``emit`` adds an event to the caller's transaction. ``OutboxRelay`` publishes pending
rows in id order (``acks=all``, idempotent producer), then deletes them. If the
broker is down the API keeps working and events wait; a crash between publish and
delete re-publishes, and consumers drop the duplicate by event id.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import BigInteger, any_, bindparam, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from shared.db import Database, fast_execute, utcnow
from shared.events import CONTENT_TYPE, EVENTS, EventData, build_event
from shared.kafka import ResilientProducer
from shared.logging import causation_id, correlation_id
from shared.tables import outbox

log = logging.getLogger(__name__)


def _row(event_type: str, data: EventData | dict[str, Any]) -> dict[str, Any]:
    event, key = build_event(event_type, data, correlation_id=correlation_id.get(), causation_id=causation_id.get())
    return dict(
        event_id=event.id,
        event_type=event.type,
        topic=EVENTS[event_type].topic,
        message_key=key,
        payload=event.to_bytes().decode(),
        created_at=utcnow(),
    )


_INSERT = insert(outbox)  # built once; the row goes in as parameters


def emit(session: Session, event_type: str, data: EventData | dict[str, Any]) -> str:
    """Add an event to the current transaction's outbox; returns the event id."""
    row = _row(event_type, data)
    fast_execute(session, _INSERT, row)
    return str(row["event_id"])


# PostgreSQL takes a large batch as one JSON parameter, in one statement, in the order given (the ids follow
# it). Passing the rows one by one, even pipelined, costs the driver more than the server's whole insert.
_INSERT_FROM_JSON = text(
    "INSERT INTO outbox (event_id, event_type, topic, message_key, payload, created_at) "
    "SELECT event_id, event_type, topic, message_key, payload, created_at FROM ROWS FROM (json_to_recordset("
    "CAST(:rows AS json)) AS (event_id text, event_type text, topic text, message_key text, payload text, "
    "created_at timestamptz)) WITH ORDINALITY AS r(event_id, event_type, topic, message_key, payload, "
    "created_at, ord) ORDER BY ord"
)
_ONE_STATEMENT_FROM = 50


def outbox_rows(items: Iterable[tuple[str, EventData | dict[str, Any]]]) -> list[dict[str, Any]]:
    """The outbox rows of many events, in order: the Python half of ``emit_many``, which can run meanwhile
    on another thread (it touches no session; it reads the caller's correlation id from its context)."""
    return [_row(t, d) for t, d in items]


def emit_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add rows made by ``outbox_rows`` to the current transaction's outbox, in order."""
    if len(rows) >= _ONE_STATEMENT_FROM and session.get_bind().dialect.name == "postgresql":
        session.execute(_INSERT_FROM_JSON, {"rows": json.dumps(rows, default=str)})
    elif rows:
        session.execute(_INSERT, rows)


def emit_many(session: Session, items: Iterable[tuple[str, EventData | dict[str, Any]]]) -> None:
    """Add many events to the current transaction's outbox, in order."""
    emit_rows(session, outbox_rows(items))


def backlog(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox)).scalar_one()


class OutboxRelay:
    """Publishes the outbox in a background thread; several replicas may run at once on PostgreSQL."""

    def __init__(
        self,
        db: Database,
        producer_factory: Callable[[], KafkaProducer],
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
        on_published: Callable[[int], None] | None = None,
        coalesce_s: float = 0.1,
    ) -> None:
        self.coalesce_s = coalesce_s
        self.db = db
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.on_published = on_published
        # rebuilt after any failed publish, so a broker restart (new producer ids) leaves nothing stuck
        self.producer = ResilientProducer(producer_factory, "outbox-relay")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.healthy = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self.producer.close()

    def _run(self) -> None:
        backoff = self.poll_interval_s
        while not self._stop.is_set():
            try:
                sent = self.relay_once()
                self.healthy = True
                backoff = self.poll_interval_s
                if sent >= self.batch_size:
                    continue  # more waiting: go again at once
            except Exception as exc:  # broker or database unavailable: keep events, back off
                self.healthy = False
                log.warning("outbox relay failed; will retry", extra={"error": type(exc).__name__})
                backoff = min(backoff * 2, 5.0)
            if self._wake.wait(backoff):
                self._stop.wait(self.coalesce_s)  # let the commits of a burst gather into one batch
            self._wake.clear()

    def relay_once(self) -> int:
        """Publish one batch of pending events; returns how many were published."""
        with self.db.session() as session:
            query = (
                select(outbox.c.id, outbox.c.topic, outbox.c.message_key, outbox.c.payload)
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                return 0
            if not self.db.is_postgres:
                # SQLite has one writer at a time: release it while we talk to the broker.
                session.rollback()
            headers = [("content-type", CONTENT_TYPE.encode())]
            # raises if any send failed: the batch stays pending, and the next try has a fresh producer
            self.producer.send_many(
                [(row.topic, row.message_key.encode(), row.payload.encode(), headers) for row in rows], timeout=15
            )
            ids = [r.id for r in rows]
            # On PostgreSQL one array parameter, not a thousand placeholders for the driver to parse.
            sent = (
                outbox.c.id == any_(bindparam("ids", ids, type_=ARRAY(BigInteger)))
                if self.db.is_postgres
                else outbox.c.id.in_(ids)
            )
            session.execute(delete(outbox).where(sent))  # relayed: nothing left to keep
            session.commit()
        if self.on_published:
            self.on_published(len(rows))
        return len(rows)
