"""``make run``: the local broker, the topics and every service, until Ctrl-C.

Ports and URLs come from the environment: TRAININGOPS_KAFKA_PORT (9092),
<SERVICE>_PORT (the ports of shared.registry: enrollment 8001, attendance 8002, …),
WEB_PORT (8000, the staff console), TRAININGOPS_DATA_DIR (./data), TRAININGOPS_HOST (127.0.0.1). With
TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS set, that broker is used and none is started.

A port already taken stops the run before anything starts, naming the port and its
setting. The broker and the services end with this process however it ends (on Linux
the kernel kills them if it is killed, SIGKILL included). A service that exits is
reported and started again, with a growing pause if it keeps failing; the others go on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.kafka import ensure_topics
from shared.registry import SERVICES, RegisteredService
from trainingops.broker import LocalBroker, dies_with_parent, port_in_use, set_parent_death_signal, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_PORT = 8000
RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER_S = 60.0  # a service that ran this long before exiting starts again at the shortest pause


def say(text: str) -> None:
    print(text, flush=True)


def available_services() -> list[RegisteredService]:
    return [s for s in SERVICES if (ROOT / "services" / s.name / "main.py").exists()]


def port_of(service: RegisteredService) -> int:
    return int(os.environ.get(f"{service.env}_PORT", service.port))


def wanted_ports(host: str, start_broker: bool) -> list[tuple[str, str, int]]:
    """(what, the setting that chooses it, port) for every port this run will listen on."""
    out = []
    if start_broker:
        out.append(("the broker", "TRAININGOPS_KAFKA_PORT", int(os.environ.get("TRAININGOPS_KAFKA_PORT", "9092"))))
    for service in available_services():
        out.append((service.name, f"{service.env}_PORT", port_of(service)))
    if console_available():
        out.append(("the staff console", "WEB_PORT", int(os.environ.get("WEB_PORT", CONSOLE_PORT))))
    return out


def console_available() -> bool:
    return (ROOT / "web" / "main.py").exists()


def console(host: str, data_dir: Path) -> Service:
    """The staff console (web/) in front of the services: a client of their public APIs, on WEB_PORT (8000)."""
    port = int(os.environ.get("WEB_PORT", CONSOLE_PORT))
    env = dict(os.environ)
    env.setdefault("WEB_ENVIRONMENT", "local")
    env.setdefault("WEB_COOKIE_SECURE", "false")  # plain http on this machine
    env.setdefault("WEB_SESSION_STORE_URL", f"sqlite:///{data_dir / 'web-sessions.db'}")
    for service in available_services():
        env.setdefault(f"WEB_{service.env}_URL", f"http://{host}:{port_of(service)}")
    return Service(
        "console",
        port,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "web.main:create_app",
            "--factory",
            "--host",
            host,
            "--port",
            str(port),
            "--no-access-log",
        ],
        env,
        data_dir / "web.log",
    )


def taken_ports(host: str, ports: list[tuple[str, str, int]]) -> list[str]:
    """A message for each port that cannot be used (held by something else, or wanted twice)."""
    problems, seen = [], {}
    for what, setting, port in ports:
        bind_host = "127.0.0.1" if what == "the broker" else host
        if port in seen:
            problems.append(f"port {port} is wanted by both {seen[port]} and {what}: set {setting} to another port")
        elif port_in_use(bind_host, port):
            problems.append(
                f"port {port} on {bind_host} ({what}) is already in use, perhaps by a broker or service "
                f"left from an earlier run; stop it, or choose another port with {setting}=<port>"
            )
        seen.setdefault(port, what)
    return problems


@dataclass
class Service:
    name: str
    port: int
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=dies_with_parent(signal.SIGTERM),
            )
        self.started_at = time.monotonic()
        self.restart_at = None

    def supervise(self, now: float) -> None:
        """Start again a service that exited, after a pause that grows while it keeps failing."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
                say(f"{self.name:<14}restarted (attempt {self.failures}); log {self.log_path}")
            return
        if self.process is None or self.process.poll() is None:
            return
        code = self.process.returncode
        if now - self.started_at >= STABLE_AFTER_S:
            self.failures = 0
        pause = RESTART_BACKOFF_S[min(self.failures, len(RESTART_BACKOFF_S) - 1)]
        self.failures += 1
        self.restart_at = now + pause
        say(
            f"{self.name:<14}exited with {code}; restarting in {pause:.0f}s (the others keep running); "
            f"see {self.log_path}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def wait(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def main() -> int:
    # Ended with whoever started us (make, a shell): SIGTERM then stops everything in order.
    set_parent_death_signal(signal.SIGTERM)
    host = os.environ.get("TRAININGOPS_HOST", "127.0.0.1")
    data_dir = Path(os.environ.get("TRAININGOPS_DATA_DIR", ROOT / "data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    bootstrap = os.environ.get("TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS")
    problems = taken_ports(host, wanted_ports(host, start_broker=not bootstrap))
    if problems:
        for problem in problems:
            say(f"make run: {problem}")
        say("make run: nothing was started.")
        return 2

    stopping = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

    broker = None
    if not bootstrap:
        port = int(os.environ.get("TRAININGOPS_KAFKA_PORT", "9092"))
        broker = LocalBroker(port=port, log_path=str(data_dir / "broker.log"), die_with_parent=True).start()
        bootstrap = broker.bootstrap
        say(f"broker        tansu on {bootstrap} (in memory; log {data_dir / 'broker.log'})")
    services: list[Service] = []
    try:
        ensure_topics(bootstrap)
        for registered in available_services():
            if stopping:
                return 0
            name, port = registered.name, port_of(registered)
            env = dict(os.environ)
            env.setdefault("TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS", bootstrap)
            env.setdefault(f"{registered.env}_DATABASE_URL", f"sqlite:///{data_dir / (name + '.db')}")
            service = Service(
                name,
                port,
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"services.{name}.main:create_app",
                    "--factory",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                env,
                data_dir / f"{name}.log",
            )
            service.start()
            services.append(service)
            try:
                wait_for_port(host, port, timeout_s=60)
            except TimeoutError:
                say(f"{name} did not start; see {service.log_path}")
                return 1
            say(f"{name:<14}http://{host}:{port}{registered.prefix}/docs   (log {service.log_path})")
        if console_available() and not stopping:
            web = console(host, data_dir)
            web.start()
            services.append(web)
            try:
                wait_for_port(host, web.port, timeout_s=60)
            except TimeoutError:
                say(f"the staff console did not start; see {web.log_path}")
                return 1
            say(f"{'console':<14}http://{host}:{web.port}/   (the staff console; log {web.log_path})")
        say("Ready. Mint a staff token with: .venv/bin/trainingops token --role admissions --campus '*'")
        if console_available():
            say(
                f"Staff console: http://{host}:{int(os.environ.get('WEB_PORT', CONSOLE_PORT))}/  "
                "(sign in with a role and a campus)"
            )
        say("Ctrl-C stops everything.")
        while not stopping:
            now = time.monotonic()
            for service in services:
                service.supervise(now)
            if broker and broker.process and broker.process.poll() is not None:
                say(
                    f"the broker exited with {broker.process.returncode} (its topics were in memory); "
                    f"see {data_dir / 'broker.log'}. Stopping."
                )
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stop(services, broker)


def stop(services: list[Service], broker: LocalBroker | None) -> None:
    for service in services:
        service.stop()
    for service in services:
        service.wait()
    if broker:
        broker.stop()
    say("stopped")


if __name__ == "__main__":
    raise SystemExit(main())
