"""The console's log: JSON lines on stdout, like every process of the platform, each with the request's correlation
id, which the console also sends with every API call it makes for that request (``X-Correlation-ID``), so one
staff click can be followed through the services' logs.

The console depends on no code of the services or their kernel, so it keeps this small setup of its own.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

correlation_id: ContextVar[str | None] = ContextVar("web_correlation_id", default=None)
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# what a line may carry besides its message: names the console's code gives, never a value somebody typed
_FIELDS = ("method", "route", "status", "duration_ms", "service", "error")


def new_correlation_id(offered: str | None) -> str:
    """A caller's id if it is a short token (a gateway's), else a new one."""
    return offered if offered and _SAFE.match(offered) else str(uuid.uuid4())


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": "web",
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": correlation_id.get(),
        }
        line.update({k: getattr(record, k) for k in _FIELDS if hasattr(record, k)})
        if record.exc_info and record.exc_info[1] is not None:
            line["error_type"] = type(record.exc_info[1]).__name__  # the type only: messages can hold input
        return json.dumps(line, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at each line (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure(level: str = "INFO") -> None:
    """JSON lines for every logger of the process, uvicorn's included; called again, it replaces its own handler."""
    root = logging.getLogger()
    handler = _Handler(sys.stdout)
    handler.setFormatter(_Json())
    root.handlers = [h for h in root.handlers if not isinstance(h, _Handler)] + [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers, logging.getLogger(name).propagate = [], True
    logging.getLogger("uvicorn.access").disabled = True  # the console writes its own access line
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry full URLs with their queries
