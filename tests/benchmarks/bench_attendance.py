"""Attendance benchmark: prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_attendance

- single check-ins per second through HTTP (TestClient against the real app) on PostgreSQL;
- bulk marks per second (kiosk batches of 1,000 readings);
- trainee.enrolled events consumed per second by the service, next to a bare kafka-python
  consumer reading the same topic, as a ratio; then by two service processes in one
  consumer group (the topic's three partitions split between them).
Uses the local tansu broker and a fresh PostgreSQL database.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import create_engine, func, select

from services.attendance.adapters.orm import RosterEntry
from services.attendance.main import create_app
from shared import events
from shared.db import normalise_url
from shared.events import build_event, topic_for
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from tests.benchmarks import load
from tests.support import LOCAL_POSTGRES, Databases, service_process, service_settings, token
from trainingops.broker import LocalBroker

TRAINEES = 12_000  # trainee.enrolled events published; the first 3,000 also check in
SINGLE = 2_000
BULK_BATCH, BULK_BATCHES = 1_000, 10
SEOUL = ZoneInfo("Asia/Seoul")


def snapshot() -> events.CohortSnapshot:
    today = datetime.now(SEOUL).date()
    start = today - timedelta(days=60)
    days = [start + timedelta(n) for n in range(120) if (start + timedelta(n)).weekday() < 5]
    return events.CohortSnapshot(
        cohort_id=uuid.uuid4(), programme_code="BENCH", programme_title="Benchmark", campus="bench",
        track="other", total_hours=640, completion_threshold=0.8, qualification_codes=["Q"], start_date=start,
        end_date=days[-1], sessions=[events.SessionSlot(date=d, start=dtime(9), end=dtime(18), hours=8)
                                     for d in days])


def bare_consumer_rate(bootstrap: str, n: int) -> float:
    consumer = KafkaConsumer(topic_for("enrollment"), bootstrap_servers=[bootstrap], group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10_000)
    seen, first = 0, None
    for _ in consumer:
        first = first or time.perf_counter()
        seen += 1
        if seen >= n:
            break
    elapsed = time.perf_counter() - (first or time.perf_counter())
    consumer.close()
    return seen / elapsed if elapsed else float("inf")


def roster_fill_rate(url: str, expected: int) -> float:
    """Events per second while the roster fills up to ``expected``, timed from the first entry seen (so the
    consumer's start-up and its first batch are left out), by reading the count every 50 ms."""
    engine = create_engine(normalise_url(url))
    first = first_n = None
    try:
        while True:
            with engine.connect() as conn:
                n = conn.execute(select(func.count()).select_from(RosterEntry.__table__)).scalar_one()
            if n and first is None:
                first, first_n = time.perf_counter(), n
            if n >= expected:
                return (expected - first_n) / (time.perf_counter() - first)
            time.sleep(0.05)
    finally:
        engine.dispose()


def consumed_by_processes(url: str, bootstrap: str, replicas: int, expected: int) -> float:
    """The same events consumed by ``replicas`` service processes of one fresh consumer group, as deployed."""
    upgrade("attendance", url)
    env = {"ATTENDANCE_DATABASE_URL": url, "ATTENDANCE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "ATTENDANCE_CONSUMER_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}", "ATTENDANCE_AUTO_MIGRATE": "false",
           "ATTENDANCE_CLOSER_ENABLED": "false", "ATTENDANCE_LOG_LEVEL": "WARNING"}
    with contextlib.ExitStack() as stack:
        for _ in range(replicas):
            stack.enter_context(service_process("attendance", env))
        return roster_fill_rate(url, expected)


def concurrent_check_ins(url: str, bootstrap: str, slot: dict, trainees: list, replicas: int,
                         n: int = 3000, connections: int = 16) -> float:
    """Single check-ins from 16 keep-alive connections against the service run as its own process(es)."""
    env = {"ATTENDANCE_DATABASE_URL": url, "ATTENDANCE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "ATTENDANCE_CONSUMER_ENABLED": "false", "ATTENDANCE_AUTO_MIGRATE": "false",
           "ATTENDANCE_CLOSER_ENABLED": "false", "ATTENDANCE_LOG_LEVEL": "WARNING"}
    h = token(["instructor"], ["bench"])
    calls = [load.Call("POST", f"/attendance/v1/sessions/{slot['id']}/check-ins", h,
                       {"trainee_id": str(tid), "kind": "in", "method": "card", "at": f"{slot['date']}T08:58:00+09:00"})
             for tid in trainees[:n]]
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(service_process("attendance", env)) for _ in range(replicas)]
        elapsed, statuses = load.run(bases, calls, connections=connections)
    assert statuses[200] == n, f"only {statuses[200]} of {n} check-ins accepted: {dict(statuses)}"
    return n / elapsed


def main() -> None:
    dbs = Databases(LOCAL_POSTGRES)
    url = dbs.new("bench_att")
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        snap = snapshot()
        producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=5)
        trainees = [uuid.uuid4() for _ in range(TRAINEES)]
        for i, tid in enumerate(trainees):
            event, key = build_event(events.TRAINEE_ENROLLED, events.TraineeEnrolled(
                trainee_id=tid, enrollment_id=uuid.uuid4(), name=f"T{i}", birth_date=date(1990, 1, 1),
                enrolled_on=snap.start_date, cohort=snap))
            producer.send(topic_for("enrollment"), key=key.encode(), value=event.to_bytes())
        producer.flush()
        producer.close()
        bare = bare_consumer_rate(broker.bootstrap, TRAINEES)

        settings = service_settings("attendance", database_url=url, kafka_bootstrap_servers=broker.bootstrap,
                                    closer_enabled=False)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            consumed = roster_fill_rate(url, TRAINEES)

            h = token(["instructor"], ["bench"])
            sessions = client.get(f"/attendance/v1/cohorts/{snap.cohort_id}/sessions", headers=h).json()
            past = [s for s in sessions if s["date"] < datetime.now(SEOUL).date().isoformat()]

            s0 = past[0]
            t0 = time.perf_counter()
            for tid in trainees[:SINGLE]:
                r = client.post(f"/attendance/v1/sessions/{s0['id']}/check-ins", headers=h,
                                json={"trainee_id": str(tid), "kind": "in", "method": "card",
                                      "at": f"{s0['date']}T08:58:00+09:00"})
                assert r.status_code == 200, r.text
            single = SINGLE / (time.perf_counter() - t0)

            t0 = time.perf_counter()
            for b in range(BULK_BATCHES):
                s = past[1 + b]
                items = [{"trainee_id": str(tid), "kind": "in", "method": "card", "at": f"{s['date']}T08:59:00+09:00"}
                         for tid in trainees[:BULK_BATCH]]
                r = client.post(f"/attendance/v1/sessions/{s['id']}/check-ins/bulk", headers=h, json={"items": items})
                assert r.status_code == 200 and r.json()["accepted"] == BULK_BATCH, r.text[:500]
            bulk = BULK_BATCHES * BULK_BATCH / (time.perf_counter() - t0)
        concurrent = {replicas: concurrent_check_ins(url, broker.bootstrap, past[11 + replicas], trainees, replicas)
                      for replicas in (1, 2)}
        consumed_by_two = consumed_by_processes(dbs.new("bench_att2"), broker.bootstrap, 2, TRAINEES)
    dbs.drop_all()
    print(f"attendance benchmark (PostgreSQL, local tansu broker; {len(snap.sessions)} sessions per cohort snapshot)")
    print(f"  single check-ins via HTTP:           {single:8.0f} /s  ({SINGLE} requests, one TestClient)")
    for replicas, rate in concurrent.items():
        print(f"  single check-ins via HTTP, {replicas} service process(es), 16 connections: {rate:6.0f} /s")
    print(f"  bulk marks via HTTP:                 {bulk:8.0f} /s  ({BULK_BATCHES} batches of {BULK_BATCH})")
    print(f"  trainee.enrolled consumed (service): {consumed:8.0f} /s  ({TRAINEES:,} events, one process)")
    print(f"  bare kafka-python consumer:          {bare:8.0f} /s")
    print(f"  ratio service / bare:                {consumed / bare:8.3f}")
    print(f"  consumed by 2 service processes:     {consumed_by_two:8.0f} /s  (ratio to the bare consumer "
          f"{consumed_by_two / bare:.3f})")


if __name__ == "__main__":
    main()
