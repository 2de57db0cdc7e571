"""The bare references of the HTTP benchmarks: FastAPI endpoints doing the least each job needs.

Run by ``common.reference_processes`` under uvicorn exactly as a service runs (same server, same number of
processes, sync endpoints in the same thread pool), against a database migrated by the service itself, so
the tables, indexes and constraints are the service's. Each endpoint borrows a pooled psycopg connection and
issues only the statements its job truly needs, written out below; no idempotency keys, no ORM, no domain
objects. The gap between a service and its reference is what the service's own code costs.

What the job truly needs is done here too, in its cheapest form: the bearer token is verified (the same HS256
JWT, with PyJWT as the services verify it), the caller's campuses are checked against the record's, and the
domain's rules are checked in plain Python on columns the one read brings back (a check-in: the roster entry,
the cohort still open, the reading inside the session's window; a claim: the window's dates, the qualification
linked to the programme, the exam not in the future nor past the deadline, the live attempts already claimed;
a reused receipt or exam is refused by the table's unique indexes).

    BENCH_REF_DATABASE_URL  the database (postgresql://...)
    BENCH_REF_POOL          connections in the pool (default 10, the services' pool size)
    BENCH_REF_JWT_SECRET    the HS256 secret of the tokens (default: the local one the services use)
"""

from __future__ import annotations

import calendar
import json
import os
import queue
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import jwt
import psycopg
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel

from shared.settings import LOCAL_JWT_SECRET

ENROLLED = "kr.go.trainingops.enrollment.trainee.enrolled.v1"  # only the outbox row's label; not parsed here


class Pool:
    """A fixed pool of psycopg connections, each opened on first use (psycopg_pool is not a dependency)."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.slots = url, queue.LifoQueue()
        for _ in range(size):
            self.slots.put(None)  # a slot whose connection is not open yet

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        conn = self.slots.get()
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self.url)
            except BaseException:
                self.slots.put(None)
                raise
        try:
            with conn.transaction():
                yield conn
        finally:
            self.slots.put(conn)


class CheckIn(BaseModel):
    trainee_id: uuid.UUID
    kind: str = "in"
    method: str = "card"
    at: datetime


class ClaimIn(BaseModel):
    trainee_id: uuid.UUID
    qualification_code: str
    stage: str
    exam_date: date
    amount_paid: int
    receipt_number: str
    admission_slip_number: str


# -- enrollment: accept a seat ---------------------------------------------------------------------
# Lock the cohort row, count its seats taken, insert the enrollment, insert the outbox row.
LOCK_COHORT = (
    "SELECT c.id, c.capacity, c.campus, a.applicant_id, c.sessions::text FROM application a "
    "JOIN cohort c ON c.id = a.cohort_id WHERE a.id = %s FOR UPDATE OF c"
)
COUNT_SEATS = "SELECT count(*) FROM enrollment WHERE cohort_id = %s AND status = 'enrolled'"
INSERT_ENROLLMENT = (
    "INSERT INTO enrollment (id, application_id, applicant_id, cohort_id, campus, status, enrolled_on, "
    "withdrawn_before_start, updated_at) VALUES (%s, %s, %s, %s, %s, 'enrolled', %s, false, %s)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox (event_id, event_type, topic, message_key, payload, created_at) VALUES (%s, %s, %s, %s, %s, %s)"
)

# -- attendance: one check-in ------------------------------------------------------------------------
# Read the session, its cohort and the trainee's roster entry in one statement; insert the mark, or add the
# punch to the mark already there.
CHECK_IN_TARGET = (
    'SELECT ts.cohort_id, ts.date, ts.start, ts."end", c.closed_at, c.campus, r.status, r.withdrawn_on '
    "FROM training_session ts "
    "JOIN cohort c ON c.id = ts.cohort_id "
    "LEFT JOIN roster_entry r ON r.cohort_id = ts.cohort_id AND r.trainee_id = %s WHERE ts.id = %s"
)
UPSERT_MARK = (
    "INSERT INTO mark (id, session_id, cohort_id, trainee_id, mark, source, punches, check_in_at, updated_by, "
    "updated_at) VALUES (%s, %s, %s, %s, %s, 'punches', %s, %s, 'reference', %s) "
    "ON CONFLICT (session_id, trainee_id) DO UPDATE SET punches = (mark.punches::jsonb || "
    "EXCLUDED.punches::jsonb)::json, updated_at = EXCLUDED.updated_at"
)

# -- certification: submit a claim -------------------------------------------------------------------
# Read the trainee's claim window and the qualification's fee in one statement; insert the claim (the
# table's unique indexes refuse a second claim of the same exam or receipt).
# The one read also brings the window's dates and the count of the trainee's live claims of the same
# qualification and stage (the attempts rule); a claim of the same exam or receipt is refused by the indexes.
CLAIM_TARGET = (
    "SELECT w.cohort_id, w.campus, q.written_fee, w.start_date, w.status, w.completion_date, w.closed_on, "
    "w.qualification_codes::text, (SELECT count(*) FROM claim p WHERE p.trainee_id = w.trainee_id AND "
    "p.qualification_code = q.code AND p.stage = %s AND p.status <> 'rejected') "
    "FROM claim_window w JOIN qualification q ON q.code = %s WHERE w.trainee_id = %s LIMIT 1"
)
CHECK_IN_OPENS = CHECK_IN_CLOSES = timedelta(minutes=30)  # the domain's defaults
CLAIM_DEADLINE_DAYS, CLAIM_MAX_ATTEMPTS, WINDOW_MONTHS = 30, 3, 12  # the domain's defaults
INSERT_CLAIM = (
    "INSERT INTO claim (id, trainee_id, cohort_id, campus, qualification_code, stage, exam_date, amount_paid, "
    "standard_fee, amount, receipt_number, receipt_key, admission_slip_number, status, reasons, submitted_by, "
    "submitted_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'submitted', '[]', "
    "'reference', %s, %s)"
)


SECRET = os.environ.get("BENCH_REF_JWT_SECRET", LOCAL_JWT_SECRET)
LOCAL = ZoneInfo("Asia/Seoul")  # the centre's timezone, as the services' settings have it


def _months_after(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def campuses(authorization: Annotated[str, Header()] = "") -> set[str]:
    """Verify the bearer token as the services do (signature, expiry, sub); the campuses it grants."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401)
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["sub", "exp"], "verify_aud": False}
        )
    except jwt.PyJWTError:
        raise HTTPException(401) from None
    return set(claims.get("campuses") or ())


Campuses = Annotated[set[str], Depends(campuses)]


def create_app() -> FastAPI:
    pool = Pool(os.environ["BENCH_REF_DATABASE_URL"], int(os.environ.get("BENCH_REF_POOL", "10")))
    app = FastAPI()

    @app.post("/enrollment/accept/{application_id}")
    def accept(application_id: uuid.UUID) -> dict:
        now = datetime.now(UTC)
        enrollment_id, event_id = uuid.uuid4(), str(uuid.uuid4())
        with pool.transaction() as conn:
            found = conn.execute(LOCK_COHORT, (application_id,)).fetchone()
            if found is None:
                raise HTTPException(404)
            cohort_id, capacity, campus, applicant_id, sessions = found
            if conn.execute(COUNT_SEATS, (cohort_id,)).fetchone()[0] >= capacity:
                raise HTTPException(409)
            conn.execute(
                INSERT_ENROLLMENT, (enrollment_id, application_id, applicant_id, cohort_id, campus, now.date(), now)
            )
            payload = (
                '{"id": "%s", "type": "%s", "time": "%s", "data": {"trainee_id": "%s", "enrollment_id": '  # noqa: UP031 (the bare reference builds its JSON the cheapest way)
                '"%s", "cohort_id": "%s", "campus": "%s", "sessions": %s}}'
                % (event_id, ENROLLED, now.isoformat(), applicant_id, enrollment_id, cohort_id, campus, sessions)
            )
            conn.execute(
                INSERT_OUTBOX, (event_id, ENROLLED, "trainingops.enrollment.events", str(applicant_id), payload, now)
            )
        return {"id": str(application_id), "status": "accepted", "enrollment_id": str(enrollment_id)}

    @app.post("/attendance/sessions/{session_id}/check-ins")
    def check_in(session_id: uuid.UUID, body: CheckIn, allowed: Campuses) -> dict:
        now = datetime.now(UTC)
        with pool.transaction() as conn:
            found = conn.execute(CHECK_IN_TARGET, (body.trainee_id, session_id)).fetchone()
            if found is None or ("*" not in allowed and found[5] not in allowed):
                raise HTTPException(404)
            cohort_id, day, start, end, closed_at, _, status, withdrawn_on = found
            at = body.at.astimezone(LOCAL).replace(tzinfo=None)  # the centre's wall clock
            if (
                status is None
                or closed_at is not None
                or (withdrawn_on is not None and day >= withdrawn_on)
                or not (
                    datetime.combine(day, start) - CHECK_IN_OPENS <= at <= datetime.combine(day, end) + CHECK_IN_CLOSES
                )
            ):
                raise HTTPException(422)
            mark = "present" if at.time() <= start else "late"
            punches = json.dumps([{"kind": body.kind, "at": body.at.isoformat(), "method": body.method}])
            conn.execute(
                UPSERT_MARK, (uuid.uuid4(), session_id, cohort_id, body.trainee_id, mark, punches, body.at, now)
            )
        return {"session_id": str(session_id), "trainee_id": str(body.trainee_id), "mark": mark}

    @app.post("/certification/claims", status_code=201)
    def claim(body: ClaimIn, allowed: Campuses) -> dict:
        now = datetime.now(UTC)
        today = now.astimezone(LOCAL).date()
        claim_id = uuid.uuid4()
        with pool.transaction() as conn:
            found = conn.execute(CLAIM_TARGET, (body.stage, body.qualification_code, body.trainee_id)).fetchone()
            if found is None or ("*" not in allowed and found[1] not in allowed):
                raise HTTPException(404)
            cohort_id, campus, fee, start_date, status, completed_on, closed_on, codes, attempts = found
            last = (
                _months_after(completed_on, WINDOW_MONTHS)
                if status == "completed" and completed_on
                else closed_on
                if status in ("withdrawn", "not_completed")
                else None
            )
            if (
                fee is None
                or body.qualification_code not in json.loads(codes)
                or (start_date is not None and body.exam_date < start_date)
                or (last is not None and body.exam_date > last)
                or body.exam_date > today
                or today > body.exam_date + timedelta(days=CLAIM_DEADLINE_DAYS)
                or attempts >= CLAIM_MAX_ATTEMPTS
            ):
                raise HTTPException(422)
            amount = min(fee, body.amount_paid)
            receipt = body.receipt_number.strip().upper()
            try:
                conn.execute(
                    INSERT_CLAIM,
                    (
                        claim_id,
                        body.trainee_id,
                        cohort_id,
                        campus,
                        body.qualification_code,
                        body.stage,
                        body.exam_date,
                        body.amount_paid,
                        fee,
                        amount,
                        body.receipt_number,
                        receipt,
                        body.admission_slip_number,
                        now,
                        now,
                    ),
                )
            except psycopg.errors.UniqueViolation:
                raise HTTPException(409) from None
        return {"id": str(claim_id), "status": "submitted", "amount": amount}

    return app
