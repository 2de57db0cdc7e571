"""Fixtures of the console's tests (reusable by every room's tests).

``web_platform``: the four services as processes on a broker of their own, each with a fresh PostgreSQL database
(one per test session and xdist worker). ``console``: the console in a process of its own in front of them, its
session store on PostgreSQL. ``browser``/``page``: Debian's Chromium driven by Playwright, headless, Korean
locale and Seoul time. ``check_page``: axe + screenshot + page weight for the page as it is.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.kafka import ensure_topics
from tests.e2e.processes import Platform, platform
from tests.support import IN_CI
from tests.web import harness
from trainingops.broker import LocalBroker


def _unavailable(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} (CI runs every browser test; none may be skipped)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def web_log_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="trainingops-web-"))
    return path


@pytest.fixture(scope="session")
def web_kafka() -> Iterator[str]:
    if os.environ.get("TRAININGOPS_TEST_KAFKA"):
        yield os.environ["TRAININGOPS_TEST_KAFKA"]
        return
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        yield broker.bootstrap


@pytest.fixture(scope="session")
def web_platform(web_kafka: str, databases, web_log_dir: Path) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    with platform(web_kafka, databases, web_log_dir, "web") as p:
        yield p


class Console:
    def __init__(self, process: harness.ConsoleProcess) -> None:
        self.process = process
        self.url = process.url
        self.services = process.services

    def signin(self, page, role: str, campus: str = "*", trainee_id: str = "") -> None:  # type: ignore[no-untyped-def]
        harness.signin(page, self.url, role, campus, trainee_id)


@pytest.fixture(scope="session")
def console(web_platform: Platform, databases, web_log_dir: Path) -> Iterator[Console]:  # type: ignore[no-untyped-def]
    store = databases.new("web_sessions")
    with harness.console_process(web_platform.urls(), web_log_dir, store) as proc:
        yield Console(proc)


@pytest.fixture(scope="session")
def start_console(web_platform: Platform, web_log_dir: Path) -> Callable:  # type: ignore[no-untyped-def]
    """Another console process with other settings, e.g. a service's URL pointing nowhere (a context manager)."""

    def _start(services: dict[str, str] | None = None, **env: str):  # type: ignore[no-untyped-def]
        urls = {**web_platform.urls(), **(services or {})}
        return harness.console_process(
            urls, web_log_dir, f"sqlite:///{web_log_dir}/web-{os.urandom(4).hex()}.db", **env
        )

    return _start


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    why = harness.ensure_browser()
    if why:
        _unavailable(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=harness.CHROMIUM, headless=True, args=harness.CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
    harness.write_weights()


@pytest.fixture()
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()
    csp = [e for e in errors if "Content Security Policy" in e or "Refused to" in e]
    assert not csp, f"the page broke its own CSP: {csp}"


@pytest.fixture()
def check_page() -> Callable[..., dict]:
    return harness.check_page
