"""Enrollment benchmark: prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_enrollment

1. seats accepted per second through HTTP on PostgreSQL (uvicorn, 16 keep-alive connections, one and two
   service processes), next to the bare reference endpoint (``reference.py``: verify the token, read the offer
   under lock with the idempotency key, read the person's history, check the rules, then write the enrollment,
   the accepted status, the key and the outbox row in one statement) in as many processes; target ratio >= 0.5;
2. selection of a cohort of 10,000 applications, the whole API call, next to a reference that reads the
   same applications and writes the same 10,000 decisions and 10,000 outbox rows in one statement each;
   target: service time <= 3x the reference;
3. outbox relay events per second next to a bare kafka-python producer on the same broker; target >= 0.5.

Everything goes through the public faces: the HTTP API (campus, programme, cohorts, the CSV import of
applicants, selection, accept) and the kernel's outbox relay. The 10,000 applications of the selection are
written straight into the migrated tables (the API would take minutes to make them).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from shared import events
from shared.db import Database
from shared.kafka import ensure_topics, make_producer
from shared.migrations import upgrade
from shared.outbox import OutboxRelay, emit_many
from tests.benchmarks import load
from tests.benchmarks.common import REPEATS, Measure, print_summary, reference_processes
from tests.integration.enrollment.helpers import E, new_campus, new_cohort, new_programme
from tests.support import LOCAL_POSTGRES, Databases, service_process, token
from trainingops.broker import LocalBroker

ACCEPTS = 500
SELECTION = 10_000
CAPACITY = 40
RELAYED = 10_000
STAFF = token(["admissions"], ["*"])


def seeded_cohort(c: httpx.Client, programme: str, n: int) -> tuple[str, list[str]]:
    """A cohort of ``n`` seats and ``n`` applicants imported as one CSV, selected: the cohort and its ``n`` offers
    to accept."""
    cohort = new_cohort(c, STAFF, programme, capacity=n)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "birth_date", "residency_status", "priority_categories", "score"])
    for i in range(n):
        w.writerow([f"Trainee {i}", "1995-06-01", "city_resident", "", 50 + i % 40])
    r = c.post(
        f"{E}/applications/import",
        data={"cohort_id": cohort},
        headers=STAFF,
        files={"file": ("a.csv", out.getvalue().encode(), "text/csv")},
    )
    assert r.status_code == 200 and r.json()["imported"] == n, r.text[:500]
    r = c.post(f"{E}/cohorts/{cohort}/selection", headers=STAFF)
    assert r.status_code == 200, r.text[:500]
    ids: list[str] = []
    while True:
        page = c.get(f"{E}/applications", params={"cohort_id": cohort, "limit": 500, "offset": len(ids)}, headers=STAFF)
        assert page.status_code == 200, page.text[:500]
        items = page.json()["items"]
        ids += [a["id"] for a in items if a["status"] == "selected"]
        if len(items) < 500:
            break
    assert len(ids) == n, f"{len(ids)} of {n} selected"
    return cohort, ids


def outbox_drained(url: str) -> None:
    """Wait until the relays have published every event already in the outbox (the seeding's imports and
    selections make a thousand), so that a timed run does not share the cores with publishing them."""
    deadline = time.monotonic() + 120
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM outbox").fetchone()[0]:
            assert time.monotonic() < deadline, "the outbox never drained"
            time.sleep(0.1)


def bench_accepts(url: str, bases: list[str], refs: list[str], c: httpx.Client, campus: str, programme: str) -> None:
    for replicas in (1, 2):
        m = Measure(f"accept, {replicas} process(es), 16 connections", "rate", 0.5)
        for _ in range(REPEATS):
            _cohort, service_apps = seeded_cohort(c, programme, ACCEPTS)
            _cohort, reference_apps = seeded_cohort(c, programme, ACCEPTS)
            calls = [
                load.Call("POST", f"{E}/applications/{a}/accept", {**STAFF, "Idempotency-Key": str(uuid.uuid4())})
                for a in service_apps
            ]
            outbox_drained(url)
            elapsed, statuses = load.run(bases[:replicas], calls)
            assert statuses[200] == ACCEPTS, f"only {statuses[200]} of {ACCEPTS} accepted: {dict(statuses)}"
            service = ACCEPTS / elapsed
            calls = [
                load.Call("POST", f"/enrollment/accept/{a}", {**STAFF, "Idempotency-Key": str(uuid.uuid4())})
                for a in reference_apps
            ]
            outbox_drained(url)  # the service's accepts' events too
            elapsed, statuses = load.run(refs[:replicas], calls)
            assert statuses[200] == ACCEPTS, f"reference: {dict(statuses)}"
            m.add(service, ACCEPTS / elapsed)


def _applications(conn: psycopg.Connection, cohort: str, campus: str, n: int) -> None:
    """``n`` applicants and their submitted applications to ``cohort``, written in two statements."""
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "app": str(uuid.uuid4()),
            "score": (i * 37) % 101,
            "at": (t0 + timedelta(seconds=i)).isoformat(),
            "priority": i % 5 == 0,
        }
        for i in range(n)
    ]
    data = json.dumps(rows)
    conn.execute(
        "INSERT INTO applicant (id, campus, name, birth_date, residency_status, career_break, "
        "priority_categories, leaving_care, created_at) SELECT r.id, %s, 'x', DATE '1990-01-01', "
        "'city_resident', false, '[]', false, now() FROM json_to_recordset(%s::json) AS r(id uuid)",
        (campus, data),
    )
    conn.execute(
        "INSERT INTO application (id, applicant_id, cohort_id, campus, score, applied_at, status, "
        "priority, above_capacity, reasons, updated_at) SELECT r.app, r.id, %s, %s, r.score, r.at, "
        "'submitted', r.priority, false, '[]', now() FROM json_to_recordset(%s::json) "
        "AS r(id uuid, app uuid, score float8, at timestamptz, priority boolean)",
        (cohort, campus, data),
    )


def reference_selection(url: str, cohort: str, capacity: int) -> float:
    """Read the cohort's applications, rank them, write every decision in one UPDATE and every event in one
    INSERT; returns the seconds it took."""
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        apps = conn.execute(
            "SELECT id, applicant_id, campus FROM application WHERE cohort_id = %s "
            "AND status = 'submitted' ORDER BY priority DESC, score DESC, applied_at FOR UPDATE",
            (cohort,),
        ).fetchall()
        now = datetime.now(UTC).isoformat()
        decisions, outbox = [], []
        for rank, (app_id, applicant_id, campus) in enumerate(apps):
            selected = rank < capacity
            position = None if selected else rank - capacity + 1
            status = "selected" if selected else "waitlisted"
            decisions.append({"id": str(app_id), "status": status, "position": position})
            event_id = str(uuid.uuid4())
            outbox.append(
                {
                    "event_id": event_id,
                    "event_type": events.APPLICATION_DECIDED,
                    "topic": "trainingops.enrollment.events",
                    "message_key": str(applicant_id),
                    "payload": json.dumps(
                        {
                            "id": event_id,
                            "type": events.APPLICATION_DECIDED,
                            "time": now,
                            "data": {
                                "application_id": str(app_id),
                                "trainee_id": str(applicant_id),
                                "cohort_id": cohort,
                                "campus": campus,
                                "decision": status,
                                "waitlist_position": position,
                            },
                        }
                    ),
                    "created_at": now,
                }
            )
        conn.execute(
            "UPDATE application a SET status = d.status, waitlist_position = d.position, "
            "decided_at = now(), updated_at = now() FROM json_to_recordset(%s::json) "
            "AS d(id uuid, status text, position int) WHERE a.id = d.id",
            (json.dumps(decisions),),
        )
        conn.execute(
            "INSERT INTO outbox (event_id, event_type, topic, message_key, payload, created_at) "
            "SELECT event_id, event_type, topic, message_key, payload, created_at FROM "
            "json_to_recordset(%s::json) AS r(event_id text, event_type text, topic text, "
            "message_key text, payload text, created_at timestamptz)",
            (json.dumps(outbox),),
        )
    return time.perf_counter() - start


def bench_selection(url: str, base: str, c: httpx.Client, campus: str, programme: str) -> None:
    m = Measure(f"selection of {SELECTION:,} applications (API call)", "time", 3.0, reference_name="2 statements")
    for _ in range(REPEATS):
        service_cohort = new_cohort(c, STAFF, programme, capacity=CAPACITY)
        reference_cohort = new_cohort(c, STAFF, programme, capacity=CAPACITY)
        with psycopg.connect(url) as conn:
            _applications(conn, service_cohort, campus, SELECTION)
            _applications(conn, reference_cohort, campus, SELECTION)
        with httpx.Client(base_url=base, timeout=120) as api:
            start = time.perf_counter()
            r = api.post(f"{E}/cohorts/{service_cohort}/selection", headers=STAFF)
            service_s = time.perf_counter() - start
        assert r.status_code == 200 and r.json()["waitlisted"] == SELECTION - CAPACITY, r.text[:500]
        m.add(service_s * 1000, reference_selection(url, reference_cohort, CAPACITY) * 1000)


def bench_relay(bootstrap: str, dbs: Databases) -> None:
    m = Measure(f"outbox relay ({RELAYED:,} events)", "rate", 0.5, reference_name="bare producer")
    data = events.ApplicationDecided(
        application_id=uuid.uuid4(),
        trainee_id=uuid.uuid4(),
        cohort_id=uuid.uuid4(),
        campus="bench",
        decision="waitlisted",
        waitlist_position=1,
    )
    payload = events.build_event(events.APPLICATION_DECIDED, data)[0].to_bytes()
    for _ in range(REPEATS):
        db = Database(dbs.new("benchrelay"))
        upgrade("enrollment", db.url)
        with db.session() as s:
            emit_many(s, [(events.APPLICATION_DECIDED, data)] * RELAYED)
            s.commit()
        relay = OutboxRelay(db, lambda: make_producer(bootstrap, "bench-relay"), batch_size=1000)
        start = time.perf_counter()
        sent = 0
        while sent < RELAYED:
            sent += relay.relay_once()
        relay_rate = RELAYED / (time.perf_counter() - start)
        relay.stop()
        db.dispose()

        producer = make_producer(bootstrap, "bench-bare")
        producer.send("trainingops.enrollment.events", key=b"k", value=payload).get(timeout=10)  # connect first
        start = time.perf_counter()
        for i in range(RELAYED):
            producer.send("trainingops.enrollment.events", key=str(i % 500).encode(), value=payload)
        producer.flush()
        bare_rate = RELAYED / (time.perf_counter() - start)
        producer.close()
        m.add(relay_rate, bare_rate)


def run(dbs: Databases, bootstrap: str) -> None:
    url = dbs.new("benchenr")
    upgrade("enrollment", url)
    env = {
        "ENROLLMENT_DATABASE_URL": url,
        "ENROLLMENT_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ENROLLMENT_CONSUMER_ENABLED": "false",
        "ENROLLMENT_AUTO_MIGRATE": "false",
        "ENROLLMENT_LOG_LEVEL": "WARNING",
    }
    # Two service processes (uvicorn --workers 2 shares one socket, and the 16 keep-alive connections then all
    # land on one worker), and two reference processes for the same reason.
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(service_process("enrollment", env)) for _ in range(2)]
        refs = stack.enter_context(reference_processes({"BENCH_REF_DATABASE_URL": url}, 2))
        with httpx.Client(base_url=bases[0], timeout=120) as c:
            campus = new_campus(c, STAFF)
            programme = new_programme(c, STAFF, campus)
            bench_accepts(url, bases, refs, c, campus, programme)
            bench_selection(url, bases[0], c, campus, programme)
    bench_relay(bootstrap, dbs)


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
    print_summary("enrollment")
