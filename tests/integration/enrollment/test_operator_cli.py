"""Operator commands against the real broker and a running enrollment service: DLQ replay, bulk import."""
from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from shared import dlq, events
from shared.cli import app
from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import running_service, serving, token, wait_until

runner = CliRunner()


def test_a_dead_letter_is_replayed_once_after_its_cause_is_fixed(kafka, databases):
    staff = token(["admissions"], ["*"])
    with running_service("enrollment", database_url=databases.new("enrdlq"), kafka_bootstrap_servers=kafka,
                         consumer_retries=1) as client:
        campus = new_campus(client, staff)
        person = new_applicant(client, staff, campus)
        cohort = new_cohort(client, staff, new_programme(client, staff, campus, hours=300), capacity=1)
        app_id = apply(client, staff, person, cohort)["id"]
        client.post(f"{E}/cohorts/{cohort}/selection", headers=staff)
        before = dlq.pending(kafka, "enrollment")

        # attendance reports a completion before enrollment has the enrollment: it cannot be applied yet
        event, key = events.build_event(events.TRAINEE_COMPLETED, {
            "trainee_id": person, "cohort_id": cohort, "campus": campus, "programme_code": "P",
            "completion_date": str(date.today() + timedelta(days=40)), "final_rate": 0.92})
        producer = KafkaProducer(bootstrap_servers=kafka)
        producer.send("trainingops.attendance.events", key=key.encode(), value=event.to_bytes()).get(timeout=10)
        producer.close()
        # (this fresh consumer group also reads the topic's earlier events, whose enrollments live in other
        # tests' databases: those are dead-lettered too, so look for this event by id)
        wait_until(lambda: any(d.headers.get("dlq.event.id") == event.id
                               for d in dlq.list_dead_letters(kafka, "enrollment")))
        waiting = dlq.pending(kafka, "enrollment")
        assert waiting >= before + 1
        listed = runner.invoke(app, ["dlq", "list", "enrollment", "--bootstrap", kafka])
        assert listed.exit_code == 0, listed.output
        assert f"{waiting} not yet replayed" in listed.output

        enrollment = client.post(f"{E}/applications/{app_id}/accept", headers=staff).json()["enrollment_id"]
        replayed = runner.invoke(app, ["dlq", "replay", "enrollment", "--bootstrap", kafka])
        assert replayed.exit_code == 0, replayed.output
        assert f"replayed {waiting} message(s)" in replayed.output
        wait_until(lambda: client.get(f"{E}/enrollments/{enrollment}", headers=staff).json()["status"]
                   == "completed")
        # replayed once and applied: it was not dead-lettered a second time
        time.sleep(1)
        assert [d.headers.get("dlq.event.id") for d in dlq.list_dead_letters(kafka, "enrollment")].count(event.id) == 1
        again = runner.invoke(app, ["dlq", "replay", "enrollment", "--bootstrap", kafka])
        assert again.exit_code == 0, again.output
        assert [d.headers.get("dlq.event.id") for d in dlq.list_dead_letters(kafka, "enrollment")].count(event.id) == 1


def test_import_command_reports_every_row_of_a_large_file(kafka, databases, tmp_path, monkeypatch):
    staff = token(["admissions"], ["*"])
    with serving("enrollment", database_url=databases.new("enrcli"), kafka_bootstrap_servers=kafka,
                 consumer_enabled=False) as base:
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
        result = runner.invoke(app, ["import", "applications", str(source), "--cohort", cohort, "--chunk", "100",
                                     "--report", str(report)])
        assert result.exit_code == 0, result.output
        assert "450 imported, 1 refused" in result.output
        lines = report.read_text(encoding="utf-8-sig").splitlines()
        assert len(lines) == 452
        assert lines[-1].startswith("452,refused")
