"""In-memory stand-ins for the use-case tests: a unit of work with no database, and a clock that stands still.

A service's use-case tests (``tests/unit/<service>/test_use_cases.py``) build the service's fake repository
(``tests/unit/<service>/fakes.py``) and pass ``FakeUnitOfWork(repo)`` where the API passes a
``SqlUnitOfWork``. The fake keeps what a test asserts on: the events emitted by committed work, whether
the work committed, and the idempotency keys' stored answers (with the real rules: same key and body
replays, same key and another body is refused).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from shared.clock import Clock
from shared.events import CloudEvent, EventData
from shared.idempotency import Idempotency
from shared.problems import Problem
from shared.unit_of_work import UnitOfWork

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


class FakeUnitOfWork(UnitOfWork[R], Generic[R]):
    def __init__(self, repo: R) -> None:
        self.repo = repo
        self.committed = 0
        self.open = False
        self.events: list[tuple[str, dict[str, Any]]] = []  # emitted by work that committed, in order
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self.processed: set[str] = set()
        self._claims: set[str] = set()
        self.keys: dict[tuple[str, str], tuple[str, str | None]] = {}  # (scope, key) -> (request hash, answer)
        self._keys: dict[tuple[str, str], tuple[str, str | None]] = {}

    def __enter__(self) -> FakeUnitOfWork[R]:
        if self.open:
            raise RuntimeError("the unit of work is already open: a use case opens it once")
        self.open = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()
        self.open = False

    def commit(self) -> None:
        self.events += self._pending
        self.processed |= self._claims
        self.keys.update(self._keys)
        self.committed += 1
        self._pending, self._claims, self._keys = [], set(), {}
        commit = getattr(self.repo, "commit", None)
        if commit:
            commit()

    def rollback(self) -> None:
        self._pending, self._claims, self._keys = [], set(), {}
        rollback = getattr(self.repo, "rollback", None)
        if rollback:
            rollback()

    def claim(self, events: list[CloudEvent]) -> set[str]:
        fresh = {e.id for e in events} - self.processed - self._claims
        self._claims |= fresh
        return fresh

    def emit(self, event_type: str, data: EventData | dict[str, Any]) -> str:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        self._pending.append((event_type, payload))
        return f"fake-{len(self.events) + len(self._pending)}"

    def emitted(self, event_type: str) -> list[dict[str, Any]]:
        """The data of the committed events of one type."""
        return [data for t, data in self.events if t == event_type]

    def replay(self, idem: Idempotency | None, model: type[M]) -> M | None:
        if idem is None:
            return None
        ident = (idem.scope, idem.key)
        stored = self._keys.get(ident) or self.keys.get(ident)
        if stored is None:
            self._keys[ident] = (idem.request_hash, None)
            return None
        request_hash, answer = stored
        if request_hash != idem.request_hash:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency key reused",
                "This Idempotency-Key was used with a different request body.",
            )
        if answer is None:
            raise Problem(409, "idempotency-key-in-progress", "Request in progress", "Still being processed.")
        return model.model_validate_json(answer)

    def remember(self, idem: Idempotency | None, response: BaseModel, status_code: int = 200) -> None:
        if idem is not None:
            self._keys[(idem.scope, idem.key)] = (idem.request_hash, response.model_dump_json())


class FixedClock(Clock):
    """A clock that reads what the test set: ``FixedClock(date(2026, 3, 2), time(9, 5))``."""

    def __init__(self, day: date, at: time = time(9, 0), zone: str = "Asia/Seoul") -> None:
        super().__init__(zone)
        self.instant = datetime.combine(day, at, tzinfo=ZoneInfo(zone))

    def now(self) -> datetime:
        return self.instant

    def set(self, day: date, at: time = time(9, 0)) -> None:
        self.instant = datetime.combine(day, at, tzinfo=self.zone)
