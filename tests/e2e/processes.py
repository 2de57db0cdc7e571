"""The four services as separate uvicorn processes, each with its own fresh PostgreSQL database.

``Platform.start`` runs one process per service (``replicas=2``: two processes per service
sharing the service's database and consumer group, on different ports). Each process logs
to a file; ``Platform.diagnose()`` prints the tails of every log when the block fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.registry import NAMES as SERVICES
from trainingops.broker import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServiceProcess:
    name: str
    replica: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a Prometheus counter's samples whose labels include ``labels``."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            m = re.match(rf"^{re.escape(name)}\{{(.*)\}} ([0-9.eE+-]+)$", line)
            if not m:
                continue
            have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m.group(2))
        return total

    def assigned(self, topic: str) -> set[int]:
        """Partitions of ``topic`` this process's consumer has reported lag for (i.e. has been assigned)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        return {
            int(m.group(1))
            for m in re.finditer(
                rf'^trainingops_consumer_lag\{{[^}}]*topic="{re.escape(topic)}"[^}}]*partition="(\d+)"[^}}]*\}}',
                text,
                re.M,
            )
        } | {
            int(m.group(1))
            for m in re.finditer(
                rf'^trainingops_consumer_lag\{{[^}}]*partition="(\d+)"[^}}]*topic="{re.escape(topic)}"[^}}]*\}}',
                text,
                re.M,
            )
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Platform:
    kafka: str
    log_dir: Path
    databases: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    processes: list[ServiceProcess] = field(default_factory=list)

    def urls(self, replica: int = 0) -> dict[str, str]:
        return {p.name: p.url for p in self.processes if p.replica == replica}

    def replicas(self, name: str) -> list[ServiceProcess]:
        return [p for p in self.processes if p.name == name]

    def spawn(self, name: str, replica: int) -> ServiceProcess:
        port = free_port()
        env = dict(os.environ)
        env.update(
            {
                f"{name.upper()}_DATABASE_URL": self.databases[name],
                "TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS": self.kafka,
                "TRAININGOPS_ENVIRONMENT": "test",
                "TRAININGOPS_CONSUMER_SESSION_TIMEOUT_MS": "6000",
                "TRAININGOPS_CONSUMER_HEARTBEAT_INTERVAL_MS": "1000",
                "TRAININGOPS_CONSUMER_MAX_POLL_INTERVAL_MS": "10000",
                "TRAININGOPS_OUTBOX_POLL_INTERVAL_S": "0.2",
                "TRAININGOPS_CONSUMER_RETRY_BACKOFF_S": "0.05",
                f"{name.upper()}_CONSUMER_GROUP_ID": self.groups[name],
                f"{name.upper()}_KAFKA_CLIENT_ID_PREFIX": f"e2e-r{replica}",
                # The journey enters a month of marks within seconds; the at-risk sweep (every 60 s by default) would
                # see the not-yet-entered past sessions as absences and warn. It still runs, just not mid-test.
                "ATTENDANCE_CLOSER_INTERVAL_S": "900",
            }
        )
        log_path = self.log_dir / f"{name}-{replica}.log"
        log = open(log_path, "ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"services.{name}.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        sp = ServiceProcess(name, replica, port, log_path, process)
        self.processes.append(sp)
        return sp

    def wait_ready(self, procs: list[ServiceProcess], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(procs)
        while pending:
            for p in list(pending):
                if p.process.poll() is not None:
                    raise RuntimeError(f"{p.name}#{p.replica} exited with {p.process.returncode}:\n{p.log_tail()}")
                try:
                    if httpx.get(f"{p.url}/readyz", timeout=2).status_code == 200:
                        pending.remove(p)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(
                    "not ready in time: " + ", ".join(f"{p.name}#{p.replica}:\n{p.log_tail()}" for p in pending)
                )
            time.sleep(0.3)

    def start(self, replicas: int = 1) -> Platform:
        # The first replica migrates its database; the second starts once the first is ready.
        for r in range(replicas):
            self.wait_ready([self.spawn(name, r) for name in SERVICES])
        if replicas > 1:
            self.wait_assigned()
        return self

    def wait_assigned(self, timeout: float = 60.0) -> None:
        """Until every later replica's consumer reports partitions: the group has rebalanced onto all members
        (the first replica had every partition; it gave some up before the newcomer got any)."""
        from shared.events import topic_for

        later = [p for p in self.processes if p.replica > 0]
        topic = {
            "attendance": topic_for("enrollment"),
            "certification": topic_for("enrollment"),
            "placement": topic_for("attendance"),
            "enrollment": topic_for("attendance"),
        }
        deadline = time.monotonic() + timeout
        while True:
            missing = [f"{p.name}#{p.replica}" for p in later if not p.assigned(topic[p.name])]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"no partitions assigned to {missing} after {timeout}s:\n{self.dump_logs()}")
            time.sleep(0.5)

    def stop(self) -> None:
        for p in self.processes:
            if p.process.poll() is None:
                p.process.send_signal(signal.SIGINT)
        for p in self.processes:
            p.stop()

    def dump_logs(self, lines: int = 60) -> str:
        return "\n".join(
            f"===== {p.name}#{p.replica} (port {p.port}, exit {p.process.poll()}) {p.log_path}\n{p.log_tail(lines)}"
            for p in self.processes
        )

    @contextlib.contextmanager
    def diagnose(self) -> Iterator[None]:
        """On any failure inside the block, print every process's log tail (pytest shows it with the failure)."""
        try:
            yield
        except BaseException:
            print(self.dump_logs())
            raise


@contextlib.contextmanager
def platform(kafka: str, databases, log_dir: Path, label: str, replicas: int = 1) -> Iterator[Platform]:
    """Fresh databases and consumer groups, the four services (x replicas) running; stopped at the end."""
    run = uuid.uuid4().hex[:8]
    p = Platform(
        kafka=kafka,
        log_dir=log_dir,
        databases={s: databases.new(f"{label}_{s[:4]}") for s in SERVICES},
        groups={s: f"trainingops.{s}.{label}-{run}" for s in SERVICES},
    )
    try:
        try:
            p.start(replicas)
        except Exception:
            print(p.dump_logs())
            raise
        yield p
    finally:
        p.stop()
