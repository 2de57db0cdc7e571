"""`make run` (python -m trainingops.run) as a user runs it: a taken port, a service that crashes, a SIGKILL.

Each run gets free ports and a data directory of its own, so these tests neither need nor disturb 9092/8001-8004.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from shared.registry import NAMES as SERVICES
from trainingops.broker import free_port

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; parent-death is Linux's")


class Run:
    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.ports = {"kafka": free_port(), "web": free_port(), **{s: free_port() for s in SERVICES}}
        self.env = {k: v for k, v in os.environ.items() if k != "TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS"}
        self.env.update(
            {
                "TRAININGOPS_KAFKA_PORT": str(self.ports["kafka"]),
                "TRAININGOPS_DATA_DIR": str(tmp_path),
                "PYTHONUNBUFFERED": "1",
                "WEB_PORT": str(self.ports["web"]),
                **{f"{s.upper()}_PORT": str(self.ports[s]) for s in SERVICES},
                **extra,
            }
        )
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, command: list[str] | None = None) -> Run:
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "trainingops.run"],
            cwd=ROOT,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()  # type: ignore
        return self

    def wait_for(self, text: str, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never printed:\n{''.join(self.lines)}")
            time.sleep(0.2)

    def children(self, of: int | None = None) -> dict[int, str]:
        """pid -> command line of each child of the run process (of ``make``'s child, when make runs it)."""
        assert self.process is not None
        pids: list[int] = []
        for task in Path(f"/proc/{of or self.process.pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        found = {pid: Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in pids}
        runs = [pid for pid, cmd in found.items() if "trainingops.run" in cmd]
        return self.children(runs[0]) | {runs[0]: found[runs[0]]} if of is None and runs else found

    def healthy(self, service: str) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.ports[service]}/healthz", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def served(children: dict[int, str]) -> dict[str, int]:
    """What each uvicorn child serves (a service's name, or "console") -> its pid."""
    return {
        (cmd.split("services.")[1].split(".")[0] if "services." in cmd else "console"): pid
        for pid, cmd in children.items()
        if "uvicorn" in cmd
    }


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@contextmanager
def running(tmp_path: Path, command: list[str] | None = None) -> Iterator[Run]:
    run = Run(tmp_path).start(command)
    try:
        run.wait_for("Ready.")
        yield run
    finally:
        assert run.process is not None
        for pid in list(run.children()) if run.process.poll() is None else []:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if run.process.poll() is None:
            run.process.kill()
        run.process.wait(30)


def holding(port: int) -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


@pytest.mark.parametrize("what", ["kafka", "attendance"])
def test_a_taken_port_stops_make_run_at_once_naming_the_port_and_its_setting(tmp_path, what):
    run = Run(tmp_path)
    with holding(run.ports[what]):
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "trainingops.run"],
                cwd=ROOT,
                env=run.env,
                text=True,
                capture_output=True,
                timeout=30,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"make run went on with port {run.ports[what]} taken:\n{exc.stdout}") from None
    setting = "TRAININGOPS_KAFKA_PORT" if what == "kafka" else "ATTENDANCE_PORT"
    assert done.returncode != 0, done.stdout
    assert f"port {run.ports[what]}" in done.stdout and f"{setting}=" in done.stdout, done.stdout
    assert time.monotonic() - started < 15
    assert not port_in_use("127.0.0.1", run.ports["kafka"]) or what == "kafka"  # no broker was left behind
    assert not list(tmp_path.glob("*.log")), "something was started"


def assert_all_die(run: Run, children: dict[int, str]) -> None:
    deadline = time.monotonic() + 60  # the services stop in order (SIGTERM), the broker at once (SIGKILL)
    while [pid for pid in children if alive(pid)]:
        assert time.monotonic() < deadline, {pid: children[pid] for pid in children if alive(pid)}
        time.sleep(0.2)
    # nothing left holding a port: the next make run can start at once
    assert not [p for p in run.ports.values() if port_in_use("127.0.0.1", p)]


def test_a_crashed_service_is_restarted_and_a_sigkill_takes_the_broker_and_services_along(tmp_path):
    """One run, two faults: a service killed (restarted, the others untouched), then make run itself killed."""
    with running(tmp_path) as run:
        before = served(run.children())
        assert set(before) == {*SERVICES, "console"}, run.children()
        os.kill(before["attendance"], signal.SIGKILL)
        run.wait_for("attendance    exited with -9; restarting", timeout=20)
        deadline = time.monotonic() + 90
        while not run.healthy("attendance"):
            assert run.process.poll() is None, "".join(run.lines)
            assert all(run.healthy(s) for s in ("enrollment", "certification", "placement")), "".join(run.lines)
            assert time.monotonic() < deadline, "".join(run.lines)
            time.sleep(0.5)
        run.wait_for("attendance    restarted")
        children = run.children()
        after = served(children)
        assert after["attendance"] != before["attendance"]
        others = ("enrollment", "certification", "placement", "console")
        assert {s: after[s] for s in others} == {s: before[s] for s in others}

        # the broker, the four services and the console
        assert len([pid for pid, cmd in children.items() if "tansu" in cmd]) == 1 and len(children) == 6, children
        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(10)
        assert_all_die(run, children)


def test_the_broker_and_the_services_die_with_a_sigkilled_make(tmp_path):
    with running(tmp_path, ["make", "run"]) as run:
        children = run.children()  # make's child (python -m trainingops.run) and its six
        assert len([pid for pid, cmd in children.items() if "tansu" in cmd]) == 1 and len(children) == 7, children
        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(10)
        assert_all_die(run, children)
