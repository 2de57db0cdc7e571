"""The consumer runner: idempotent handling, offsets after commit, retries, dead letters.

Each message is handled in one database transaction that also records its event id
in ``processed_event``; a redelivered event finds its id there and has no second
effect. Offsets are committed only after the database commits. A message that still
fails after the retries goes, with the error in its headers, to the consumer's
dead-letter topic, and the consumer moves on.

Which record is poison and which error is passing:

- **Poison, dead-lettered at once** (no retry can help): a null value (a tombstone), bytes that
  are not JSON, JSON that is not a CloudEvent, an event type the contract does not declare, data
  that fails its model, a handler's ``PermanentEventError``.
- **Transient, never dead-lettered**: the database is unreachable or refuses for a while
  (SQLAlchemy ``OperationalError``, ``InterfaceError``, ``DisconnectionError``, a pool timeout, an
  invalidated connection: a server down or restarting, a deadlock, a serialization failure), and any
  error raised while the database does not answer a ping. It is retried with backoff; if it outlasts
  the retries the loop fails (``trainingops_consumer_loop_failures_total``), the offset is not
  committed and the record comes back when the consumer reconnects. A database that is down stalls
  the consumer; it does not empty its topics into the DLQ.
- **Anything else a handler raises** (a bug, a value the database refuses): retried with backoff,
  then dead-lettered, so it cannot stall its partition.

Dead letters carry the headers ``dlq.error.type``, ``dlq.error.message`` (no input values: a
validation error names the fields, a database error its first line without parameters),
``dlq.original.topic``/``partition``/``offset``, ``dlq.consumer`` and ``dlq.attempts`` (1 the
first time; a replayed letter that fails again comes back with one more). A replay reaches only
this consumer: ``trainingops dlq replay`` sends to ``trainingops.<consumer>.retry``, which this
consumer alone subscribes to (see ``trainingops.dlq``).

A handler that has a cheaper way of applying many events of its type at once can be
wrapped in a ``BatchHandler``: within a batch, each run of consecutive events it handles
is then applied in one call, with every guarantee above kept (see ``BatchHandler``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from shared.clock import Clock
from shared.db import Database
from shared.events import EVENTS, CloudEvent, EventData, dlq_for, retry_for
from shared.kafka import ResilientProducer
from shared.logging import causation_id, correlation_id
from shared.metrics import ServiceMetrics
from shared.unit_of_work import SqlUnitOfWork, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandlerContext:
    """What an event handler works with: the batch's unit of work (it never commits: the consumer does,
    after the handlers of the whole batch), the service's settings and the platform's clock."""

    uow: UnitOfWork[Any]
    settings: Any
    clock: Clock


Handler = Callable[[HandlerContext, Any, CloudEvent], None]
ApplyMany = Callable[[HandlerContext, list[tuple[Any, CloudEvent]]], None]
ParseMany = Callable[[list[CloudEvent]], list[EventData]]


@contextmanager
def event_context(event: CloudEvent) -> Iterator[None]:
    """Correlation and causation ids of ``event`` for logs and for the events published while handling it."""
    corr = correlation_id.set(event.correlationid or str(uuid.uuid4()))
    caus = causation_id.set(event.id)
    try:
        yield
    finally:
        correlation_id.reset(corr)
        causation_id.reset(caus)


class BatchHandler:
    """A per-event handler that can also apply many events of its type in one call.

    It goes wherever a ``Handler`` goes: calling it calls ``one(ctx, data, event)``.
    In ``EventConsumer.handle_batch`` (one partition's records, one transaction), every
    maximal run of consecutive fresh events whose handler is this object is handed, in
    offset order, to ``apply_many(ctx, [(data, event), ...])``, after the batch's
    event ids were claimed in the same transaction. Duplicates (ids processed before,
    or seen earlier in the batch) and events nobody handles are left out and do not
    break a run; an event handled by another handler ends the run, so the order between
    event types holds (a withdrawal after an enrollment in the batch is applied after it).

    ``apply_many`` must have the effect of calling ``one`` for each item in order: the
    same key (trainee, cohort, ...) may come more than once in a run, and later items
    win as they would one by one. It must raise if ``one`` would raise for any item,
    but need not say which: any exception rolls the whole batch back and the batch is
    replayed record by record through ``one`` (own transaction, retries,
    ``PermanentEventError``, dead letters), exactly as without batching.

    ``parse_many(events)``, if given, validates the data of many events of the type at
    once (say, a sub-object that many events carry validated once). It must return,
    for each event, what ``EVENTS[event.type].data.model_validate(event.data)`` returns,
    or raise; on raising, the batch is replayed record by record, where each event is
    validated on its own and an invalid one is dead-lettered.

    ``one`` runs within ``event_context(event)``; ``apply_many`` runs without it and
    must enter ``event_context(event)`` itself around work that publishes events.
    """

    def __init__(self, one: Handler, apply_many: ApplyMany, parse_many: ParseMany | None = None) -> None:
        self.one = one
        self.apply_many = apply_many
        self.parse_many = parse_many

    def __call__(self, ctx: HandlerContext, data: Any, event: CloudEvent) -> None:
        self.one(ctx, data, event)

    def __repr__(self) -> str:
        return f"BatchHandler({getattr(self.one, '__qualname__', self.one)!r})"


class PermanentEventError(Exception):
    """An event that no retry can fix (malformed, contradicts the contract): dead-letter it at once."""


class TombstoneRecord(Exception):
    """A record whose value is null: there is no event in it."""


class UnknownEventType(Exception):
    """A CloudEvent whose type the contract (``shared.events.EVENTS``) does not declare."""


class TransientEventError(Exception):
    """A record failed for a passing reason (the database is away) after the retries: not dead-lettered;
    the loop fails and the record comes back."""


_TRANSIENT = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def decode(record: Any) -> CloudEvent:
    """The CloudEvent of a record, or the reason there is none (every exception here is poison)."""
    if record.value is None:
        raise TombstoneRecord("the record has a null value (a tombstone): there is no event to handle")
    event = CloudEvent.from_bytes(record.value)  # ValueError: not JSON; ValidationError: not a CloudEvent
    if event.type not in EVENTS:
        raise UnknownEventType(f"event type {event.type[:200]!r} is not declared in the contract")
    return event


def describe(exc: BaseException) -> str:
    """An error's message for a dead letter's header, without the input values it may hold (personal data)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(envelope)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        )[:2000]
    if isinstance(exc, sa_exc.StatementError):  # its str() carries the SQL and its parameters
        orig = exc.orig if exc.orig is not None else exc
        first = (str(orig).strip().splitlines() or [""])[0]
        return f"{type(orig).__name__}: {first}"[:2000]
    return str(exc)[:2000]


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (getattr(record, "headers", None) or []) if v is not None}


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        db: Database,
        handlers: dict[str, Handler],
        consumer_factory: Callable[[], KafkaConsumer],
        producer_factory: Callable[[], KafkaProducer],
        metrics: ServiceMetrics | None = None,
        retries: int = 3,
        retry_backoff_s: float = 0.2,
        unit_of_work: Callable[[], UnitOfWork[Any]] | None = None,
        settings: Any = None,
        clock: Clock | None = None,
    ) -> None:
        self.service = service
        self.db = db
        self.handlers = handlers
        # one unit of work per batch (or per record when replayed one by one); without a repository of the
        # service's, the handlers get the bare session as ``ctx.uow.repo``
        self.unit_of_work = unit_of_work or (lambda: SqlUnitOfWork(db, lambda session: session))
        self.settings = settings
        self.clock = clock or Clock(getattr(settings, "timezone", "Asia/Seoul"))
        # the topics of the events it handles, and its own retry topic (dead letters replayed to it alone)
        self.topics = sorted({EVENTS[t].topic for t in handlers} | {retry_for(service)})
        self.consumer_factory = consumer_factory
        self.producer_factory = producer_factory
        self.metrics = metrics
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # dead letters go out through a producer that is rebuilt after any failure (broker restarts)
        self.dlq_producer = ResilientProducer(producer_factory, f"{service}-dlq")
        self._lag_checked = 0.0
        self.healthy = False

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.service}-consumer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
        self.dlq_producer.close()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            consumer = None
            try:
                consumer = self.consumer_factory()
                consumer.subscribe(self.topics)
                while not self._stop.is_set():
                    batch = consumer.poll(timeout_ms=500)
                    self.heartbeat = time.monotonic()  # liveness: the loop turns (shared.health)
                    self.healthy = True
                    backoff = 0.5
                    for records in batch.values():
                        self.handle_batch(records)
                    if batch:
                        consumer.commit()
                    self._update_lag(consumer)
            except Exception as exc:
                self.healthy = False
                self.heartbeat = time.monotonic()  # reconnecting is turning too: a broker outage is no stall
                cause = exc.__cause__ if isinstance(exc, TransientEventError) and exc.__cause__ else exc
                if self.metrics:
                    self.metrics.consumer_loop_failures.labels(self.service, type(cause).__name__).inc()
                log.warning("consumer loop failed; reconnecting", extra={"error": type(cause).__name__})
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                if consumer is not None:
                    try:
                        consumer.close(autocommit=False)
                    except Exception:
                        pass

    def _update_lag(self, consumer: KafkaConsumer) -> None:
        if self.metrics is None or time.monotonic() - self._lag_checked < 5:
            return
        self._lag_checked = time.monotonic()
        assigned = list(consumer.assignment())
        if not assigned:
            return
        ends = consumer.end_offsets(assigned)
        self.metrics.consumer_lag.clear()  # partitions revoked in a rebalance stop being reported
        for tp in assigned:
            position = consumer.position(tp)
            self.metrics.consumer_lag.labels(self.service, tp.topic, str(tp.partition)).set(
                max(0, ends.get(tp, position) - position)
            )

    # -- a batch of one partition -----------------------------------------
    def handle_batch(self, records: list[Any]) -> list[str]:
        """Handle a partition's records in one transaction: one commit for the batch, not one per event.

        The batch's event ids are claimed in one statement; events claimed before are
        duplicates. Runs of consecutive events of a ``BatchHandler`` are applied in one
        call each. If any record cannot be parsed or a handler fails, the whole
        transaction is rolled back and every record of the batch goes one by one
        through ``handle_record`` (own transaction, retries, dead letters), in order,
        so a key's events are still applied in order and a failure touches nothing else.
        """
        try:
            parsed = self._parse_batch(records)
            results: list[str] = []
            with self.unit_of_work() as uow:
                ctx = self._context(uow)
                fresh = uow.claim([p[0] for p in parsed if p is not None])
                run: list[tuple[EventData, CloudEvent]] = []
                run_handler: BatchHandler | None = None
                for item in parsed:
                    if item is None:
                        results.append("ignored")
                        continue
                    event, handler, data = item
                    if event.id not in fresh:
                        results.append("duplicate")
                        continue
                    fresh.discard(event.id)  # the same event twice in one batch: the second is a duplicate
                    if isinstance(handler, BatchHandler):
                        if handler is not run_handler and run:
                            run_handler.apply_many(ctx, run)  # type: ignore[union-attr]
                            run = []
                        run_handler = handler
                        run.append((data, event))
                    else:
                        if run:
                            run_handler.apply_many(ctx, run)  # type: ignore[union-attr]
                            run, run_handler = [], None
                        with event_context(event):
                            handler(ctx, data, event)
                    results.append("done")
                if run:
                    run_handler.apply_many(ctx, run)  # type: ignore[union-attr]
                uow.commit()
        except Exception:
            return [self.handle_record(r) for r in records]
        for item, result in zip(parsed, results):
            if item is not None:
                self._count(item[0].type, result)
        return results

    def _parse_batch(self, records: list[Any]) -> list[tuple[CloudEvent, Handler, EventData] | None]:
        """Envelopes and data of a batch; a ``BatchHandler``'s ``parse_many`` validates all its events at once."""
        envelopes = [decode(record) for record in records]
        datas: list[EventData | None] = [None] * len(envelopes)
        many: dict[int, tuple[BatchHandler, list[int]]] = {}
        for i, event in enumerate(envelopes):
            handler = self.handlers.get(event.type)
            if handler is None:
                continue
            if isinstance(handler, BatchHandler) and handler.parse_many is not None:
                many.setdefault(id(handler), (handler, []))[1].append(i)
            else:
                datas[i] = EVENTS[event.type].data.model_validate(event.data)
        for handler, indices in many.values():
            validated = handler.parse_many([envelopes[i] for i in indices])  # type: ignore[misc]
            if len(validated) != len(indices):
                raise ValueError("parse_many returned a different number of events")
            for i, data in zip(indices, validated):
                datas[i] = data
        return [
            None if (handler := self.handlers.get(event.type)) is None else (event, handler, data)  # type: ignore[misc]
            for event, data in zip(envelopes, datas)
        ]

    def _context(self, uow: UnitOfWork[Any]) -> HandlerContext:
        return HandlerContext(uow=uow, settings=self.settings, clock=self.clock)

    # -- one message -------------------------------------------------------
    def handle_record(self, record: Any) -> str:
        """Handle one Kafka record; returns 'done', 'duplicate', 'ignored' or 'dead-lettered'.

        Raises ``TransientEventError`` when the database stayed away through the retries (the record is
        then not dead-lettered and its offset not committed), and whatever the dead-letter producer raises
        when even the DLQ cannot be written (the record comes back)."""
        try:
            event = decode(record)
        except Exception as exc:  # any record with no event of the contract in it is poison
            self._dead_letter(record, exc, None)
            return "dead-lettered"
        handler = self.handlers.get(event.type)
        if handler is None:
            return "ignored"  # a declared type this consumer has no use for
        try:
            data = EVENTS[event.type].data.model_validate(event.data)
        except Exception as exc:
            self._dead_letter(record, exc, event)
            return "dead-lettered"
        attempt = 0
        while True:
            try:
                result = self._apply(handler, event, data)
                self._count(event.type, result)
                return result
            except PermanentEventError as exc:
                self._dead_letter(record, exc, event)
                return "dead-lettered"
            except Exception as exc:
                attempt += 1
                if attempt > self.retries:
                    if self.transient(exc):
                        raise TransientEventError(f"{type(exc).__name__} outlasted {self.retries} retries") from exc
                    log.error(
                        "event failed after retries",
                        extra={"event_id": event.id, "event_type": event.type, "error": type(exc).__name__},
                    )
                    self._dead_letter(record, exc, event)
                    return "dead-lettered"
                time.sleep(self.retry_backoff_s * (2 ** (attempt - 1)))

    def transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the database is away for now (retry later) rather than that the event is bad."""
        if isinstance(exc, PermanentEventError):
            return False
        if isinstance(exc, _TRANSIENT) or getattr(exc, "connection_invalidated", False):
            return True
        try:  # any other error while the database does not answer is blamed on the database
            self.db.ping()
        except Exception:
            return True
        return False

    def _apply(self, handler: Handler, event: CloudEvent, data: EventData) -> str:
        with self.unit_of_work() as uow:
            if not uow.claim([event]):
                return "duplicate"
            with event_context(event):
                handler(self._context(uow), data, event)
            uow.commit()
            return "done"

    def _count(self, event_type: str, result: str) -> None:
        if self.metrics:
            self.metrics.events_consumed.labels(self.service, event_type, result).inc()

    def _dead_letter(self, record: Any, exc: Exception, event: CloudEvent | None) -> None:
        before = _headers(record)
        replayed = record.topic == retry_for(self.service) and "dlq.original.topic" in before
        # a replayed letter keeps the place it first failed at, and counts one attempt more
        origin = (
            (
                before["dlq.original.topic"],
                before.get("dlq.original.partition", ""),
                before.get("dlq.original.offset", ""),
            )
            if replayed
            else (record.topic, str(record.partition), str(record.offset))
        )
        try:
            attempts = int(before.get("dlq.attempts", "0")) + 1 if replayed else 1
        except ValueError:
            attempts = 1
        headers = [
            ("dlq.error.type", type(exc).__name__.encode()),
            ("dlq.error.message", describe(exc).encode()),
            ("dlq.original.topic", origin[0].encode()),
            ("dlq.original.partition", origin[1].encode()),
            ("dlq.original.offset", origin[2].encode()),
            ("dlq.consumer", self.service.encode()),
            ("dlq.attempts", str(attempts).encode()),
        ]
        if event is not None:
            headers += [("dlq.event.id", event.id.encode()), ("dlq.event.type", event.type.encode())]
        # Raises if the broker refuses even a fresh producer: the offset is then not committed and the
        # message comes back.
        self.dlq_producer.send(dlq_for(self.service), key=record.key, value=record.value, headers=headers, timeout=15)
        if self.metrics:
            self.metrics.dlq_messages.labels(self.service).inc()
        self._count(event.type if event else "unparseable", "dead-lettered")
        log.warning(
            "message dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error": type(exc).__name__,
            },
        )
