"""Readiness says whether the process can serve its API; liveness whether its background threads still work.

Real broker and PostgreSQL: the broker is stopped or frozen, the database dropped, a consumer stopped or
stuck on a row lock, and the probes are read as an orchestrator reads them.
"""

from __future__ import annotations

import os
import signal

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from services.attendance.main import create_app as attendance_app
from services.enrollment.main import create_app as enrollment_app
from shared import events
from shared.events import build_event, topic_for
from shared.kafka import ensure_topics
from tests.integration.attendance.helpers import snapshot, today
from tests.support import service_settings, wait_until
from trainingops.broker import LocalBroker


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_broker_stopped_or_frozen_keeps_the_pod_ready_and_says_the_broker_is_down(databases):
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        settings = service_settings(
            "enrollment", database_url=databases.new("ready_broker"), kafka_bootstrap_servers=broker.bootstrap
        )
        with TestClient(enrollment_app(settings)) as client:
            r = wait_until(lambda: (r := client.get("/readyz")).json().get("broker") == "reachable" and r)
            assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "migrations": "ok"}
            assert metric(client, "trainingops_broker_reachable") == 1.0

            # Frozen: its kernel still accepts TCP connections, but no Kafka request is answered.
            os.kill(broker.process.pid, signal.SIGSTOP)
            try:
                r = wait_until(
                    lambda: (r := client.get("/readyz")).json().get("broker") == "unreachable" and r, timeout=20
                )
                assert r.status_code == 200, r.text
            finally:
                os.kill(broker.process.pid, signal.SIGCONT)
            wait_until(lambda: client.get("/readyz").json().get("broker") == "reachable", timeout=20)

            broker.stop()
            r = wait_until(lambda: (r := client.get("/readyz")).json().get("broker") == "unreachable" and r, timeout=20)
            assert r.status_code == 200, r.text  # the API still answers: the outbox keeps the events
            assert r.json()["status"] == "ready" and r.json()["outbox"]["pending"] == 0
            assert metric(client, "trainingops_broker_reachable") == 0.0
            assert client.get("/healthz").status_code == 200  # a broker outage restarts no pod


def test_database_unreachable_is_not_ready(databases):
    url = databases.new("ready_db")
    settings = service_settings(
        "enrollment",
        database_url=url,
        relay_enabled=False,
        consumer_enabled=False,
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    with TestClient(enrollment_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        with psycopg.connect(databases.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        r = client.get("/readyz")
        assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "not-ready" and r.json()["checks"]["database"] == "unreachable", r.text
        assert client.get("/healthz").status_code == 200  # alive: restarting would not bring the database back


def test_migrations_not_applied_is_not_ready(databases):
    settings = service_settings(
        "enrollment",
        database_url=databases.new("ready_mig"),
        auto_migrate=False,
        relay_enabled=False,
        consumer_enabled=False,
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    with TestClient(enrollment_app(settings)) as client:
        r = client.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["checks"] == {"database": "ok", "migrations": "not applied"}, r.text


def test_a_stopped_consumer_or_relay_thread_fails_liveness(kafka, databases):
    settings = service_settings("attendance", database_url=databases.new("live_dead"), kafka_bootstrap_servers=kafka)
    with TestClient(attendance_app(settings)) as client:
        r = client.get("/healthz")
        assert r.status_code == 200 and set(r.json()["threads"]) == {"relay", "consumer"}, r.text
        client.app.state.consumer.stop()  # the thread ends, as one that died would
        r = client.get("/healthz")
        assert r.status_code == 503 and r.json()["threads"]["consumer"] == "dead", r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        client.app.state.relay.stop()
        assert client.get("/healthz").json()["threads"]["relay"] == "dead"
        assert client.get("/readyz").status_code == 200  # still able to serve; liveness is what restarts it


def test_a_consumer_stuck_on_a_row_lock_fails_liveness_and_recovers(kafka, databases):
    url = databases.new("live_stall")
    settings = service_settings(
        "attendance",
        database_url=url,
        kafka_bootstrap_servers=kafka,
        consumer_max_poll_interval_ms=3000,
        consumer_liveness_timeout_s=4,
    )
    event, key = build_event(
        events.COHORT_PUBLISHED, events.CohortPublished(**snapshot("jungbu", today(), today()).model_dump())
    )
    with TestClient(attendance_app(settings)) as client:
        wait_until(lambda: client.get("/healthz").json()["threads"]["consumer"].startswith("polling"))
        # Another transaction holds the event's id: the consumer's claim waits on it, as on any row lock.
        with psycopg.connect(url) as blocker:
            blocker.execute(
                "INSERT INTO processed_event (event_id, event_type, processed_at) VALUES (%s, %s, now())",
                (event.id, event.type),
            )
            producer = KafkaProducer(bootstrap_servers=kafka.split(","), acks="all")
            producer.send(topic_for("enrollment"), key=key.encode(), value=event.to_bytes()).get(timeout=15)
            producer.close(5)
            r = wait_until(lambda: (r := client.get("/healthz")).status_code == 503 and r, timeout=60)
            assert r.json()["threads"]["consumer"].startswith("stalled"), r.text
            blocker.rollback()
        wait_until(lambda: client.get("/healthz").status_code == 200, timeout=60)


def test_liveness_bound_must_be_well_above_max_poll_interval():
    with pytest.raises(ValueError, match="LIVENESS_TIMEOUT"):
        service_settings("attendance", consumer_max_poll_interval_ms=30000, consumer_liveness_timeout_s=20)
    assert service_settings("attendance", consumer_max_poll_interval_ms=30000).consumer_liveness_timeout_s == 150


def test_alert_rules_watch_what_readiness_reports_but_does_not_fail_on():
    from pathlib import Path

    import yaml

    rules = {
        r["alert"]: r["expr"]
        for g in yaml.safe_load(
            (Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml").read_text()
        )["groups"]
        for r in g["rules"]
    }
    assert "trainingops_broker_reachable" in rules["TrainingOpsBrokerUnreachable"]
    assert "trainingops_outbox_oldest_age_seconds" in rules["TrainingOpsOutboxStale"]
    assert (
        "deriv(" in rules["TrainingOpsConsumerLagGrowing"]
        and "trainingops_consumer_lag" in rules["TrainingOpsConsumerLagGrowing"]
    )
