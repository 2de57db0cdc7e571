"""Marks as the readings write them, on PostgreSQL and on SQLite (the local default).

A bulk request's new marks (``add_marks``: COPY on PostgreSQL, the database making their ids) land each value in
its column; a first mark another request wrote meanwhile is a ``FirstMarkRace`` (the batch starts again) and any
other fault is not mistaken for one. A single reading reads its session, cohort and roster facts as plain values
(``check_in_target``), writes a first mark only if there is none (``add_first_mark``) and adds punches to the
mark there is (``mark_to_punch``, ``save_punches``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from services.attendance.adapters.orm import Cohort, RosterEntry, TrainingSession
from services.attendance.adapters.repository import AttendanceRepository, FirstMarkRace, NewMark, PunchedMark
from shared.db import Database
from shared.migrations import upgrade

SEOUL = ZoneInfo("Asia/Seoul")
DAY = date(2026, 11, 30)


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request, tmp_path):
    url = (
        request.getfixturevalue("databases").new("markwrites")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path}/marks.db"
    )
    upgrade("attendance", url)
    database = Database(url, pool_size=2)
    yield database
    database.dispose()


@pytest.fixture
def session_ids(db):
    cohort_id, session_id = uuid.uuid4(), uuid.uuid4()
    with db.new_session() as s:
        s.add(Cohort(id=cohort_id, campus="c", programme_code="P", start_date=DAY, end_date=DAY))
        s.flush()
        s.add(TrainingSession(id=session_id, cohort_id=cohort_id, date=DAY, start=time(9), end=time(18), hours=8))
        s.commit()
    return session_id, cohort_id


def arrival(trainee: uuid.UUID) -> NewMark:
    at = datetime(2026, 11, 30, 8, 58, tzinfo=SEOUL)
    return NewMark(trainee, "present", [{"kind": "in", "at": "2026-11-30T08:58:00", "method": "card"}], at, None)


def test_copied_marks_get_ids_from_the_database_and_each_value_its_column(db, session_ids):
    session_id, cohort_id = session_ids
    stamp = datetime(2026, 11, 30, 0, 1, 2, 345678, tzinfo=UTC)
    trainees = [uuid.uuid4(), uuid.uuid4()]
    with db.new_session() as s:
        AttendanceRepository(s).add_marks(session_id, cohort_id, "instructor-1", stamp, iter(map(arrival, trainees)))
        s.commit()
    with db.new_session() as s:
        rows = AttendanceRepository(s).marks_of_session(session_id)
    assert set(rows) == set(trainees)
    mark = rows[trainees[0]]
    assert mark.id is not None and mark.id != rows[trainees[1]].id
    assert (mark.cohort_id, mark.mark, mark.source, mark.updated_by) == (
        cohort_id,
        "present",
        "punches",
        "instructor-1",
    )
    assert mark.punches == [{"kind": "in", "at": "2026-11-30T08:58:00", "method": "card"}]
    assert mark.check_in_at == datetime(2026, 11, 29, 23, 58, tzinfo=UTC) and mark.check_out_at is None
    assert mark.updated_at == stamp


def test_a_first_mark_written_meanwhile_is_a_race_and_nothing_of_the_batch_stays(db, session_ids):
    session_id, cohort_id = session_ids
    first, other = uuid.uuid4(), uuid.uuid4()
    with db.new_session() as s:
        AttendanceRepository(s).add_marks(session_id, cohort_id, "kiosk-1", datetime.now(UTC), [arrival(first)])
        s.commit()
    with db.new_session() as s:
        with pytest.raises(FirstMarkRace):
            AttendanceRepository(s).add_marks(
                session_id, cohort_id, "kiosk-2", datetime.now(UTC), [arrival(other), arrival(first)]
            )
        s.rollback()
        assert set(AttendanceRepository(s).marks_of_session(session_id)) == {first}


def test_another_fault_of_the_copy_is_not_taken_for_a_race(db, session_ids):
    _, cohort_id = session_ids
    no_such_session = uuid.uuid4()
    with db.new_session() as s:
        with pytest.raises(IntegrityError):  # the foreign key refuses it; a FirstMarkRace would be retried
            AttendanceRepository(s).add_marks(
                no_such_session, cohort_id, "kiosk-1", datetime.now(UTC), [arrival(uuid.uuid4())]
            )


def test_a_single_reading_reads_plain_values_writes_a_first_mark_once_and_adds_punches(db, session_ids):
    session_id, cohort_id = session_ids
    trainee, stranger = uuid.uuid4(), uuid.uuid4()
    with db.new_session() as s:
        s.add(RosterEntry(cohort_id=cohort_id, trainee_id=trainee, campus="c", enrolled_on=DAY))
        s.commit()
    stamp = datetime(2026, 11, 30, 0, 1, tzinfo=UTC)
    first = PunchedMark(
        id=uuid.uuid4(),
        session_id=session_id,
        cohort_id=cohort_id,
        trainee_id=trainee,
        mark="present",
        source="punches",
        punches=[{"kind": "in", "at": "2026-11-30T08:58:00", "method": "card"}],
        check_in_at=datetime(2026, 11, 30, 8, 58, tzinfo=SEOUL),
        check_out_at=None,
        reason_code=None,
        evidence_ref=None,
        updated_by="instructor-1",
        updated_at=stamp,
    )
    with db.new_session() as s:
        repo = AttendanceRepository(s)
        target = repo.check_in_target(session_id, trainee)
        assert target is not None and target.gate is not None
        assert (target.session.id, target.session.date, target.session.start, target.session.hours) == (
            session_id,
            DAY,
            time(9),
            8,
        )
        assert (target.cohort.id, target.cohort.campus, target.cohort.closed_at) == (cohort_id, "c", None)
        assert (target.gate.enrolled_on, target.gate.withdrawn_on, target.gate.at_risk) == (DAY, None, False)
        assert repo.check_in_target(session_id, stranger).gate is None  # not on the roster
        assert repo.check_in_target(uuid.uuid4(), trainee) is None  # no such session
        assert repo.mark_to_punch(session_id, trainee) is None
        assert repo.add_first_mark(first)
        assert not repo.add_first_mark(first)  # a second first mark is not written
        s.commit()
    with db.new_session() as s:
        repo = AttendanceRepository(s)
        repo.check_in_target(session_id, trainee)
        stored = repo.mark_to_punch(session_id, trainee)
        assert stored == first
        stored.punches = [*stored.punches, {"kind": "out", "at": "2026-11-30T18:02:00", "method": "card"}]
        stored.check_out_at = datetime(2026, 11, 30, 18, 2, tzinfo=SEOUL)
        repo.save_punches(stored)
        s.commit()
    with db.new_session() as s:
        again = AttendanceRepository(s).mark_to_punch(session_id, trainee)
        assert again == stored and len(again.punches) == 2
