"""The platform's services, named once: each one's name, its local port and its URL prefixes.

Plain data, no imports. The kernel takes the service names from here (the topics of ``shared.events``,
the ``/<service>`` prefix of ``shared.app``); the operator tools (``trainingops/``: the local runner, the
CLI, the demo, the event catalogue) take the ports and prefixes from here too. The staff console
(``web/``) imports nothing of ``shared/`` and keeps its own list in ``web/settings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


def prefix_for(name: str) -> str:
    """Where a service's routes live: ``/<service>`` (docs, OpenAPI, health), its API under ``/<service>/v1``."""
    return f"/{name}"


@dataclass(frozen=True)
class RegisteredService:
    name: str
    port: int  # the port ``make run`` gives it and the CLI looks for, unless ``<NAME>_PORT`` / ``<NAME>_URL`` say

    @property
    def prefix(self) -> str:
        return prefix_for(self.name)

    @property
    def api(self) -> str:
        """The prefix of its versioned API, e.g. ``/enrollment/v1``."""
        return f"{self.prefix}/v1"

    @property
    def env(self) -> str:
        """The start of its own settings' names: ``ENROLLMENT`` in ``ENROLLMENT_PORT``, ``ENROLLMENT_URL``."""
        return self.name.upper()

    def local_url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"


SERVICES: tuple[RegisteredService, ...] = (
    RegisteredService("enrollment", 8001),
    RegisteredService("attendance", 8002),
    RegisteredService("certification", 8003),
    RegisteredService("placement", 8004),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
BY_NAME: dict[str, RegisteredService] = {s.name: s for s in SERVICES}
