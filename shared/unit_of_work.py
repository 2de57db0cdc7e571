"""The unit of work: one transaction, the service's repository, the events it emits and the ones it claims.

A use case called over HTTP opens it and commits (the view only passes it on; ``UnitOfWorkDep``)::

    def submit(uow: UnitOfWork[Repository], clock: Clock, ...) -> ClaimOut:
        with uow:
            if (stored := uow.replay(idem, ClaimOut)):   # an idempotency key used before: its first answer
                return stored
            ...                                          # load through uow.repo, ask the domain, save
            uow.emit(events.CLAIM_SUBMITTED, data)       # the outbox row, in this same transaction
            uow.remember(idem, out)                      # the answer a retry with the same key gets
            uow.commit()
            return out

The consumer opens one per batch of records (or per record when a batch is replayed one by one)::

    with uow:                          # shared.consumer.EventConsumer
        fresh = uow.claim(events)      # the processed-event ids, in this transaction
        handler(ctx, data, event)      # ctx.uow.repo: the service's repository (or, until it has one, the session)
        uow.commit()                   # the handlers' rows, their outbox events and the claims commit together

Handlers never commit. Leaving the block without ``commit()`` rolls everything back. A service's
``ServiceSpec.repository`` is built on each unit of work's session. Nothing but a unit of work commits.
Use-case tests pass ``tests.fakes.FakeUnitOfWork`` with an in-memory repository instead.
"""

from __future__ import annotations

import abc
import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from shared import outbox
from shared.clock import Clock
from shared.db import Database, insert_for, utcnow
from shared.events import CloudEvent, EventData
from shared.idempotency import Idempotency
from shared.tables import processed_event

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


class UnitOfWork(abc.ABC, Generic[R]):
    repo: R

    def __enter__(self) -> UnitOfWork[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def claim(self, events: list[CloudEvent]) -> set[str]:
        """Record the events' ids as processed in this transaction; the ids not processed before."""

    @abc.abstractmethod
    def emit(self, event_type: str, data: EventData | dict[str, Any]) -> str:
        """Put an event in this transaction's outbox; returns its id. It is sent only if the work commits."""

    def emit_many(self, items: Iterable[tuple[str, EventData | dict[str, Any]]]) -> None:
        """Put many events in the outbox, in order."""
        for event_type, data in items:
            self.emit(event_type, data)

    def emit_many_alongside(
        self, items: Iterable[tuple[str, EventData | dict[str, Any]]], work: Callable[[], None]
    ) -> None:
        """Do ``work`` (the use case's bulk write) and put the events in the outbox, in this transaction. The
        database unit of work builds the events on a worker thread while ``work`` waits on the server."""
        work()
        self.emit_many(items)

    @abc.abstractmethod
    def replay(self, idem: Idempotency | None, model: type[M]) -> M | None:
        """Claim the idempotency key in this transaction: ``None`` on its first use (do the work), else the
        answer stored by the first use. A 422 problem if the key came with another body, 409 if in flight."""

    @abc.abstractmethod
    def remember(self, idem: Idempotency | None, response: BaseModel, status_code: int = 200) -> None:
        """Store the answer for the key claimed by ``replay``, in this transaction (no key: nothing)."""


# On PostgreSQL a batch's ids go as one array parameter: one statement, compiled and prepared once, whatever
# the batch size (a multi-row VALUES is compiled anew for every size and costs more than the handlers).
_CLAIM_PG = text(
    "INSERT INTO processed_event (event_id, event_type, processed_at) "
    "SELECT unnest(CAST(:ids AS varchar[])), unnest(CAST(:types AS varchar[])), CAST(:now AS timestamptz) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def claim_events(session: Session, batch: list[CloudEvent]) -> set[str]:
    """Record the events' ids in one statement; returns the ids not processed before."""
    if not batch:
        return set()
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        return set(
            session.execute(
                _CLAIM_PG, dict(ids=[e.id for e in batch], types=[e.type for e in batch], now=now)
            ).scalars()
        )
    statement = (
        insert_for(session)(processed_event)
        .values([dict(event_id=e.id, event_type=e.type, processed_at=now) for e in batch])
        .on_conflict_do_nothing()
        .returning(processed_event.c.event_id)
    )
    return set(session.execute(statement).scalars())


class SqlUnitOfWork(UnitOfWork[R]):
    """A database transaction: ``repo`` is built on its session when the block opens."""

    def __init__(self, db: Database, repository: Callable[[Session], R]) -> None:
        self.db = db
        self._repository = repository
        self.session: Session | None = None

    def __enter__(self) -> SqlUnitOfWork[R]:
        if self.session is not None:
            raise RuntimeError("the unit of work is already open: a use case opens it once")
        self.session = self.db.new_session()
        self.repo = self._repository(self.session)
        return self

    def __exit__(self, *exc: object) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.rollback()  # nothing if committed; everything otherwise
            session.close()

    def _open(self) -> Session:
        if self.session is None:
            raise RuntimeError("the unit of work is used outside its 'with' block")
        return self.session

    def commit(self) -> None:
        self._open().commit()

    def rollback(self) -> None:
        self._open().rollback()

    def claim(self, events: list[CloudEvent]) -> set[str]:
        return claim_events(self._open(), events)

    def emit(self, event_type: str, data: EventData | dict[str, Any]) -> str:
        return outbox.emit(self._open(), event_type, data)

    def emit_many(self, items: Iterable[tuple[str, EventData | dict[str, Any]]]) -> None:
        outbox.emit_many(self._open(), items)

    def emit_many_alongside(
        self, items: Iterable[tuple[str, EventData | dict[str, Any]]], work: Callable[[], None]
    ) -> None:
        # For thousands of events the payloads cost as much Python as the server takes for the bulk write:
        # they are built meanwhile (the driver lets go of the GIL while it waits), in the caller's context
        # (its correlation id goes into each event).
        session = self._open()
        with ThreadPoolExecutor(1, thread_name_prefix="outbox-rows") as pool:
            rows = pool.submit(contextvars.copy_context().run, outbox.outbox_rows, items)
            work()
            outbox.emit_rows(session, rows.result())

    def replay(self, idem: Idempotency | None, model: type[M]) -> M | None:
        return idem.replay(self._open(), model) if idem else None

    def remember(self, idem: Idempotency | None, response: BaseModel, status_code: int = 200) -> None:
        if idem:
            idem.save(self._open(), response, status_code)


# -- for the HTTP entrypoints ---------------------------------------------------------------------
async def get_unit_of_work(request: Request) -> UnitOfWork[Any]:
    """A new, unopened unit of work for the request's use case (which opens, commits and closes it)."""
    return request.app.state.unit_of_work()  # type: ignore[no-any-return]


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


UnitOfWorkDep = Annotated[UnitOfWork[Any], Depends(get_unit_of_work)]
ClockDep = Annotated[Clock, Depends(get_clock)]
