"""Database engine, sessions and the per-service declarative base.

Each service declares its tables on its own base (``service_base()``) so the four
services' tables never share one metadata, even when tests load all of them in one
process. The kernel's own tables (outbox, processed events, idempotency keys) live in
``KERNEL_METADATA`` and are part of every service's schema.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy import JSON, MetaData, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import registry, sessionmaker
from sqlmodel import Session, SQLModel, create_engine

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

KERNEL_METADATA = MetaData(naming_convention=NAMING)


def service_base() -> type[SQLModel]:
    """A fresh SQLModel base with its own registry and metadata, one per service."""

    class Base(SQLModel, registry=registry(metadata=MetaData(naming_convention=NAMING))):
        pass

    return Base


def utcnow() -> datetime:
    return datetime.now(UTC)


_EXPANDING_IN = re.compile(r"IN \(__\[POSTCOMPILE_(\w+)\]\)")


@dataclass(frozen=True)
class _DriverStatement:
    sql: str  # PostgreSQL text with named %(name)s values
    defaults: dict[str, Any]  # the values written into the statement itself (a literal IN list)
    json: frozenset[str]  # the values bound to JSON, which psycopg takes as text


_DRIVER_STATEMENTS: dict[tuple[int, frozenset[str]], tuple[Any, _DriverStatement]] = {}


def _driver_statement(statement: Any, keys: frozenset[str]) -> _DriverStatement:
    """``statement`` compiled once for psycopg, for these value names (an INSERT names only the columns given).
    An ``IN`` list, whose length SQLAlchemy renders anew for each call, becomes ``= ANY(array)``: one text for
    any list (an empty list matches nothing, as ``IN`` does)."""
    cache_key = (id(statement), keys)
    found = _DRIVER_STATEMENTS.get(cache_key)
    if found is None or found[0] is not statement:
        from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

        compiled = statement.compile(dialect=PGDialect_psycopg(), column_keys=list(keys))  # type: ignore[no-untyped-call]
        compiled_statement = _DriverStatement(
            _EXPANDING_IN.sub(r"= ANY(%(\1)s)", str(compiled)),
            {k: v for k, v in compiled.params.items() if v is not None and k not in keys},
            frozenset(name for name, bind in compiled.binds.items() if isinstance(bind.type, JSON)),
        )
        found = _DRIVER_STATEMENTS[cache_key] = (statement, compiled_statement)
    return found[1]


def fast_execute(session: Session, statement: Any, params: dict[str, Any]) -> Any:
    """One statement of a hot path (an outbox row, an idempotency key, a seat, a claim, a check-in), with its
    values by name.
    Elsewhere through the session; on PostgreSQL straight to the psycopg connection of the session's transaction
    (``PgDriver``), the statement compiled once: a plain psycopg statement costs the process half the CPU of the
    same statement through SQLAlchemy's execution context (about 80 against 175 us here). The result is read
    alike (``fetchone``, ``rowcount``, iteration; rows as tuples). For tables the ORM has nothing pending for:
    nothing is flushed first. Timestamps come back in UTC, the connections' zone (see ``make_engine``)."""
    driver = pg_driver(session)
    if driver is None:
        return session.execute(statement, params)
    compiled = _driver_statement(statement, frozenset(params))
    values = {**compiled.defaults, **params} if compiled.defaults else dict(params)
    for name in compiled.json.intersection(values):
        values[name] = json.dumps(values[name])
    return driver.execute(compiled.sql, values)


class PgDriver:
    """The psycopg connection of a session's transaction. Its errors come out as SQLAlchemy's (a deadlock or a
    lost server as ``OperationalError``, a unique violation as ``IntegrityError``, ...), as they would through a
    session, so the API's problem handlers and the consumer's retry rules treat them alike; a lost connection
    is invalidated as SQLAlchemy would."""

    __slots__ = ("_connection", "_driver")

    def __init__(self, connection: Any) -> None:
        self._connection = connection  # SQLAlchemy's Connection
        self._driver = connection.connection.driver_connection

    def execute(self, sql: str, params: Any = None) -> Any:
        try:
            return self._driver.execute(sql, params)
        except psycopg.Error as exc:
            raise self._translated(sql, params, exc) from exc

    @contextmanager
    def copy(self, sql: str) -> Iterator[psycopg.Copy]:
        """``COPY ... FROM STDIN``: yields psycopg's ``Copy`` (``write_row``); its errors translated alike."""
        try:
            with self._driver.cursor() as cursor, cursor.copy(sql) as copy:
                yield copy
        except psycopg.Error as exc:
            raise self._translated(sql, None, exc) from exc

    def _translated(self, sql: str, params: Any, exc: psycopg.Error) -> StatementError:
        dialect = self._connection.dialect
        lost = dialect.is_disconnect(exc, self._driver, None)
        if lost:
            self._connection.invalidate(exc)
        return DBAPIError.instance(
            sql, params, exc, psycopg.Error, hide_parameters=True, connection_invalidated=lost, dialect=dialect
        )


def pg_driver(session: Session) -> PgDriver | None:
    """On PostgreSQL, the psycopg connection of the session's transaction (see ``PgDriver``), else None."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return PgDriver(session.connection())


_DIALECT_INSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def insert_for(session: Session) -> Any:
    """The dialect's INSERT (PostgreSQL or SQLite), which has ON CONFLICT DO NOTHING."""
    return _DIALECT_INSERTS[session.get_bind().dialect.name]


def per_dialect(build: Callable[[Any], Any]) -> dict[str, Any]:
    """A statement built once for each dialect from that dialect's INSERT: pick it with ``[dialect name]``."""
    return {name: build(insert) for name, insert in _DIALECT_INSERTS.items()}


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """The engine of a service's database. Statement parameters are names, birth dates and phone numbers:
    ``hide_parameters`` keeps them out of every database error's text, hence out of every log."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself, so every transaction is BEGIN IMMEDIATE:
            # writers are serialised and a read-check-write (seats, payments) cannot race.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping (a round trip per checkout); stale connections are recycled instead. The connections speak
    # UTC whatever the server's zone: what is read straight through psycopg (``fast_execute``) is then UTC, as the
    # ORM's UTCDateTime columns give it.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        hide_parameters=True,
        connect_args={"options": "-c TimeZone=UTC"},
    )


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size, max_overflow=max_overflow)
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def new_session(self) -> Session:
        return self._sessions()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: the caller commits; anything uncommitted is rolled back on exit."""
        session = self._sessions()
        try:
            yield session
        finally:
            _end(session)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _end(session: Session) -> None:
    session.rollback()
    session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work, opened on the event loop: a session takes its connection only when first
    used, and a thread hop costs more than a short query. ``ReleasingRoute`` gives the connection back."""
    session = request.app.state.db.new_session()
    try:
        yield session
    finally:
        session.close()  # no I/O left: the endpoint's thread has already closed it


def _releasing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    def call(kwargs: dict[str, Any]) -> Any:
        try:
            return endpoint(**kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    # Rolls back what was not committed and returns the connection; loaded objects stay readable.
                    value.close()

    @functools.wraps(endpoint)
    async def run(**kwargs: Any) -> Any:
        return await run_in_threadpool(call, kwargs)

    return run


class ReleasingRoute(APIRoute):
    """A route whose sync endpoint makes one trip to the thread pool and gives its connection back there.

    FastAPI runs a plain ``def`` endpoint in the thread pool, then validates its response in a second trip
    to the pool, and ends its dependencies only after that. Each trip costs more than a short query, and a
    connection held across the second one lets the requests queued behind it take every connection of the
    pool and wait for one more, while the trip waits for their threads. Here the endpoint runs in the pool
    as one call that closes its session before returning; the response is validated on the event loop."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _releasing(endpoint)
        super().__init__(path, endpoint, **kwargs)


SessionDep = Annotated[Session, Depends(get_session)]
