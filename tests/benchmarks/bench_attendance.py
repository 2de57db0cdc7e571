"""Attendance benchmark: prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_attendance
    BENCH_REPEATS=2 BENCH_ATTENDANCE_TRAINEES=1000 .venv/bin/python -m tests.benchmarks.bench_attendance  # quicker

- trainee.enrolled events (the slim form: the cohort's plan comes once, on cohort.published) consumed per
  second by one service process, next to a bare kafka-python consumer that parses the same events and inserts
  the cohort with its sessions and the roster rows with the processed event ids, one transaction per poll;
  target ratio >= 0.5;
- single check-ins per second through HTTP (16 keep-alive connections, one and two service processes), next
  to the bare reference endpoint (``reference.py``: one read of session, cohort and roster entry, one mark
  upsert) in as many processes; target ratio >= 0.5;
- bulk marks per second (kiosk batches of 1,000 readings through HTTP), next to PostgreSQL ``COPY`` of the
  same rows into the same table; target ratio >= 0.3.

The service is driven only through its public faces: events on the broker and its HTTP API. The references
work on a database migrated by the service and filled by the bare consumer, so the tables are the same.
Uses the local tansu broker and fresh PostgreSQL databases.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import httpx
import psycopg
from kafka import KafkaConsumer, KafkaProducer

from shared import events
from shared.events import build_event, topic_for
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from tests.benchmarks import load
from tests.benchmarks.common import REPEATS, Measure, print_summary, reference_processes
from tests.support import LOCAL_POSTGRES, Databases, service_process, token
from trainingops.broker import LocalBroker

# trainee.enrolled events published, consumed once per repeat by the service and the reference;
# BENCH_ATTENDANCE_TRAINEES makes a quicker run (at least the bulk batch's 1,000)
TRAINEES = max(1_000, int(os.environ.get("BENCH_ATTENDANCE_TRAINEES", "4000")))
CHECK_INS = 600
BULK_BATCH, BULK_BATCHES = 1_000, 4
SEOUL = ZoneInfo("Asia/Seoul")
A = "/attendance/v1"
INSTRUCTOR = token(["instructor"], ["bench"])


def snapshot() -> events.CohortSnapshot:
    today = datetime.now(SEOUL).date()
    start = today - timedelta(days=90)
    days = [start + timedelta(n) for n in range(150) if (start + timedelta(n)).weekday() < 5]
    return events.CohortSnapshot(
        cohort_id=uuid.uuid4(),
        programme_code="BENCH",
        programme_title="Benchmark",
        campus="bench",
        track="other",
        total_hours=640,
        completion_threshold=0.8,
        qualification_codes=["Q"],
        start_date=start,
        end_date=days[-1],
        sessions=[events.SessionSlot(date=d, start=dtime(9), end=dtime(18), hours=8) for d in days],
    )


def service_consumer_rate(url: str, bootstrap: str, expected: int) -> float:
    """Events per second while one service process fills its roster up to ``expected``, timed from the first
    entry seen (the start-up, the group join and the first batch left out), reading the count every 50 ms."""
    env = {
        "ATTENDANCE_DATABASE_URL": url,
        "ATTENDANCE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ATTENDANCE_CONSUMER_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "ATTENDANCE_AUTO_MIGRATE": "false",
        "ATTENDANCE_CLOSER_ENABLED": "false",
        "ATTENDANCE_LOG_LEVEL": "WARNING",
        "ATTENDANCE_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "ATTENDANCE_CONSUMER_HEARTBEAT_INTERVAL_MS": "1000",
        "ATTENDANCE_CONSUMER_MAX_POLL_INTERVAL_MS": "10000",
    }
    with service_process("attendance", env), psycopg.connect(url, autocommit=True) as conn:
        first = first_n = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            n = conn.execute("SELECT count(*) FROM roster_entry").fetchone()[0]
            if n and first is None:
                first, first_n = time.perf_counter(), n
            if n >= expected:
                return (expected - first_n) / (time.perf_counter() - first)
            time.sleep(0.05)
    raise AssertionError(f"the service's roster never reached {expected}")


COHORT_ROW = (
    "INSERT INTO cohort (id, campus, programme_code, programme_title, track, total_hours, "
    "completion_threshold, qualification_codes, start_date, end_date, snapshot_hash, plan_version, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now()) ON CONFLICT (id) DO NOTHING"
)
SESSION_ROWS = (
    'INSERT INTO training_session (id, cohort_id, date, start, "end", hours, cancelled) '
    'SELECT gen_random_uuid(), %s, s.date, s.start, s."end", s.hours, false '
    'FROM json_to_recordset(%s::json) AS s(date date, start time, "end" time, hours float8)'
)
CLAIM_EVENTS = (
    "INSERT INTO processed_event (event_id, event_type, processed_at) SELECT id, %s, now() "
    "FROM unnest(%s::text[]) AS id ON CONFLICT DO NOTHING RETURNING event_id"
)
ROSTER_ROWS = (
    "INSERT INTO roster_entry (id, cohort_id, trainee_id, enrollment_id, campus, name, enrolled_on, "
    "status, at_risk, updated_at) SELECT gen_random_uuid(), r.cohort_id, r.trainee_id, r.enrollment_id, "
    "r.campus, r.name, r.enrolled_on, 'active', false, now() FROM json_to_recordset(%s::json) AS "
    "r(cohort_id uuid, trainee_id uuid, enrollment_id uuid, campus text, name text, enrolled_on date) "
    "ON CONFLICT (cohort_id, trainee_id) DO NOTHING"
)


def bare_consumer_rate(url: str, bootstrap: str, expected: int) -> float:
    """The least a consumer of trainee.enrolled must do: poll, parse, and in one transaction per poll claim
    the event ids, insert each new cohort (from cohort.published) with its sessions and the roster rows of
    cohorts it has (keeping the others in memory until their cohort comes); then commit the offsets."""
    consumer = KafkaConsumer(
        topic_for("enrollment"),
        bootstrap_servers=[bootstrap],
        group_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=10000,
    )
    cohorts: set[str] = set()
    waiting: list[dict] = []
    seen, first, first_n = 0, None, 0
    deadline = time.monotonic() + 300
    with psycopg.connect(url) as conn:
        while seen < expected and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            parsed = [json.loads(r.value) for records in batch.values() for r in records]
            if not parsed:
                continue
            enrolled = 0
            with conn.transaction():
                fresh = {row[0] for row in conn.execute(CLAIM_EVENTS, ("enrollment", [e["id"] for e in parsed]))}
                for e in parsed:
                    if e["id"] not in fresh or e["type"] != events.COHORT_PUBLISHED:
                        continue
                    c = e["data"]
                    conn.execute(
                        COHORT_ROW,
                        (
                            c["cohort_id"],
                            c["campus"],
                            c["programme_code"],
                            c["programme_title"],
                            c["track"],
                            c["total_hours"],
                            c["completion_threshold"],
                            json.dumps(c["qualification_codes"]),
                            c["start_date"],
                            c["end_date"],
                            "bare",
                            c["plan_version"],
                        ),
                    )
                    conn.execute(SESSION_ROWS, (c["cohort_id"], json.dumps(c["sessions"])))
                    cohorts.add(c["cohort_id"])
                for e in parsed:
                    if e["id"] not in fresh or e["type"] != events.TRAINEE_ENROLLED:
                        continue
                    d = e["data"]
                    enrolled += 1
                    waiting.append(
                        {
                            "cohort_id": d["cohort_id"],
                            "trainee_id": d["trainee_id"],
                            "enrollment_id": d["enrollment_id"],
                            "campus": d["campus"],
                            "name": d["name"],
                            "enrolled_on": d["enrolled_on"],
                        }
                    )
                roster = [r for r in waiting if r["cohort_id"] in cohorts]
                waiting = [r for r in waiting if r["cohort_id"] not in cohorts]
                if roster:
                    conn.execute(ROSTER_ROWS, (json.dumps(roster),))
            consumer.commit()
            seen += enrolled
            if first is None and enrolled:  # timed from the first batch stored, as the service is
                first, first_n = time.perf_counter(), seen
    assert first is not None
    elapsed = time.perf_counter() - first
    consumer.close()
    assert seen >= expected, f"the bare consumer saw {seen} of {expected}"
    return (seen - first_n) / elapsed


def check_in_calls(prefix: str, session_id: str, day: str, trainees: list[uuid.UUID], headers: dict) -> list:
    return [
        load.Call(
            "POST",
            f"{prefix}/sessions/{session_id}/check-ins",
            headers,
            {"trainee_id": str(t), "kind": "in", "method": "card", "at": f"{day}T08:58:00+09:00"},
        )
        for t in trainees
    ]


def run(dbs: Databases, bootstrap: str) -> None:
    snap = snapshot()
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", linger_ms=5)
    event, key = build_event(events.COHORT_PUBLISHED, events.CohortPublished(**snap.model_dump()))
    producer.send(topic_for("enrollment"), key=key.encode(), value=event.to_bytes())
    trainees = [uuid.uuid4() for _ in range(TRAINEES)]
    for i, tid in enumerate(trainees):
        event, key = build_event(  # the slim form: the plan came once, on cohort.published
            events.TRAINEE_ENROLLED,
            events.TraineeEnrolled(
                trainee_id=tid,
                enrollment_id=uuid.uuid4(),
                name=f"T{i}",
                birth_date=date(1990, 1, 1),
                cohort_id=snap.cohort_id,
                campus=snap.campus,
                programme_code=snap.programme_code,
                plan_version=snap.plan_version,
                enrolled_on=snap.start_date,
            ),
        )
        producer.send(topic_for("enrollment"), key=key.encode(), value=event.to_bytes())
    producer.flush()
    producer.close()

    consumed = Measure(
        f"trainee.enrolled consumed, 1 process ({TRAINEES:,} events)",
        "rate",
        0.5,
        reference_name="bare consumer (parse+insert)",
    )
    service_url = reference_url = ""
    for _ in range(REPEATS):
        s_url, r_url = dbs.new("bench_att"), dbs.new("bench_attref")
        upgrade("attendance", s_url)
        upgrade("attendance", r_url)
        consumed.add(service_consumer_rate(s_url, bootstrap, TRAINEES), bare_consumer_rate(r_url, bootstrap, TRAINEES))
        service_url, reference_url = service_url or s_url, reference_url or r_url

    # The same past days in both databases: sessions by date (each database made its own session ids).
    today = datetime.now(SEOUL).date()
    with psycopg.connect(service_url) as s, psycopg.connect(reference_url) as r:
        service_sessions = {
            d: str(i) for i, d in s.execute("SELECT id, date FROM training_session WHERE date < %s", (today,))
        }
        reference_sessions = {
            d: str(i) for i, d in r.execute("SELECT id, date FROM training_session WHERE date < %s", (today,))
        }
    days = sorted(service_sessions)  # popped from the most recent
    needed = 2 * REPEATS + 1 + REPEATS * BULK_BATCHES
    assert len(days) >= needed, f"{len(days)} past sessions, {needed} needed"

    env = {
        "ATTENDANCE_DATABASE_URL": service_url,
        "ATTENDANCE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ATTENDANCE_CONSUMER_ENABLED": "false",
        "ATTENDANCE_AUTO_MIGRATE": "false",
        "ATTENDANCE_CLOSER_ENABLED": "false",
        "ATTENDANCE_LOG_LEVEL": "WARNING",
    }
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(service_process("attendance", env)) for _ in range(2)]
        refs = stack.enter_context(reference_processes({"BENCH_REF_DATABASE_URL": reference_url}, 2))
        for replicas in (1, 2):
            m = Measure(f"check-in, {replicas} process(es), 16 connections", "rate", 0.5)
            for _ in range(REPEATS):
                day = days.pop()
                calls = check_in_calls(A, service_sessions[day], str(day), trainees[:CHECK_INS], INSTRUCTOR)
                elapsed, statuses = load.run(bases[:replicas], calls)
                assert statuses[200] == CHECK_INS, f"only {statuses[200]} of {CHECK_INS} check-ins: {dict(statuses)}"
                service = CHECK_INS / elapsed
                calls = check_in_calls(
                    "/attendance", reference_sessions[day], str(day), trainees[:CHECK_INS], INSTRUCTOR
                )
                elapsed, statuses = load.run(refs[:replicas], calls)
                assert statuses[200] == CHECK_INS, f"reference: {dict(statuses)}"
                m.add(service, CHECK_INS / elapsed)

        bulk = Measure(
            f"bulk marks ({BULK_BATCHES} batches of {BULK_BATCH:,}, HTTP)", "rate", 0.3, reference_name="COPY"
        )
        with httpx.Client(base_url=bases[0], timeout=120) as c, psycopg.connect(reference_url) as conn:

            def post_batch(day: date) -> None:
                items = [
                    {"trainee_id": str(t), "kind": "in", "method": "card", "at": f"{day}T08:59:00+09:00"}
                    for t in trainees[:BULK_BATCH]
                ]
                r = c.post(
                    f"{A}/sessions/{service_sessions[day]}/check-ins/bulk", headers=INSTRUCTOR, json={"items": items}
                )
                assert r.status_code == 200 and r.json()["accepted"] == BULK_BATCH, r.text[:500]

            def copy_batch(day: date) -> None:
                now = datetime.now(UTC)
                at = datetime.combine(day, dtime(8, 59), SEOUL)
                punches = json.dumps([{"kind": "in", "at": at.isoformat(), "method": "card"}])
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        "COPY mark (id, session_id, cohort_id, trainee_id, mark, source, punches, check_in_at, "
                        "updated_by, updated_at) FROM STDIN"
                    ) as copy,
                ):
                    for t in trainees[:BULK_BATCH]:
                        row = (uuid.uuid4(), reference_sessions[day], snap.cohort_id, t, "present", "punches")
                        copy.write_row((*row, punches, at, "reference", now))
                conn.commit()

            warm_up = days.pop()  # one batch each, untimed: the first use of a path compiles and caches
            post_batch(warm_up)
            copy_batch(warm_up)
            for _ in range(REPEATS):
                # batch by batch, the service's and COPY's in turn, so a drift of the machine's speed within a
                # repeat slows both sides alike (COPY alone moved between 44,184 and 56,847 rows/s in one run)
                service_s = copy_s = 0.0
                for day in [days.pop() for _ in range(BULK_BATCHES)]:
                    t0 = time.perf_counter()
                    post_batch(day)
                    t1 = time.perf_counter()
                    copy_batch(day)
                    service_s, copy_s = service_s + t1 - t0, copy_s + time.perf_counter() - t1
                bulk.add(BULK_BATCHES * BULK_BATCH / service_s, BULK_BATCHES * BULK_BATCH / copy_s)


def main() -> None:
    dbs = Databases(LOCAL_POSTGRES)
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        try:
            run(dbs, broker.bootstrap)
        finally:
            dbs.drop_all()


if __name__ == "__main__":
    main()
    print_summary("attendance")
