"""The unit of work: one transaction, the service's repository, and the events it claims.

The consumer opens one per batch of records (or per record when a batch is replayed one by one)::

    with uow:                          # shared.consumer.EventConsumer
        fresh = uow.claim(events)      # the processed-event ids, in this transaction
        handler(ctx, data, event)      # ctx.uow.repo: the service's repository (or, until it has one, the session)
        uow.commit()                   # the handlers' rows, their outbox events and the claims commit together

Handlers never commit. Leaving the block without ``commit()`` rolls everything back. A service's
``ServiceSpec.repository`` is built on each unit of work's session.
"""
from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import text
from sqlmodel import Session

from shared.db import Database, insert_for, utcnow
from shared.events import CloudEvent
from shared.tables import processed_event

R = TypeVar("R")


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

    def claim(self, events: list[CloudEvent]) -> set[str]:
        return claim_events(self._open(), events)
