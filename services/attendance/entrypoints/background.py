"""Background work: close cohorts whose end date has passed, and re-check running cohorts for at-risk trainees.

"Today" is the app's clock's (``app.state.clock``); each cohort is closed or swept in a unit of work of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fastapi import FastAPI

from services.attendance.service_layer.policy import policy_of
from services.attendance.service_layer.standing import close_ended, sweep_at_risk

log = logging.getLogger("trainingops.attendance.closer")


def start_closer(app: FastAPI) -> Callable[[], None]:
    settings = app.state.settings
    stop = threading.Event()
    if not settings.closer_enabled:
        return stop.set

    def run() -> None:
        while not stop.wait(settings.closer_interval_s):
            try:
                policy, clock = policy_of(settings), app.state.clock
                closed = close_ended(app.state.unit_of_work(), policy=policy, clock=clock)
                warned = sweep_at_risk(app.state.unit_of_work(), policy=policy, clock=clock)
                if closed or warned:
                    log.info("cohorts closed and trainees warned", extra={"closed": closed, "warned": warned})
            except Exception as exc:  # the next round tries again
                log.warning("closer round failed", extra={"error": type(exc).__name__})

    thread = threading.Thread(target=run, name="attendance-closer", daemon=True)
    thread.start()

    def _stop() -> None:
        stop.set()
        thread.join(10)

    return _stop
