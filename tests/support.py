"""Test support: the real broker and PostgreSQL, service apps, tokens and an event reader.

Broker: ``TRAININGOPS_TEST_KAFKA`` if set, else a Kafka container when a Docker engine
answers, else the local tansu broker. PostgreSQL: ``TRAININGOPS_TEST_POSTGRES`` (a server
URL) if set, else a PostgreSQL container when Docker answers, else the local server on
127.0.0.1:5432. Each test module gets fresh databases.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from shared.auth import mint_token
from shared.events import CloudEvent
from shared.kafka import ensure_topics
from shared.settings import LOCAL_JWT_SECRET
from trainingops.broker import LocalBroker

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def postgres_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def broker_endpoint() -> Iterator[tuple[str, LocalBroker | None]]:
    if os.environ.get("TRAININGOPS_TEST_KAFKA"):
        yield os.environ["TRAININGOPS_TEST_KAFKA"], None
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as kafka:
            yield kafka.get_bootstrap_server(), None
        return
    with LocalBroker() as broker:
        yield broker.bootstrap, broker


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    if os.environ.get("TRAININGOPS_TEST_POSTGRES"):
        yield os.environ["TRAININGOPS_TEST_POSTGRES"]
        return
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver=None) as pg:
            yield pg.get_connection_url()
        return
    yield LOCAL_POSTGRES


class Databases:
    """Creates throw-away databases on one server and drops them at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def new(self, label: str) -> str:
        name = f"t_{label}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        base = self.server_url.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def token(
    roles: list[str] | tuple[str, ...], campuses: list[str] | tuple[str, ...] = ("*",), sub: str | None = None
) -> dict[str, str]:
    """Authorization header for a local HS256 token."""
    return {
        "Authorization": "Bearer "
        + mint_token(sub or f"staff-{uuid.uuid4().hex[:8]}", roles, campuses, secret=LOCAL_JWT_SECRET)
    }


def service_settings(service: str, **overrides: Any) -> Any:
    import importlib

    cls = importlib.import_module(f"services.{service}.settings").Settings
    defaults = dict(
        environment="test",
        consumer_session_timeout_ms=6000,
        consumer_heartbeat_interval_ms=1000,
        consumer_max_poll_interval_ms=10000,
        outbox_poll_interval_s=0.2,
        consumer_retry_backoff_s=0.05,
        consumer_group_id=f"trainingops.{service}.{uuid.uuid4().hex[:6]}",
    )
    defaults.update(overrides)
    return cls(**defaults)


@contextlib.contextmanager
def running_service(service: str, **overrides: Any) -> Iterator[TestClient]:
    """The service's real app (migrations, relay, consumer) behind a TestClient."""
    import importlib

    create_app = importlib.import_module(f"services.{service}.main").create_app
    app = create_app(service_settings(service, **overrides))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class EventReader:
    """Reads a topic from the beginning and keeps every CloudEvent seen."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap.split(","),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            consumer_timeout_ms=500,
        )
        self.events: list[CloudEvent] = []
        self.keys: list[str] = []
        self.raw_headers: list[list[tuple[str, bytes]]] = []

    def poll(self) -> None:
        for batch in self.consumer.poll(timeout_ms=500).values():
            for record in batch:
                try:
                    event = CloudEvent.from_bytes(record.value)
                except (ValueError, TypeError):  # another test's poison record or tombstone on the shared topic
                    continue
                self.events.append(event)
                self.keys.append(record.key.decode() if record.key else "")
                self.raw_headers.append(list(record.headers or []))

    def wait_for(self, predicate: Callable[[list[CloudEvent]], bool], timeout: float = 30.0) -> list[CloudEvent]:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if predicate(self.events):
                return self.events
            if time.monotonic() > deadline:
                types = [e.type.split(".")[-2] for e in self.events]
                raise AssertionError(f"events never matched within {timeout}s; seen: {types}")

    def of_type(self, suffix: str) -> list[CloudEvent]:
        return [e for e in self.events if e.type.endswith(suffix)]

    def close(self) -> None:
        self.consumer.close()


def wait_until(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def prepare_topics(bootstrap: str) -> None:
    ensure_topics(bootstrap)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)


@contextlib.contextmanager
def serving(service: str, **overrides: Any) -> Iterator[str]:
    """The service's real app under uvicorn in a thread; yields its base URL (for concurrency and benchmarks)."""
    import importlib
    import threading

    import uvicorn

    from trainingops.broker import free_port, wait_for_port

    create_app = importlib.import_module(f"services.{service}.main").create_app
    port = free_port()
    config = uvicorn.Config(
        create_app(service_settings(service, **overrides)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port, timeout_s=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@contextlib.contextmanager
def service_process(service: str, env: dict[str, str]) -> Iterator[str]:
    """The service as operators run it: uvicorn in a process of its own; yields its base URL."""
    import subprocess
    import sys

    from trainingops.broker import free_port, wait_for_port

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"services.{service}.main:create_app",
            "--factory",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout_s=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
