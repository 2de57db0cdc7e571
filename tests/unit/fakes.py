"""The fake unit of work every service's use-case tests run on: no database, no broker.

Bind it to a service's in-memory repository (``tests/unit/<service>/fakes.py``)::

    uow = FakeUnitOfWork(FakeRepository())
    with uow:
        seats.accept(uow, ...)
        uow.commit()
    assert uow.committed and [t for t, _ in uow.published] == [events.TRAINEE_ENROLLED]

``emitted`` holds the events of the open transaction; ``commit`` moves them to ``published``
and ``rollback`` drops them, as the outbox would. The repository decides what a rollback
does to its rows (``snapshot``/``restore`` if it has them).
"""
from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.events import CloudEvent, EventData
from shared.unit_of_work import UnitOfWork

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


class FakeUnitOfWork(UnitOfWork[R], Generic[R]):
    def __init__(self, repo: R) -> None:
        self.repo = repo
        self.emitted: list[tuple[str, Any]] = []
        self.published: list[tuple[str, Any]] = []
        self.processed: set[str] = set()
        self._claimed: set[str] = set()
        self.keys: dict[tuple[str, str], tuple[str, str | None]] = {}
        self._pending_keys: dict[tuple[str, str], tuple[str, str | None]] = {}
        self.commits = 0
        self._saved: Any = None

    def __enter__(self) -> FakeUnitOfWork[R]:
        snapshot = getattr(self.repo, "snapshot", None)
        self._saved = snapshot() if snapshot else None
        return self

    @property
    def committed(self) -> bool:
        return self.commits > 0

    def commit(self) -> None:
        self.commits += 1
        self.published.extend(self.emitted)
        self.emitted.clear()
        self.processed |= self._claimed
        self._claimed.clear()
        self.keys.update(self._pending_keys)
        self._pending_keys.clear()
        snapshot = getattr(self.repo, "snapshot", None)
        self._saved = snapshot() if snapshot else None

    def rollback(self) -> None:
        self.emitted.clear()
        self._claimed.clear()
        self._pending_keys.clear()
        restore = getattr(self.repo, "restore", None)
        if restore and self._saved is not None:
            restore(self._saved)

    def emit(self, event_type: str, data: EventData | dict) -> str:
        self.emitted.append((event_type, data))
        return f"fake-{len(self.published) + len(self.emitted)}"

    def emit_rows(self, rows: list[dict]) -> None:
        self.emitted.extend((row["event_type"], row["payload"]) for row in rows)

    def claim(self, events: list[CloudEvent]) -> set[str]:
        fresh = {e.id for e in events} - self.processed - self._claimed
        self._claimed |= fresh
        return fresh

    def replay(self, idem: Any, model: type[M]) -> M | None:
        key = (idem.scope, idem.key)
        stored = self.keys.get(key) or self._pending_keys.get(key)
        if stored is None:
            self._pending_keys[key] = (idem.request_hash, None)
            return None
        request_hash, body = stored
        if request_hash != idem.request_hash:
            from shared.problems import Problem
            raise Problem(422, "idempotency-key-reused", "Idempotency key reused",
                          "This Idempotency-Key was used with a different request body.")
        return model.model_validate_json(body) if body is not None else None

    def remember(self, idem: Any, response: BaseModel, status_code: int = 200) -> None:
        self._pending_keys[(idem.scope, idem.key)] = (idem.request_hash, response.model_dump_json())

    def events_of(self, event_type: str) -> list[Any]:
        return [data for t, data in self.published if t == event_type]
