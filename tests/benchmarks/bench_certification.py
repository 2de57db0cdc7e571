"""Certification benchmark: claims validated and stored per second through HTTP on PostgreSQL, beside a
same-run reference; prints figures, not a test.

    .venv/bin/python -m tests.benchmarks.bench_certification

The service runs as its own process (uvicorn) with its consumer on: the trainees' claim windows come from
trainee.enrolled events published on the broker, as in production. Claims are sent from 16 keep-alive
connections; the reference (``reference.py``: one read of the claim window and the fee, one insert, in a bare
FastAPI endpoint with a pooled psycopg connection) gets the same claims of other trainees in the same
database, in one process too. Target ratio >= 0.5.

Then a payout batch of 5,000 approved claims through HTTP (payouts + 5,000 outbox events), beside a reference
that pays another campus's 5,000 in one statement per table, and the batch's CSV export beside a bare
``SELECT`` written with the ``csv`` module; issue 11 sets no target for these two. The approved claims are
written straight into the migrated tables (the API would take minutes to make them).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
from kafka import KafkaProducer

from shared import events
from shared.events import build_event, topic_for
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from tests.benchmarks import load
from tests.benchmarks.common import REPEATS, Measure, print_summary, reference_processes
from tests.support import LOCAL_POSTGRES, Databases, service_process, token
from trainingops.broker import LocalBroker

C = "/certification/v1"
CLAIMS = 500
BATCH = 5_000
CODE = "BENCH-CRAFTSMAN"
FINANCE = token(["finance"], ["*"])


def publish_enrollments(bootstrap: str, trainees: list[uuid.UUID], start: date) -> None:
    snap = events.CohortSnapshot(
        cohort_id=uuid.uuid4(),
        programme_code="P-BENCH",
        programme_title="Benchmark",
        campus="bench",
        track="national_qualification",
        total_hours=640,
        completion_threshold=0.8,
        qualification_codes=[CODE],
        start_date=start,
        end_date=start + timedelta(days=180),
        sessions=[
            events.SessionSlot(
                date=start, start=datetime(2000, 1, 1, 9).time(), end=datetime(2000, 1, 1, 18).time(), hours=8
            )
        ],
    )
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", linger_ms=5)
    for i, tid in enumerate(trainees):
        event, key = build_event(
            events.TRAINEE_ENROLLED,
            events.TraineeEnrolled(
                trainee_id=tid,
                enrollment_id=uuid.uuid4(),
                name=f"T{i}",
                birth_date=date(1990, 1, 1),
                enrolled_on=start,
                cohort=snap,
            ),
        )
        producer.send(topic_for("enrollment"), key=key.encode(), value=event.to_bytes())
    producer.flush()
    producer.close()


def claim_calls(path: str, trainees: list[uuid.UUID], today: date, headers: dict, tag: str) -> list[load.Call]:
    return [
        load.Call(
            "POST",
            path,
            headers,
            {
                "trainee_id": str(t),
                "qualification_code": CODE,
                "stage": "written",
                "exam_date": str(today - timedelta(days=1 + i % 25)),
                "amount_paid": 15_000,
                "receipt_number": f"{tag}{i:08d}",
                "admission_slip_number": f"S{i:06d}",
            },
        )
        for i, t in enumerate(trainees)
    ]


def run(dbs: Databases, bootstrap: str) -> None:
    today = datetime.now(ZoneInfo("Asia/Seoul")).date()
    url = dbs.new("bench_cert")
    upgrade("certification", url)
    trainees = [uuid.uuid4() for _ in range(2 * REPEATS * CLAIMS)]
    publish_enrollments(bootstrap, trainees, today - timedelta(days=90))
    env = {
        "CERTIFICATION_DATABASE_URL": url,
        "CERTIFICATION_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CERTIFICATION_CONSUMER_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "CERTIFICATION_AUTO_MIGRATE": "false",
        "CERTIFICATION_LOG_LEVEL": "WARNING",
        "CERTIFICATION_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "CERTIFICATION_CONSUMER_HEARTBEAT_INTERVAL_MS": "1000",
        "CERTIFICATION_CONSUMER_MAX_POLL_INTERVAL_MS": "10000",
    }
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(service_process("certification", env))
        refs = stack.enter_context(reference_processes({"BENCH_REF_DATABASE_URL": url}, 1))
        with httpx.Client(base_url=base, timeout=60) as c:
            r = c.put(
                f"{C}/qualifications/{CODE}",
                json={"code": CODE, "name": "Bench Craftsman", "grade": "craftsman", "written_fee": 14_500},
                headers=FINANCE,
            )
            assert r.status_code == 200, r.text
        with psycopg.connect(url, autocommit=True) as conn:  # the windows, made by the service's consumer
            deadline = time.monotonic() + 300
            while conn.execute("SELECT count(*) FROM claim_window").fetchone()[0] < len(trainees):
                assert time.monotonic() < deadline, "the claim windows were never all made"
                time.sleep(0.2)
        m = Measure("claim submitted, 1 process, 16 connections", "rate", 0.5)
        for i in range(REPEATS):
            mine = trainees[2 * i * CLAIMS : (2 * i + 1) * CLAIMS]
            theirs = trainees[(2 * i + 1) * CLAIMS : (2 * i + 2) * CLAIMS]
            elapsed, statuses = load.run([base], claim_calls(f"{C}/claims", mine, today, FINANCE, f"R{i}-"))
            assert statuses[201] == CLAIMS, f"only {statuses[201]} of {CLAIMS} claims stored: {dict(statuses)}"
            service = CLAIMS / elapsed
            elapsed, statuses = load.run(refs, claim_calls("/certification/claims", theirs, today, FINANCE, f"X{i}-"))
            assert statuses[201] == CLAIMS, f"reference: {dict(statuses)}"
            m.add(service, CLAIMS / elapsed)
        bench_payouts(url, base, today)


def _approved_claims(conn: psycopg.Connection, campus: str, today: date, n: int) -> None:
    now = datetime.now(ZoneInfo("UTC"))
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY claim (id, trainee_id, cohort_id, campus, qualification_code, stage, exam_date, amount_paid, "
            "standard_fee, amount, receipt_number, receipt_key, admission_slip_number, status, reasons, "
            "submitted_by, submitted_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for i in range(n):
            receipt = f"{campus}-{i:08d}".upper()
            copy.write_row(
                (
                    uuid.uuid4(),
                    uuid.uuid4(),
                    uuid.uuid4(),
                    campus,
                    CODE,
                    "written",
                    today - timedelta(days=3),
                    14_500,
                    14_500,
                    14_500,
                    receipt,
                    receipt,
                    f"S{i:06d}",
                    "approved",
                    "[]",
                    "bench",
                    now,
                    now,
                )
            )
    conn.commit()


def reference_pay(url: str, campus: str, today: date) -> float:
    """Lock the campus's approved claims, then one INSERT of the batch, one of its payouts, one UPDATE of the
    claims and one INSERT of the outbox rows; returns the seconds it took."""
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        claims = conn.execute(
            "SELECT id, trainee_id, amount FROM claim WHERE campus = %s AND status = 'approved' ORDER BY id FOR UPDATE",
            (campus,),
        ).fetchall()
        batch_id, now = uuid.uuid4(), datetime.now(ZoneInfo("UTC")).isoformat()
        conn.execute(
            "INSERT INTO payout_batch (id, campus, payout_count, total_amount, created_by, created_at) "
            "VALUES (%s, %s, %s, %s, 'reference', now())",
            (batch_id, campus, len(claims), sum(a for _, _, a in claims)),
        )
        payouts, outbox = [], []
        for claim_id, trainee_id, amount in claims:
            reference = f"P{today:%Y%m%d}-{claim_id.hex[:16]}"
            payouts.append(
                {
                    "id": str(uuid.uuid4()),
                    "claim_id": str(claim_id),
                    "reference": reference,
                    "trainee_id": str(trainee_id),
                    "amount": amount,
                }
            )
            event_id = str(uuid.uuid4())
            outbox.append(
                {
                    "event_id": event_id,
                    "event_type": events.CLAIM_PAID,
                    "topic": "trainingops.certification.events",
                    "message_key": str(trainee_id),
                    "payload": json.dumps(
                        {
                            "id": event_id,
                            "type": events.CLAIM_PAID,
                            "time": now,
                            "data": {
                                "claim_id": str(claim_id),
                                "trainee_id": str(trainee_id),
                                "campus": campus,
                                "amount": amount,
                                "payout_reference": reference,
                            },
                        }
                    ),
                    "created_at": now,
                }
            )
        conn.execute(
            "INSERT INTO payout (id, claim_id, batch_id, reference, trainee_id, campus, amount, paid_by, "
            "paid_at) SELECT r.id, r.claim_id, %s, r.reference, r.trainee_id, %s, r.amount, 'reference', "
            "now() FROM json_to_recordset(%s::json) AS r(id uuid, claim_id uuid, reference text, "
            "trainee_id uuid, amount int)",
            (batch_id, campus, json.dumps(payouts)),
        )
        conn.execute(
            "UPDATE claim SET status = 'paid', updated_at = now() WHERE id = ANY(%s)", ([c[0] for c in claims],)
        )
        conn.execute(
            "INSERT INTO outbox (event_id, event_type, topic, message_key, payload, created_at) "
            "SELECT event_id, event_type, topic, message_key, payload, created_at FROM "
            "json_to_recordset(%s::json) AS r(event_id text, event_type text, topic text, "
            "message_key text, payload text, created_at timestamptz)",
            (json.dumps(outbox),),
        )
    return time.perf_counter() - start


def reference_csv(url: str, campus: str) -> float:
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT p.reference, p.amount, p.trainee_id, p.campus, p.claim_id FROM payout p "
            "WHERE p.campus = %s ORDER BY p.reference",
            (campus,),
        ).fetchall()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["reference", "amount", "trainee_id", "campus", "claim_id"])
    w.writerows(rows)
    out.getvalue().encode()
    return time.perf_counter() - start


def bench_payouts(url: str, base: str, today: date) -> None:
    pay = Measure(f"payout batch of {BATCH:,} approved claims (HTTP)", "time", None, reference_name="4 statements")
    export = Measure(f"CSV export of the batch of {BATCH:,} (HTTP)", "time", None, reference_name="SELECT + csv")
    with httpx.Client(base_url=base, timeout=120) as c:
        for i in range(REPEATS):
            mine, theirs = f"pay{i}", f"ref{i}"
            with psycopg.connect(url) as conn:
                _approved_claims(conn, mine, today, BATCH)
                _approved_claims(conn, theirs, today, BATCH)
            start = time.perf_counter()
            r = c.post(
                f"{C}/payouts", json={"campus": mine}, headers={**FINANCE, "Idempotency-Key": f"bench-{uuid.uuid4()}"}
            )
            service_s = time.perf_counter() - start
            assert r.status_code == 201 and r.json()["payout_count"] == BATCH, r.text[:500]
            pay.add(service_s * 1000, reference_pay(url, theirs, today) * 1000)
            start = time.perf_counter()
            f = c.get(f"{C}/payouts/{r.json()['id']}/export", params={"format": "csv"}, headers=FINANCE)
            service_s = time.perf_counter() - start
            assert f.status_code == 200, f.text[:300]
            export.add(service_s * 1000, reference_csv(url, theirs) * 1000)


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
