"""What ``/healthz`` (liveness) and ``/readyz`` (readiness) answer, and the figures they report.

Readiness asks "can this process serve its API?": its database answers and carries the
schema this code expects (the Alembic head). The broker is NOT a readiness condition: while
it is away the API keeps answering and the outbox keeps the events, so taking every pod out
of rotation would turn a broker outage into a full outage. Broker reachability, the age of
the oldest unsent outbox row and the consumer's lag are reported (body and metrics) for the
alerts in ``deploy/prometheus/alerts.yml``.

Liveness asks "is this process still doing its work?": a consumer thread that has died, or
whose poll loop has not turned for longer than a bound well above ``max_poll_interval``
(a handler stuck on a lock, say), fails it, and the orchestrator restarts the pod. So does a
dead outbox relay thread. Nothing outside the process (database, broker) is asked.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from shared.db import Database
from shared.migrations import alembic_config
from shared.tables import outbox


# -- the broker --------------------------------------------------------------------------------------------
def _api_versions_request(correlation: int) -> bytes:
    client = b"trainingops-probe"
    body = struct.pack(">hhih", 18, 0, correlation, len(client)) + client  # ApiVersions v0: every broker has it
    return struct.pack(">i", len(body)) + body


def broker_answers(bootstrap: str, timeout: float = 1.0) -> bool:
    """True if a broker of ``bootstrap`` answers a Kafka request within ``timeout``.

    A TCP connect is not enough: a frozen broker's kernel still accepts connections."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(_api_versions_request(7))
                head = b""
                while len(head) < 8:
                    chunk = s.recv(8 - len(head))
                    if not chunk:
                        break
                    head += chunk
                if len(head) == 8 and struct.unpack(">ii", head)[1] == 7:
                    return True
        except (OSError, ValueError):
            continue
    return False


class BrokerWatch:
    """``broker_answers`` at most every ``every_s`` seconds: the probe and the scrape share one answer."""

    def __init__(self, bootstrap: str, every_s: float = 5.0) -> None:
        self.bootstrap, self.every_s = bootstrap, every_s
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._up = False

    def reachable(self) -> bool:
        with self._lock:
            if time.monotonic() - self._at >= self.every_s:
                self._up = broker_answers(self.bootstrap)
                self._at = time.monotonic()
            return self._up


# -- the database and its schema ----------------------------------------------------------------------------
@cache
def _history(service: str) -> tuple[frozenset[str], frozenset[str]]:
    """(heads, every revision) of the service's Alembic scripts; they do not change while the process runs."""
    script = ScriptDirectory.from_config(alembic_config(service, "sqlite://"))
    return frozenset(script.get_heads()), frozenset(r.revision for r in script.walk_revisions())


def migration_state(service: str, db: Database) -> str:
    """'ok' (at this code's head), 'ahead' (a newer release migrated it; expand-only migrations keep this code
    working), 'behind' (older than this code expects) or 'not applied'."""
    heads, known = _history(service)
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if not current:
        return "not applied"
    if current == heads:
        return "ok"
    if current - known:
        return "ahead"
    return "behind"


def outbox_state(db: Database) -> tuple[int, float]:
    """(rows waiting, age in seconds of the oldest; 0 when none wait)."""
    with db.engine.connect() as conn:
        count, oldest = conn.execute(select(func.count(), func.min(outbox.c.created_at)).select_from(outbox)).one()
    if oldest is None:
        return int(count), 0.0
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), max(0.0, (datetime.now(UTC) - oldest).total_seconds())


# -- liveness -------------------------------------------------------------------------------------------------
@dataclass
class Watched:
    """A background thread liveness watches; ``beat`` reads when its loop last turned (None: not measured)."""

    name: str
    thread: threading.Thread | None
    beat: Callable[[], float | None]
    stall_after_s: float | None = None

    def state(self, now: float) -> tuple[bool, str]:
        if self.thread is None or not self.thread.is_alive():
            return False, "dead"
        if self.stall_after_s is None:
            return True, "running"
        last = self.beat()
        age = now - last if last is not None else 0.0
        if age > self.stall_after_s:
            return False, f"stalled: last poll {age:.0f}s ago (bound {self.stall_after_s:.0f}s)"
        return True, f"polling (last {age:.1f}s ago)"


class Liveness:
    def __init__(self) -> None:
        self.watched: list[Watched] = []

    def watch(
        self,
        name: str,
        thread: threading.Thread | None,
        beat: Callable[..., float | None] = lambda: None,
        stall_after_s: float | None = None,
    ) -> None:
        self.watched.append(Watched(name, thread, beat, stall_after_s))

    def check(self) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        states = {w.name: w.state(now) for w in self.watched}
        return all(ok for ok, _ in states.values()), {name: text for name, (_, text) in states.items()}
