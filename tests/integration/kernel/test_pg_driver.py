"""Statements sent straight to psycopg (``shared.db.pg_driver``) fail as SQLAlchemy's errors, so the API's
problem handlers (a lock timeout is a 503, not a 500) and the consumer's retry rules see them as any other; and
what they read is in UTC, as the ORM's columns give it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import exc

from shared.db import Database, pg_driver


@pytest.fixture
def db(databases):
    database = Database(databases.new("pgdriver"), pool_size=2)
    yield database
    database.engine.dispose()


def test_a_lock_wait_that_times_out_is_sqlalchemys_operational_error(db):
    with db.new_session() as holder, db.new_session() as waiter:
        pg_driver(holder).execute("CREATE TABLE held (id int PRIMARY KEY)")
        holder.commit()
        pg_driver(holder).execute("INSERT INTO held VALUES (1)")
        holder.commit()
        pg_driver(holder).execute("SELECT id FROM held WHERE id = 1 FOR UPDATE")
        driver = pg_driver(waiter)
        driver.execute("SET LOCAL lock_timeout = '50ms'")
        with pytest.raises(exc.OperationalError) as raised:
            driver.execute("SELECT id FROM held WHERE id = %s FOR UPDATE", (1,))
        assert "LockNotAvailable" in type(raised.value.orig).__name__
        assert "[SQL parameters hidden" in str(raised.value)  # a statement's values never reach a log
        waiter.rollback()  # the session can go on after the aborted transaction
        assert pg_driver(waiter).execute("SELECT 1").fetchone() == (1,)


def test_a_unique_violation_is_sqlalchemys_integrity_error(db):
    with db.new_session() as session:
        driver = pg_driver(session)
        driver.execute("CREATE TEMP TABLE once (id int PRIMARY KEY)")
        driver.execute("INSERT INTO once VALUES (1)")
        with pytest.raises(exc.IntegrityError):
            driver.execute("INSERT INTO once VALUES (%s)", (1,))


def test_a_copy_that_breaks_a_unique_index_or_a_column_type_fails_as_sqlalchemys_error(db):
    with db.new_session() as session:
        pg_driver(session).execute("CREATE TABLE copied (id int PRIMARY KEY)")
        session.commit()
        driver = pg_driver(session)
        with driver.copy("COPY copied (id) FROM STDIN") as copy:
            copy.write_row((1,))
        with pytest.raises(exc.IntegrityError):
            with driver.copy("COPY copied (id) FROM STDIN") as copy:
                copy.write_row((2,))
                copy.write_row((1,))
        session.rollback()
        with pytest.raises(exc.DataError):
            with pg_driver(session).copy("COPY copied (id) FROM STDIN") as copy:
                copy.write_row(("not a number",))


def test_timestamps_read_straight_from_psycopg_are_utc(databases):
    url = databases.new("pgdriverzone")
    admin = Database(url, pool_size=1)
    with admin.new_session() as session:  # a database whose zone is not UTC
        name = pg_driver(session).execute("SELECT current_database()").fetchone()[0]
        pg_driver(session).execute(f"ALTER DATABASE {name} SET TimeZone = 'Asia/Seoul'")
        session.commit()
    admin.engine.dispose()
    db = Database(url, pool_size=1)
    try:
        with db.new_session() as session:
            driver = pg_driver(session)
            assert driver.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
            assert driver.execute("SELECT now()").fetchone()[0].utcoffset() == timedelta(0)
    finally:
        db.engine.dispose()
