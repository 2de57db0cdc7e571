"""Attendance killed (SIGKILL) mid-burst and started again: every event applied, none applied twice.

The service runs as operators run it (uvicorn in a process of its own); it is killed while it is part-way
through a burst of trainee.enrolled events, so some batches are committed in the database and not yet in
Kafka. The second process redelivers those and finds their ids already claimed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg

from shared import events
from shared.events import build_event, topic_for
from tests.faults.records import own_broker  # noqa: F401
from tests.integration.attendance.helpers import Enrollment, snapshot, today
from tests.support import wait_until
from trainingops.broker import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
BURST = 3000


def spawn(url: str, kafka: str, group: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ATTENDANCE_DATABASE_URL": url,
        "TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "TRAININGOPS_ENVIRONMENT": "test",
        "ATTENDANCE_CONSUMER_GROUP_ID": group,
        "TRAININGOPS_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "TRAININGOPS_CONSUMER_HEARTBEAT_INTERVAL_MS": "1000",
        "TRAININGOPS_CONSUMER_MAX_POLL_INTERVAL_MS": "10000",
        "TRAININGOPS_CONSUMER_MAX_POLL_RECORDS": "100",
    }
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "services.attendance.main:create_app",
                "--factory",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_port("127.0.0.1", port, timeout_s=60)
    return process


def counts(url: str) -> tuple[int, int]:
    """Roster rows and claimed event ids."""
    with psycopg.connect(url) as conn:
        roster = conn.execute("SELECT count(*) FROM roster_entry").fetchone()[0]
        claimed = conn.execute("SELECT count(*) FROM processed_event").fetchone()[0]
    return roster, claimed


def test_a_consumer_killed_mid_burst_applies_every_event_once_after_a_restart(own_broker, databases, tmp_path):
    kafka = own_broker.bootstrap
    url = databases.new("fault_kill")
    group = f"trainingops.attendance.kill-{uuid.uuid4().hex[:6]}"
    snap = snapshot("jungbu", today() + timedelta(days=7), today() + timedelta(days=30))
    first = spawn(url, kafka, group, tmp_path / "attendance-1.log")
    second = None
    try:
        sender = Enrollment(kafka)
        try:
            sender.publish(snap)
            trainees = set()
            for _ in range(BURST):  # sent without waiting for each acknowledgement: a burst
                trainee = uuid.uuid4()
                trainees.add(str(trainee))
                event, key = build_event(
                    events.TRAINEE_ENROLLED,
                    events.TraineeEnrolled(
                        trainee_id=trainee,
                        enrollment_id=uuid.uuid4(),
                        name="Kim Minji",
                        birth_date="1994-05-17",
                        enrolled_on=snap.start_date,
                        cohort=snap,
                    ),
                )
                sender.producer.send(topic_for("enrollment"), key=key.encode(), value=event.to_bytes())
            sender.producer.flush(30)
        finally:
            sender.close()
        at_kill = wait_until(lambda: (c := counts(url))[0] > 0 and c, timeout=60, interval=0.02)
        first.send_signal(signal.SIGKILL)  # no shutdown: batches in flight, offsets not committed
        first.wait(10)
        at_kill = max(at_kill, counts(url))
        assert at_kill[0] < BURST, f"the burst was done before the kill ({at_kill}): make it larger"

        second = spawn(url, kafka, group, tmp_path / "attendance-2.log")
        wait_until(lambda: counts(url)[0] == BURST, timeout=120, interval=0.5)
        time.sleep(2)  # anything redelivered late has arrived
        roster, claimed = counts(url)
        with psycopg.connect(url) as conn:
            ids = {str(r[0]) for r in conn.execute("SELECT trainee_id FROM roster_entry")}
        print(f"killed at {at_kill[0]} of {BURST} roster rows; after the restart {roster} rows, {claimed} ids claimed")
        assert ids == trainees  # none lost
        assert roster == BURST and claimed == BURST + 1  # none twice: one claim per event (and the cohort)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(30)
