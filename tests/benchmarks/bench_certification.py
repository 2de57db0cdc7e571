"""Certification benchmark: claims validated and stored per second through HTTP on PostgreSQL, beside a
same-run reference; prints figures, not a test.

    .venv/bin/python -m tests.benchmarks.bench_certification

The service runs as its own process (uvicorn) with its consumer on: the trainees' claim windows come from
trainee.enrolled events published on the broker, as in production. Claims are sent from 16 keep-alive
connections; the reference (``reference.py``: one read of the claim window and the fee, one insert, in a bare
FastAPI endpoint with a pooled psycopg connection) gets the same claims of other trainees in the same
database, in one process too. Target ratio >= 0.5.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
from kafka import KafkaProducer

from shared import events
from shared.broker import LocalBroker
from shared.events import build_event, topic_for
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from tests.benchmarks import load
from tests.benchmarks.common import REPEATS, Measure, print_summary, reference_processes
from tests.support import LOCAL_POSTGRES, Databases, service_process, token

C = "/certification/v1"
CLAIMS = 1_000
CODE = "BENCH-CRAFTSMAN"
FINANCE = token(["finance"], ["*"])


def publish_enrollments(bootstrap: str, trainees: list[uuid.UUID], start: date) -> None:
    snap = events.CohortSnapshot(
        cohort_id=uuid.uuid4(), programme_code="P-BENCH", programme_title="Benchmark", campus="bench",
        track="national_qualification", total_hours=640, completion_threshold=0.8, qualification_codes=[CODE],
        start_date=start, end_date=start + timedelta(days=180),
        sessions=[events.SessionSlot(date=start, start=datetime(2000, 1, 1, 9).time(),
                                     end=datetime(2000, 1, 1, 18).time(), hours=8)])
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", linger_ms=5)
    for i, tid in enumerate(trainees):
        event, key = build_event(events.TRAINEE_ENROLLED, events.TraineeEnrolled(
            trainee_id=tid, enrollment_id=uuid.uuid4(), name=f"T{i}", birth_date=date(1990, 1, 1),
            enrolled_on=start, cohort=snap))
        producer.send(topic_for("enrollment"), key=key.encode(), value=event.to_bytes())
    producer.flush()
    producer.close()


def claim_calls(path: str, trainees: list[uuid.UUID], today: date, headers: dict, tag: str) -> list[load.Call]:
    return [load.Call("POST", path, headers, {
        "trainee_id": str(t), "qualification_code": CODE, "stage": "written",
        "exam_date": str(today - timedelta(days=1 + i % 25)), "amount_paid": 15_000,
        "receipt_number": f"{tag}{i:08d}", "admission_slip_number": f"S{i:06d}"}) for i, t in enumerate(trainees)]


def run(dbs: Databases, bootstrap: str) -> None:
    today = datetime.now(ZoneInfo("Asia/Seoul")).date()
    url = dbs.new("bench_cert")
    upgrade("certification", url)
    trainees = [uuid.uuid4() for _ in range(2 * REPEATS * CLAIMS)]
    publish_enrollments(bootstrap, trainees, today - timedelta(days=90))
    env = {"CERTIFICATION_DATABASE_URL": url, "CERTIFICATION_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "CERTIFICATION_CONSUMER_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}", "CERTIFICATION_AUTO_MIGRATE": "false",
           "CERTIFICATION_LOG_LEVEL": "WARNING", "CERTIFICATION_CONSUMER_SESSION_TIMEOUT_MS": "6000",
           "CERTIFICATION_CONSUMER_HEARTBEAT_INTERVAL_MS": "1000",
           "CERTIFICATION_CONSUMER_MAX_POLL_INTERVAL_MS": "10000"}
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(service_process("certification", env))
        refs = stack.enter_context(reference_processes({"BENCH_REF_DATABASE_URL": url}, 1))
        with httpx.Client(base_url=base, timeout=60) as c:
            r = c.put(f"{C}/qualifications/{CODE}", json={"code": CODE, "name": "Bench Craftsman",
                                                         "grade": "craftsman", "written_fee": 14_500},
                      headers=FINANCE)
            assert r.status_code == 200, r.text
        with psycopg.connect(url, autocommit=True) as conn:  # the windows, made by the service's consumer
            deadline = time.monotonic() + 300
            while conn.execute("SELECT count(*) FROM claim_window").fetchone()[0] < len(trainees):
                assert time.monotonic() < deadline, "the claim windows were never all made"
                time.sleep(0.2)
        m = Measure("claim submitted, 1 process, 16 connections", "rate", 0.5)
        for i in range(REPEATS):
            mine = trainees[2 * i * CLAIMS:(2 * i + 1) * CLAIMS]
            theirs = trainees[(2 * i + 1) * CLAIMS:(2 * i + 2) * CLAIMS]
            elapsed, statuses = load.run([base], claim_calls(f"{C}/claims", mine, today, FINANCE, f"R{i}-"))
            assert statuses[201] == CLAIMS, f"only {statuses[201]} of {CLAIMS} claims stored: {dict(statuses)}"
            service = CLAIMS / elapsed
            elapsed, statuses = load.run(refs, claim_calls("/certification/claims", theirs, today, {}, f"X{i}-"))
            assert statuses[201] == CLAIMS, f"reference: {dict(statuses)}"
            m.add(service, CLAIMS / elapsed)


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
    print_summary("certification")
