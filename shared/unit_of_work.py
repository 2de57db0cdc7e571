"""The unit of work: one transaction, the service's repository, the events it emits and claims.

The entrypoints open it and the service layer works inside it::

    with uow:                      # an HTTP route (``shared.db.ReleasingRoute``) or the consumer
        result = use_case(uow, ...) # load through uow.repo, ask the domain, save, uow.emit(...)
        uow.commit()               # rows, outbox events and processed-event claims commit together

Nothing else commits: a use case never does, so the same function serves a request and an
event. Leaving the block without ``commit()`` rolls everything back, events included. Each
service's ``adapters/unit_of_work.py`` binds ``SqlUnitOfWork`` to its repository; its use-case
tests bind ``tests.unit.fakes.FakeUnitOfWork`` to an in-memory one.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from shared import outbox
from shared.db import Database, insert_for, utcnow
from shared.events import CloudEvent, EventData
from shared.tables import processed_event

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


class UnitOfWork(abc.ABC, Generic[R]):
    """What a use case may do with storage: read and write through ``repo``, emit events, claim event ids
    and idempotency keys. Implementations: ``SqlUnitOfWork`` and the tests' fake."""

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
    def emit(self, event_type: str, data: EventData | dict) -> str:
        """Add an event to this transaction's outbox; returns its id."""

    def emit_many(self, items: Iterable[tuple[str, EventData | dict]]) -> None:
        """Many events, in order (one statement on PostgreSQL for large runs)."""
        for event_type, data in items:
            self.emit(event_type, data)

    def emit_rows(self, rows: list[dict]) -> None:
        """Events already turned into outbox rows by ``shared.outbox.outbox_rows`` (possibly on another
        thread while this transaction wrote), in order."""
        raise NotImplementedError

    @abc.abstractmethod
    def claim(self, events: list[CloudEvent]) -> set[str]:
        """Record the events' ids as processed in this transaction; the ids not processed before."""

    @abc.abstractmethod
    def replay(self, idem: Any, model: type[M]) -> M | None:
        """Claim an idempotency key in this transaction: the stored response of an earlier use, or None."""

    @abc.abstractmethod
    def remember(self, idem: Any, response: BaseModel, status_code: int = 200) -> None:
        """Store the response of a claimed idempotency key, committed with the work."""

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part that may fail on its own (one row of an import) without ending the transaction."""
        yield


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
        return set(session.execute(_CLAIM_PG, dict(ids=[e.id for e in batch], types=[e.type for e in batch],
                                                   now=now)).scalars())
    statement = insert_for(session)(processed_event).values(
        [dict(event_id=e.id, event_type=e.type, processed_at=now) for e in batch]
    ).on_conflict_do_nothing().returning(processed_event.c.event_id)
    return set(session.execute(statement).scalars())


class SqlUnitOfWork(UnitOfWork[R]):
    """A database transaction: ``repo`` is built on its session when the block opens."""

    def __init__(self, db: Database, repository: Callable[[Session], R]) -> None:
        self.db = db
        self._repository = repository
        self.session: Session | None = None

    def __enter__(self) -> SqlUnitOfWork[R]:
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

    def emit(self, event_type: str, data: EventData | dict) -> str:
        return outbox.emit(self._open(), event_type, data)

    def emit_many(self, items: Iterable[tuple[str, EventData | dict]]) -> None:
        outbox.emit_many(self._open(), items)

    def emit_rows(self, rows: list[dict]) -> None:
        outbox.emit_rows(self._open(), rows)

    def claim(self, events: list[CloudEvent]) -> set[str]:
        return claim_events(self._open(), events)

    def replay(self, idem: Any, model: type[M]) -> M | None:
        return idem.replay(self._open(), model)

    def remember(self, idem: Any, response: BaseModel, status_code: int = 200) -> None:
        idem.save(self._open(), response, status_code)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self._open().begin_nested():
            yield


async def _request_unit_of_work(request: Request) -> UnitOfWork[Any]:
    """The request's unit of work, not yet open: ``shared.db.ReleasingRoute`` opens it around the endpoint on
    the endpoint's thread and commits it when the endpoint returns."""
    return request.app.state.unit_of_work()


UowDep = Annotated[UnitOfWork[Any], Depends(_request_unit_of_work)]
