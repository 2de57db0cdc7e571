"""Operator commands against the real broker and a running enrollment service: DLQ replay, bulk import."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from shared import events
from shared.kafka import ensure_topics
from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import running_service, serving, token, wait_until
from trainingops import dlq
from trainingops.broker import LocalBroker
from trainingops.cli import app

runner = CliRunner()


@pytest.fixture()
def own_kafka():
    """A broker of this test's own: a fresh consumer group reads its topics from the beginning, and on the shared
    broker it would also dead-letter other modules' events, making the counts below a race."""
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        yield broker.bootstrap


def test_a_dead_letter_is_replayed_once_after_its_cause_is_fixed(own_kafka, databases):
    kafka = own_kafka
    staff = token(["admissions"], ["*"])
    with running_service(
        "enrollment", database_url=databases.new("enrdlq"), kafka_bootstrap_servers=kafka, consumer_retries=1
    ) as client:
        campus = new_campus(client, staff)
        person = new_applicant(client, staff, campus)
        cohort = new_cohort(client, staff, new_programme(client, staff, campus, hours=300), capacity=1)
        app_id = apply(client, staff, person, cohort)["id"]
        client.post(f"{E}/cohorts/{cohort}/selection", headers=staff)
        assert dlq.pending(kafka, "enrollment") == 0

        # attendance reports a completion before enrollment has the enrollment: it cannot be applied yet
        event, key = events.build_event(
            events.TRAINEE_COMPLETED,
            {
                "trainee_id": person,
                "cohort_id": cohort,
                "campus": campus,
                "programme_code": "P",
                "completion_date": str(date.today() + timedelta(days=40)),
                "final_rate": 0.92,
            },
        )
        producer = KafkaProducer(bootstrap_servers=kafka)
        producer.send("trainingops.attendance.events", key=key.encode(), value=event.to_bytes()).get(timeout=10)
        producer.close()
        wait_until(lambda: dlq.pending(kafka, "enrollment") == 1)
        letters = dlq.list_dead_letters(kafka, "enrollment")
        assert [d.headers.get("dlq.event.id") for d in letters] == [event.id]
        assert letters[0].headers["dlq.error.type"] == "PermanentEventError"
        listed = runner.invoke(app, ["dlq", "list", "enrollment", "--bootstrap", kafka])
        assert listed.exit_code == 0, listed.output
        assert "1 not yet replayed" in " ".join(listed.output.split())

        enrollment = client.post(f"{E}/applications/{app_id}/accept", headers=staff).json()["enrollment_id"]
        replayed = runner.invoke(app, ["dlq", "replay", "enrollment", "--bootstrap", kafka])
        assert replayed.exit_code == 0, replayed.output
        assert "replayed 1 message(s)" in replayed.output
        wait_until(lambda: client.get(f"{E}/enrollments/{enrollment}", headers=staff).json()["status"] == "completed")
        time.sleep(1)
        # applied this time: not dead-lettered again, and a second replay has nothing to send
        assert len(dlq.list_dead_letters(kafka, "enrollment")) == 1
        assert dlq.pending(kafka, "enrollment") == 0
        again = runner.invoke(app, ["dlq", "replay", "enrollment", "--bootstrap", kafka])
        assert again.exit_code == 0, again.output
        assert "replayed 0 message(s)" in again.output


def test_import_command_reports_every_row_of_a_large_file(kafka, databases, tmp_path, monkeypatch):
    staff = token(["admissions"], ["*"])
    with serving(
        "enrollment", database_url=databases.new("enrcli"), kafka_bootstrap_servers=kafka, consumer_enabled=False
    ) as base:
        import httpx

        with httpx.Client(base_url=base) as c:
            campus = new_campus(c, staff)
            cohort = new_cohort(c, staff, new_programme(c, staff, campus))
        rows = ["name,birth_date,residency_status,score"]
        rows += [f"P{i},1990-01-{(i % 28) + 1:02d},city_resident,{i % 100}" for i in range(450)]
        rows += ["Bad,1990-13-40,city_resident,5"]
        source = tmp_path / "apps.csv"
        source.write_text("\n".join(rows))
        report = tmp_path / "report.csv"
        monkeypatch.setenv("ENROLLMENT_URL", base)
        result = runner.invoke(
            app, ["import", "applications", str(source), "--cohort", cohort, "--chunk", "100", "--report", str(report)]
        )
        assert result.exit_code == 0, result.output
        assert "450 imported, 1 refused" in result.output
        lines = report.read_text(encoding="utf-8-sig").splitlines()
        assert len(lines) == 452
        assert lines[-1].startswith("452,refused")
