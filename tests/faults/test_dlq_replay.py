"""Replaying a DLQ twice: only its consumer sees the letters, nothing is applied twice, no other DLQ grows.

Attendance and certification both consume enrollment's topic. Four records fail in attendance: a withdrawal
that arrives before the enrollment (fixable: it applies once the trainee is on the roster) and three poison
records (certification dead-letters those too). Before, a replay went back to enrollment's topic, so
certification dead-lettered the poison again at every replay, and a letter that failed again was replayed
again at the next one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from typer.testing import CliRunner

from shared import events
from shared.events import retry_for, topic_for
from tests.faults.records import Raw, dead_letters, envelope, metric, own_broker  # noqa: F401
from tests.integration.attendance.helpers import Enrollment, snapshot, today
from tests.support import running_service, token, wait_until
from trainingops.cli import app

A = "/attendance/v1"
runner = CliRunner()


def roster_status(client, snap, staff, trainee) -> str | None:
    r = client.get(f"{A}/cohorts/{snap.cohort_id}/roster", headers=staff)
    rows = [row for row in r.json() if row["trainee_id"] == str(trainee)] if r.status_code == 200 else []
    return rows[0]["status"] if rows else None


def replay(kafka: str) -> str:
    result = runner.invoke(app, ["dlq", "replay", "attendance", "--bootstrap", kafka])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_replaying_twice_reaches_only_the_failed_consumer_and_applies_nothing_twice(own_broker, databases):
    kafka = own_broker.bootstrap
    staff = token(["instructor"], ["*"])
    snap = snapshot("jungbu", today() + timedelta(days=7), today() + timedelta(days=30))
    trainee = uuid.uuid4()
    poison = [b"not json", None, envelope(events.TRAINEE_ENROLLED, {"trainee_id": "not-a-uuid"})]
    withdrawn = events.TraineeWithdrawn(
        trainee_id=trainee,
        enrollment_id=uuid.uuid4(),
        cohort_id=snap.cohort_id,
        campus=snap.campus,
        programme_code=snap.programme_code,
        date=snap.start_date,
        reason="personal",
    )
    with (
        running_service(
            "attendance",
            database_url=databases.new("fault_replay_att"),
            kafka_bootstrap_servers=kafka,
            consumer_retries=1,
        ) as att,
        running_service(
            "certification",
            database_url=databases.new("fault_replay_cert"),
            kafka_bootstrap_servers=kafka,
            consumer_retries=1,
        ),
    ):
        sender, raw = Enrollment(kafka), Raw(kafka)
        try:
            sender.publish(snap)
            withdrawal = sender.send(events.TRAINEE_WITHDRAWN, withdrawn)  # before the enrollment: refused
            for value in poison:
                raw.send(topic_for("enrollment"), str(uuid.uuid4()), value)
            sender.enroll(snap, trainee)
            wait_until(lambda: roster_status(att, snap, staff, trainee) == "active", timeout=30)
            wait_until(lambda: len(dead_letters(kafka, "attendance")) == 4, timeout=30)
            cert_letters = wait_until(lambda: len(d := dead_letters(kafka, "certification")) >= 3 and d, timeout=30)

            assert "replayed 4 message(s)" in replay(kafka)
            wait_until(lambda: roster_status(att, snap, staff, trainee) == "withdrawn", timeout=30)
            letters = wait_until(lambda: len(d := dead_letters(kafka, "attendance")) == 7 and d, timeout=30)
            assert sorted(d.attempts for d in letters) == [1, 1, 1, 1, 2, 2, 2]
            again = [d for d in letters if d.attempts == 2]
            assert sorted(d.value or b"" for d in again) == sorted(v or b"" for v in poison)
            assert {d.original_topic for d in again} == {topic_for("enrollment")}  # still where they first failed

            assert "replayed 3 message(s)" in replay(kafka)  # the withdrawal is not sent again
            letters = wait_until(lambda: len(d := dead_letters(kafka, "attendance")) == 10 and d, timeout=30)
            assert sorted(d.attempts for d in letters)[-3:] == [3, 3, 3]
            assert "replayed 0 message(s)" in replay(kafka)  # three attempts each: left alone, no loop

            # the same withdrawal once more on the retry topic (a replay cut short after sending): a duplicate
            raw.send(retry_for("attendance"), str(trainee), withdrawal.to_bytes())
            wait_until(
                lambda: (
                    metric(att, "trainingops_events_consumed_total", type=events.TRAINEE_WITHDRAWN, result="duplicate")
                    == 1
                ),
                timeout=30,
            )
        finally:
            sender.close()
            raw.close()
        assert metric(att, "trainingops_events_consumed_total", type=events.TRAINEE_WITHDRAWN, result="done") == 1
        assert roster_status(att, snap, staff, trainee) == "withdrawn"
        # certification never saw a replayed letter: its DLQ did not grow
        assert len(dead_letters(kafka, "certification")) == len(cert_letters)
        listed = runner.invoke(app, ["dlq", "list", "attendance", "--bootstrap", kafka])
        assert listed.exit_code == 0 and "attempts" in listed.output, listed.output
        assert "10 message(s), 0 not yet replayed" in " ".join(listed.output.split())
