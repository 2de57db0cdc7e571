"""The bare references of the HTTP benchmarks: FastAPI endpoints doing the least each job needs.

Run by ``common.reference_processes`` under uvicorn exactly as a service runs (same server, same number of
processes, sync endpoints in the same thread pool), against a database migrated by the service itself, so
the tables, indexes and constraints are the service's. Each endpoint borrows a pooled psycopg connection and
issues only the statements its job truly needs, written out below; no ORM, no domain objects. The gap between
a service and its reference is what the service's own code costs.

What the job truly needs is done here too, in its cheapest form: the bearer token is verified (the same HS256
JWT, with PyJWT as the services verify it, remembered until it expires as theirs are), the caller's role and
campuses are checked against the record's, the Idempotency-Key is claimed and answered where the service takes
one, and the domain's rules are checked in plain Python on columns the reads bring back (an accept: the offer
still selected, the late-join limit, the person's overlapping seats and re-admissions; a check-in: the roster entry,
the cohort still open, the reading inside the session's window; a claim: the window's dates, the qualification
linked to the programme, the exam not in the future nor past the deadline, the live attempts already claimed;
a reused receipt or exam is refused by the table's unique indexes).

    BENCH_REF_DATABASE_URL  the database (postgresql://...)
    BENCH_REF_POOL          connections in the pool (default 10, the services' pool size)
    BENCH_REF_JWT_SECRET    the HS256 secret of the tokens (default: the local one the services use)
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import queue
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import jwt
import psycopg
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
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
# Read the offer under lock (the application and the applicant rows, as the service holds them, not the cohort:
# the seat was counted when it was offered) with its cohort, programme and the idempotency key if used before;
# then, once the lock is held, the person's admission history (read after the lock, so a seat the same person
# took meanwhile is seen); then one statement writes the enrollment, the application's new status, the key with
# its answer and the outbox row.
ACCEPT_TARGET = (  # the key claimed first (a request with the same key waits here for the first to end)
    "WITH k AS (INSERT INTO idempotency_key (scope, key, request_hash, created_at) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT DO NOTHING RETURNING 1) "
    "SELECT a.status, a.applicant_id, ap.merged_into, ap.name, ap.birth_date, c.id, c.campus, c.start_date, "
    "c.end_date, c.plan_version, p.code, p.total_hours, (SELECT count(*) FROM k), a.score, a.applied_at, "
    "a.priority, a.above_capacity, a.waitlist_position, a.reasons::text "
    "FROM application a JOIN applicant ap ON ap.id = a.applicant_id JOIN cohort c ON c.id = a.cohort_id "
    "JOIN programme p ON p.id = c.programme_id WHERE a.id = %s FOR NO KEY UPDATE OF a, ap"
)
STORED_ANSWER = "SELECT request_hash, response_body FROM idempotency_key WHERE scope = %s AND key = %s"
PERSON_HISTORY = (  # every record merged into the survivor, along chains
    "WITH RECURSIVE members(id) AS (SELECT %s::uuid UNION ALL "
    "SELECT ap.id FROM applicant ap JOIN members m ON ap.merged_into = m.id) "
    "SELECT c.id, c.start_date, c.end_date, p.total_hours, e.status, e.withdrawn_before_start "
    "FROM enrollment e JOIN cohort c ON c.id = e.cohort_id JOIN programme p ON p.id = c.programme_id "
    "WHERE e.applicant_id IN (SELECT id FROM members)"
)
ENROLL = (
    "WITH e AS (INSERT INTO enrollment (id, application_id, applicant_id, cohort_id, campus, status, enrolled_on, "
    "withdrawn_before_start, updated_at) VALUES (%(enrollment)s, %(application)s, %(applicant)s, %(cohort)s, "
    "%(campus)s, 'enrolled', %(today)s, false, %(now)s)), "
    "a AS (UPDATE application SET status = 'accepted', updated_at = %(now)s WHERE id = %(application)s), "
    "k AS (UPDATE idempotency_key SET status_code = 200, response_body = %(answer)s "
    "WHERE scope = %(scope)s AND key = %(key)s) "
    "INSERT INTO outbox (event_id, event_type, topic, message_key, payload, created_at) "
    "VALUES (%(event)s, %(type)s, 'trainingops.enrollment.events', %(applicant)s, %(payload)s, %(now)s)"
)
LATE_JOIN_MAX_DAYS = 14  # the domain's defaults
SHORT_COURSE_MAX_HOURS, MAX_READMISSIONS, READMISSION_WINDOW_YEARS = 350, 2, 3

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


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _months_after(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Caller:
    sub: str
    roles: frozenset[str]
    campuses: frozenset[str]

    def sees(self, campus: str) -> bool:
        return "*" in self.campuses or campus in self.campuses

    def require(self, *roles: str) -> None:
        if self.roles.isdisjoint(roles):
            raise HTTPException(403)


_verified: dict[str, tuple[float, Caller]] = {}


def caller(authorization: Annotated[str, Header()] = "") -> Caller:
    """Verify the bearer token as the services do (signature, expiry, sub; a token verified before is
    remembered until it expires, as the services' verifier does): who calls, in which roles, for which
    campuses."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401)
    if (known := _verified.get(token)) is not None and known[0] > time.time():
        return known[1]
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["sub", "exp"], "verify_aud": False}
        )
    except jwt.PyJWTError:
        raise HTTPException(401) from None
    who = Caller(claims["sub"], frozenset(claims.get("roles") or ()), frozenset(claims.get("campuses") or ()))
    if len(_verified) > 10_000:
        _verified.clear()
    _verified[token] = (float(claims["exp"]), who)
    return who


Campuses = Annotated[Caller, Depends(caller)]


def create_app() -> FastAPI:
    pool = Pool(os.environ["BENCH_REF_DATABASE_URL"], int(os.environ.get("BENCH_REF_POOL", "10")))
    app = FastAPI()

    @app.post("/enrollment/accept/{application_id}")
    def accept(
        application_id: uuid.UUID,
        request: Request,
        allowed: Campuses,
        key: Annotated[str, Header(alias="Idempotency-Key")],
    ) -> Response:
        allowed.require("admissions")
        now = datetime.now(UTC)
        today = now.astimezone(LOCAL).date()
        scope = f"{allowed.sub}:POST:/enrollment/accept/{{application_id}}"
        digest = hashlib.sha256(f"POST {request.url.path}\n".encode()).hexdigest()  # the request has no body
        enrollment_id, event_id = uuid.uuid4(), uuid.uuid4()
        with pool.transaction() as conn:
            found = conn.execute(ACCEPT_TARGET, (scope, key, digest, now, application_id)).fetchone()
            if found is None or not allowed.sees(found[6]):
                raise HTTPException(404)
            (status, applicant_id, merged_into, name, birth_date, cohort_id, campus, start, end, version, code,
             hours, claimed, score, applied_at, priority, above, position, reasons) = found  # fmt: skip
            if not claimed:  # the key was used before: its answer, or a 422 for another request
                stored_hash, stored_answer = conn.execute(STORED_ANSWER, (scope, key)).fetchone()
                if stored_hash != digest:
                    raise HTTPException(422)
                if stored_answer is None:
                    raise HTTPException(409)
                return Response(stored_answer, media_type="application/json")
            if status != "selected" or merged_into is not None:  # the benchmark's records are all survivors
                raise HTTPException(409)
            if today > end or today > min(start + timedelta(days=LATE_JOIN_MAX_DAYS), end):
                raise HTTPException(409)
            since = _years_before(start, READMISSION_WINDOW_YEARS)
            short = 0
            for c_id, c_start, c_end, c_hours, e_status, before_start in conn.execute(PERSON_HISTORY, (applicant_id,)):
                if c_id != cohort_id and e_status == "enrolled" and c_start <= end and start <= c_end:
                    raise HTTPException(409)  # overlapping seat
                if c_id == cohort_id and e_status == "enrolled":
                    raise HTTPException(409)  # seated already under another record
                if (
                    c_id != cohort_id
                    and not before_start
                    and c_hours <= SHORT_COURSE_MAX_HOURS
                    and since <= c_start < start
                ):
                    short += 1
            if hours <= SHORT_COURSE_MAX_HOURS and short > MAX_READMISSIONS:
                raise HTTPException(409)
            answer = (  # the application as the service answers it
                '{"id": "%s", "applicant_id": "%s", "cohort_id": "%s", "campus": %s, "score": %s, '  # noqa: UP031
                '"applied_at": "%s", "status": "accepted", "priority": %s, "above_capacity": %s, '
                '"waitlist_position": %s, "reasons": %s, "enrollment_id": "%s"}'
                % (
                    application_id,
                    applicant_id,
                    cohort_id,
                    json.dumps(campus),
                    score,
                    applied_at.isoformat(),
                    json.dumps(priority),
                    json.dumps(above),
                    json.dumps(position),
                    reasons,
                    enrollment_id,
                )
            )
            payload = json.dumps(
                {
                    "id": str(event_id),
                    "type": ENROLLED,
                    "time": now.isoformat(),
                    "data": {
                        "trainee_id": str(applicant_id),
                        "enrollment_id": str(enrollment_id),
                        "name": name,
                        "birth_date": birth_date.isoformat(),
                        "cohort_id": str(cohort_id),
                        "campus": campus,
                        "programme_code": code,
                        "plan_version": version,
                        "enrolled_on": today.isoformat(),
                    },
                }
            )
            conn.execute(
                ENROLL,
                dict(
                    enrollment=enrollment_id,
                    application=application_id,
                    applicant=applicant_id,
                    cohort=cohort_id,
                    campus=campus,
                    today=today,
                    now=now,
                    scope=scope,
                    key=key,
                    hash=digest,
                    answer=answer,
                    event=event_id,
                    type=ENROLLED,
                    payload=payload,
                ),
            )
        return Response(answer, media_type="application/json")

    @app.post("/attendance/sessions/{session_id}/check-ins")
    def check_in(session_id: uuid.UUID, body: CheckIn, allowed: Campuses) -> dict:
        allowed.require("instructor")
        now = datetime.now(UTC)
        with pool.transaction() as conn:
            found = conn.execute(CHECK_IN_TARGET, (body.trainee_id, session_id)).fetchone()
            if found is None or not allowed.sees(found[5]):
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
        allowed.require("finance", "trainee")
        now = datetime.now(UTC)
        today = now.astimezone(LOCAL).date()
        claim_id = uuid.uuid4()
        with pool.transaction() as conn:
            found = conn.execute(CLAIM_TARGET, (body.stage, body.qualification_code, body.trainee_id)).fetchone()
            if found is None or not allowed.sees(found[1]):
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
