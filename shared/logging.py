"""Structured JSON logs that carry the correlation id of the request or event at hand.

Every process calls ``configure_logging`` once it knows what it is: the service app
(``shared.app.create_service_app``, which also covers its relay, consumer and background
threads) and the operator CLI. Each line is one JSON object with ``ts``, ``level``,
``service``, ``logger``, ``message``, ``correlation_id``, ``causation_id`` (when an event
caused the work) and, on warnings and errors, ``error_type``.

Log records carry ids and codes only: names, birth dates and contact details never
go into a log line. An exception's message can hold the very data that failed (pydantic
repeats the input, a database's DETAIL repeats the key), so a logged exception keeps its
type and its stack, never its message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName", "color_message"}


def clean_correlation_id(value: str | None) -> str:
    """Accept a caller's correlation id only if it is a short token; otherwise mint one."""
    if value and _SAFE_ID.match(value):
        return value
    return str(uuid.uuid4())


def _type_name(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module in ("builtins", "__main__") else f"{module}.{exc_type.__qualname__}"


def stack_without_messages(exc: BaseException) -> str:
    """The traceback of ``exc`` and of its causes, each exception named by its type only."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"{_type_name(type(current))} (message withheld)\n{frames}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\nwhile handling or caused by:\n".join(reversed(parts)).rstrip()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": correlation_id.get(),
        }
        if causation_id.get():
            out["causation_id"] = causation_id.get()
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_") and key not in out:
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            out["error_type"] = type(exc).__name__
            out["exc"] = stack_without_messages(exc)
        elif record.levelno >= logging.WARNING:
            # The kernel names the error as extra={"error": "<type>"}, having caught it without logging its stack.
            out["error_type"] = str(out.pop("error", None) or "unspecified")
        return json.dumps(out, ensure_ascii=False, default=str)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs: found again and replaced when it is called again.

    With ``to`` ("stdout" or "stderr") it writes to whatever ``sys.<to>`` is at the time of each line, so a
    test runner swapping the streams never leaves it holding a closed one."""

    def __init__(self, stream: IO[str] | None, to: str) -> None:
        super().__init__(stream or getattr(sys, to))
        self.fixed, self.to = stream is not None, to

    def emit(self, record: logging.LogRecord) -> None:
        if not self.fixed:
            self.stream = getattr(sys, self.to)
        super().emit(record)


def configure_logging(service: str, level: str = "INFO", stream: IO[str] | None = None, to: str = "stdout") -> None:
    """JSON lines on ``stream`` (else ``sys.stdout``, or ``sys.stderr`` with ``to="stderr"``) for every
    logger of the process, uvicorn's included.

    Called again (tests build many apps in one process), it replaces its own handler and
    leaves any other (pytest's capture) alone. uvicorn's access logger is silenced: the
    app writes one access line per request itself (``shared.app.ObservabilityMiddleware``).
    """
    root = logging.getLogger()
    handler = _JsonHandler(stream, to)
    handler.setFormatter(JsonFormatter(service))
    root.handlers = [h for h in root.handlers if not isinstance(h, _JsonHandler)] + [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []  # uvicorn's own plain-text handler: its lines go through the root, as JSON
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate, access.disabled = [], False, True
    for noisy in ("kafka", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
