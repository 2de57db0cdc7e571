"""End-to-end latency benchmark: prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_latency

From an accept's HTTP answer (enrollment) to the trainee on attendance's roster, at a steady 100 accepts per
second: p50 and p99; target p99 < 1 s. The path is the whole platform's: the accept's transaction writes the
enrollment and its ``trainee.enrolled`` event to the outbox, the relay publishes it, attendance's consumer puts
the trainee on the roster, and ``GET /attendance/v1/cohorts/{id}/roster`` shows it.

Reference, measured in the same run on the same broker at the same rate: a bare kafka-python producer and
consumer (the platform's producer and consumer settings, nothing else), from the ``send`` call to the record
in the consumer's hands. Ratio = service figure / reference figure, for p50 and for p99.

How: enrollment and attendance run as operators run them (uvicorn processes on PostgreSQL and the local broker,
relay and consumer on, their default settings). ``COHORTS`` cohorts of ``SEATS`` seats are filled through the
API (a CSV import and a selection each); the accepts are sent on a fixed schedule (open loop: a slow answer does
not slow the next request), one cohort after the other, so at any moment one or two cohorts have trainees on
their way; a poller reads those cohorts' rosters back to back and notes when each trainee first shows. The
poll's own round trip (a few milliseconds) and a 20 ms pause between its rounds are the resolution of the
figure. Each repeat also prints the accepts' own round trip, to tell a slow answer from a slow pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
import uuid

import httpx
from kafka import KafkaConsumer

from shared.kafka import ensure_topics, make_producer
from shared.migrations import upgrade
from tests.benchmarks.bench_enrollment import seeded_cohort
from tests.benchmarks.common import REPEATS, Measure, print_summary
from tests.integration.enrollment.helpers import E, new_campus, new_programme
from tests.support import LOCAL_POSTGRES, Databases, service_process, token
from trainingops.broker import LocalBroker

RATE = 100.0  # accepts per second
SEATS = 50
COHORTS = max(1, int(os.environ.get("BENCH_LATENCY_ACCEPTS", "1000")) // SEATS)
TARGET_P99_MS = 1000.0
POLL_PAUSE_S = 0.02  # the resolution of the figure, beside a roster read's own round trip
A = "/attendance/v1"
STAFF = token(["admissions", "instructor"], ["*"])
REFERENCE_TOPIC = "trainingops.bench.latency"


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least ``p`` percent of the values at or below it."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(p / 100 * len(ranked)) - 1)]


def seeded_cohorts(c: httpx.Client, programme: str, count: int = COHORTS) -> list[tuple[str, list[str]]]:
    """``count`` cohorts, each with ``SEATS`` applicants imported as one CSV and selected: offers to accept."""
    return [seeded_cohort(c, programme, SEATS) for _ in range(count)]


async def accepts_to_roster(enrollment: str, attendance: str, cohorts: list[tuple[str, list[str]]]) -> list[float]:
    """Milliseconds from each accept's answer to its trainee's first appearance on the roster."""
    answered: dict[str, float] = {}  # trainee id -> when the accept's answer was read
    cohort_of: dict[str, str] = {}
    seen: dict[str, float] = {}
    failures: list[str] = []
    round_trips: list[float] = []
    total = sum(len(apps) for _, apps in cohorts)
    done = asyncio.Event()

    async def accept(client: httpx.AsyncClient, cohort: str, app: str) -> None:
        sent = time.perf_counter()
        r = await client.post(f"{E}/applications/{app}/accept", headers={**STAFF, "Idempotency-Key": str(uuid.uuid4())})
        at = time.perf_counter()
        round_trips.append((at - sent) * 1000)
        if r.status_code != 200:
            failures.append(f"{r.status_code} {r.text[:200]}")
            return
        trainee = r.json()["trainee_id"]
        answered[trainee], cohort_of[trainee] = at, cohort

    async def send_all() -> None:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(base_url=enrollment, timeout=30, limits=limits) as client:
            start = time.perf_counter()
            tasks = []
            for i, (cohort, app) in enumerate((c, a) for c, apps in cohorts for a in apps):
                delay = start + i / RATE - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(accept(client, cohort, app)))
            await asyncio.gather(*tasks)

    async def poll() -> None:
        async with httpx.AsyncClient(base_url=attendance, timeout=30) as client:
            while not done.is_set():
                waiting = {cohort_of[t] for t in answered if t not in seen}
                if not waiting:
                    await asyncio.sleep(0.002)
                    continue
                for cohort in waiting:
                    r = await client.get(f"{A}/cohorts/{cohort}/roster", headers=STAFF)
                    at = time.perf_counter()
                    if r.status_code == 200:
                        for row in r.json():
                            seen.setdefault(row["trainee_id"], at)
                # A pause between rounds: reading rosters back to back would take the consumer's CPU from it.
                await asyncio.sleep(POLL_PAUSE_S)

    poller = asyncio.create_task(poll())
    await send_all()
    deadline = time.perf_counter() + 60
    while len([t for t in answered if t in seen]) < len(answered) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    done.set()
    await poller
    assert not failures, f"{len(failures)} accepts failed, e.g. {failures[0]}"
    missing = [t for t in answered if t not in seen]
    assert len(answered) == total and not missing, f"{len(missing)} of {total} never reached the roster"
    print(
        f"  accept round trip: p50 {percentile(round_trips, 50):.0f} ms, p99 {percentile(round_trips, 99):.0f} ms",
        flush=True,
    )
    return [max(0.0, seen[t] - answered[t]) * 1000 for t in answered]


def bare_produce_to_consume(bootstrap: str, n: int) -> list[float]:
    """Milliseconds from a bare producer's ``send`` to the record in a bare consumer's hands, ``n`` records
    at ``RATE`` per second."""
    group = f"bench-latency-{uuid.uuid4().hex[:8]}"
    consumer = KafkaConsumer(
        REFERENCE_TOPIC,
        bootstrap_servers=bootstrap.split(","),
        group_id=group,
        client_id=group,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=10000,
    )
    received: dict[int, float] = {}
    stop = threading.Event()
    deadline = time.monotonic() + 60
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=200)
    assert consumer.assignment(), "the reference consumer was not assigned the topic's partitions"

    def consume() -> None:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=500).values():
                at = time.perf_counter()
                for record in records:
                    received.setdefault(int(record.value), at)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    producer = make_producer(bootstrap, "bench-latency")
    producer.send(REFERENCE_TOPIC, key=b"warm-up", value=b"-1").get(timeout=10)
    sent: dict[int, float] = {}
    start = time.perf_counter()
    for i in range(n):
        delay = start + i / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[i] = time.perf_counter()
        producer.send(REFERENCE_TOPIC, key=str(uuid.uuid4()).encode(), value=str(i).encode())
    producer.flush()
    wait_until = time.monotonic() + 30
    while len([i for i in sent if i in received]) < n and time.monotonic() < wait_until:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    producer.close()
    consumer.close()
    assert all(i in received for i in sent), f"{n - len(received)} reference records never arrived"
    return [(received[i] - sent[i]) * 1000 for i in sent]


def run(dbs: Databases, bootstrap: str) -> None:
    enrollment_db, attendance_db = dbs.new("benchlatenr"), dbs.new("benchlatatt")
    upgrade("enrollment", enrollment_db)
    upgrade("attendance", attendance_db)
    common = {"AUTO_MIGRATE": "false", "LOG_LEVEL": "WARNING", "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    enrollment_env = {f"ENROLLMENT_{k}": v for k, v in common.items()} | {
        "ENROLLMENT_DATABASE_URL": enrollment_db,
        "ENROLLMENT_CONSUMER_ENABLED": "false",
    }
    attendance_env = {f"ATTENDANCE_{k}": v for k, v in common.items()} | {
        "ATTENDANCE_DATABASE_URL": attendance_db,
        "ATTENDANCE_CONSUMER_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "ATTENDANCE_CLOSER_ENABLED": "false",
    }
    p50 = Measure("accept answered -> on attendance's roster, p50", "time", reference_name="bare produce->consume")
    p99 = Measure(
        f"accept answered -> on attendance's roster, p99 ({RATE:g}/s)",
        "time",
        limit=TARGET_P99_MS,
        reference_name="bare produce->consume",
    )
    with contextlib.ExitStack() as stack:
        enrollment = stack.enter_context(service_process("enrollment", enrollment_env))
        attendance = stack.enter_context(service_process("attendance", attendance_env))
        with httpx.Client(base_url=enrollment, timeout=120) as c:
            campus = new_campus(c, STAFF)
            programme = new_programme(c, STAFF, campus)
            # Warm-up: the consumer joins its group and both services make their connections.
            [(cohort, offers)] = seeded_cohorts(c, programme, 1)
            asyncio.run(accepts_to_roster(enrollment, attendance, [(cohort, offers[:1])]))
            for _ in range(REPEATS):
                cohorts = seeded_cohorts(c, programme)
                service = asyncio.run(accepts_to_roster(enrollment, attendance, cohorts))
                reference = bare_produce_to_consume(bootstrap, len(service))
                print(
                    f"  {len(service)} accepts at {RATE:g}/s: p50 {percentile(service, 50):.0f} ms, "
                    f"p99 {percentile(service, 99):.0f} ms, max {max(service):.0f} ms; bare produce->consume "
                    f"p50 {percentile(reference, 50):.0f} ms, p99 {percentile(reference, 99):.0f} ms "
                    f"(load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                p50.add(percentile(service, 50), percentile(reference, 50))
                p99.add(percentile(service, 99), percentile(reference, 99))


def main() -> None:
    dbs = Databases(LOCAL_POSTGRES)
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        ensure_topics(broker.bootstrap, [REFERENCE_TOPIC])
        try:
            run(dbs, broker.bootstrap)
        finally:
            dbs.drop_all()


if __name__ == "__main__":
    main()
    print_summary("end-to-end latency")
