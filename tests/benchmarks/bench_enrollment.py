"""Enrollment benchmark: prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_enrollment

1. applications accepted per second through HTTP on PostgreSQL (uvicorn, 16 keep-alive connections);
2. selection of a cohort of 10,000 applicants: the rule alone, and the whole API call on PostgreSQL;
3. outbox relay events per second next to a bare kafka-python producer on the same broker.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import insert

from services.enrollment.adapters.orm import Applicant, Application
from services.enrollment.domain.selection import Candidate, select
from shared import events
from shared.db import Database
from shared.kafka import ensure_topics, make_producer
from shared.migrations import upgrade
from shared.outbox import OutboxRelay, emit_many
from tests.benchmarks import load
from tests.integration.enrollment.helpers import E, new_applicant, new_campus, new_cohort, new_programme
from tests.support import LOCAL_POSTGRES, Databases, service_process, serving, token
from trainingops.broker import LocalBroker


def bench_accepts(bootstrap: str, dbs: Databases, n: int = 1000, connections: int = 16, replicas: int = 1) -> float:
    """Accepts from 16 keep-alive connections spread over ``replicas`` service processes.

    (``uvicorn --workers 2`` was tried first: its workers share one socket, and the 16 keep-alive
    connections of the benchmark all landed on one worker, so the second sat idle.)"""
    staff = token(["admissions"], ["*"])
    url = dbs.new("benchacc")
    upgrade("enrollment", url)
    env = {"ENROLLMENT_DATABASE_URL": url, "ENROLLMENT_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "ENROLLMENT_CONSUMER_ENABLED": "false", "ENROLLMENT_AUTO_MIGRATE": "false", "ENROLLMENT_LOG_LEVEL": "WARNING"}
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(service_process("enrollment", env)) for _ in range(replicas)]
        base = bases[0]
        with httpx.Client(base_url=base, timeout=60) as c:
            campus = new_campus(c, staff)
            cohort = new_cohort(c, staff, new_programme(c, staff, campus), capacity=n)
            people = [new_applicant(c, staff, campus) for _ in range(n)]
            apps = [c.post(f"{E}/applications", json={"applicant_id": p, "cohort_id": cohort, "score": 50},
                           headers=staff).json()["id"] for p in people]
            c.post(f"{E}/cohorts/{cohort}/selection", headers=staff)

        calls = [load.Call("POST", f"{E}/applications/{app_id}/accept",
                           {**staff, "Idempotency-Key": str(uuid.uuid4())}) for app_id in apps]
        elapsed, statuses = load.run(bases, calls, connections=connections)
    ok = statuses[200]
    assert ok == n, f"only {ok} of {n} accepted"
    return n / elapsed


def bench_selection(bootstrap: str, dbs: Databases, n: int = 10_000) -> tuple[float, float]:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    candidates = [Candidate(uuid.uuid4(), (i * 37) % 101, t0 + timedelta(seconds=i), i % 5 == 0, i % 97 == 0)
                  for i in range(n)]
    start = time.perf_counter()
    select(candidates, capacity=40)
    rule_s = time.perf_counter() - start

    staff = token(["admissions"], ["*"])
    url = dbs.new("benchsel")
    with serving("enrollment", database_url=url, kafka_bootstrap_servers=bootstrap, consumer_enabled=False) as base:
        with httpx.Client(base_url=base, timeout=120) as c:
            campus = new_campus(c, staff)
            cohort = new_cohort(c, staff, new_programme(c, staff, campus), capacity=40)
            db = Database(url)
            with db.session() as s:
                people = [dict(id=uuid.uuid4(), campus=campus, name="x", birth_date=date(1990, 1, 1),
                               residency_status="city_resident", career_break=False, priority_categories=[],
                               leaving_care=False, created_at=t0) for _ in range(n)]
                s.execute(insert(Applicant), people)
                s.execute(insert(Application), [
                    dict(id=uuid.uuid4(), applicant_id=p["id"], cohort_id=uuid.UUID(cohort), campus=campus,
                         score=(i * 37) % 101, applied_at=t0 + timedelta(seconds=i), status="submitted",
                         priority=i % 5 == 0, above_capacity=False, reasons=[], updated_at=t0)
                    for i, p in enumerate(people)])
                s.commit()
            db.dispose()
            start = time.perf_counter()
            r = c.post(f"{E}/cohorts/{cohort}/selection", headers=staff)
            api_s = time.perf_counter() - start
            assert r.status_code == 200 and r.json()["waitlisted"] == n - 40, r.text
    return rule_s, api_s


def bench_relay(bootstrap: str, dbs: Databases, n: int = 20_000) -> tuple[float, float]:
    db = Database(dbs.new("benchrelay"))
    upgrade("enrollment", db.url)
    data = events.ApplicationDecided(application_id=uuid.uuid4(), trainee_id=uuid.uuid4(), cohort_id=uuid.uuid4(),
                                     campus="bench", decision="waitlisted", waitlist_position=1)
    with db.session() as s:
        emit_many(s, [(events.APPLICATION_DECIDED, data)] * n)
        s.commit()
    relay = OutboxRelay(db, lambda: make_producer(bootstrap, "bench-relay"), batch_size=1000)
    start = time.perf_counter()
    sent = 0
    while sent < n:
        sent += relay.relay_once()
    relay_rate = n / (time.perf_counter() - start)
    relay.stop()
    db.dispose()

    payload = events.build_event(events.APPLICATION_DECIDED, data)[0].to_bytes()
    producer = make_producer(bootstrap, "bench-bare")
    producer.send("trainingops.enrollment.events", key=b"k", value=payload).get(timeout=10)  # connect first
    start = time.perf_counter()
    for i in range(n):
        producer.send("trainingops.enrollment.events", key=str(i % 500).encode(), value=payload)
    producer.flush()
    bare_rate = n / (time.perf_counter() - start)
    producer.close()
    return relay_rate, bare_rate


def main() -> None:
    dbs = Databases(LOCAL_POSTGRES)
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        try:
            for replicas in (1, 2):
                rate = bench_accepts(broker.bootstrap, dbs, replicas=replicas)
                print(f"accepted applications through HTTP on PostgreSQL, {replicas} service process(es), "
                      f"16 connections: {rate:,.0f}/s (target >= 300/s)")
            rule_s, api_s = bench_selection(broker.bootstrap, dbs)
            print(f"selection of 10,000 applicants: rule {rule_s * 1000:,.1f} ms; "
                  f"whole API call on PostgreSQL (10,000 decisions + events) {api_s * 1000:,.0f} ms (target < 1 s)")
            relay, bare = bench_relay(broker.bootstrap, dbs)
            print(f"outbox relay: {relay:,.0f} events/s; bare kafka-python producer: {bare:,.0f} events/s; "
                  f"ratio {relay / bare:.2f} (target >= 0.5)")
        finally:
            dbs.drop_all()


if __name__ == "__main__":
    main()
