"""What the console's browser tests share: the platform and the console as processes, Chromium, and the checks
every page gets (axe-core: no serious or critical violation; a screenshot; the page's weight).

Rooms' tests use the fixtures of tests/web/conftest.py: ``console`` (base URL, the platform's URLs, ``signin``),
``page`` (a fresh Chromium page, Korean locale, Seoul time) and ``check_page(page, name)``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from trainingops.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots" / "web"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_WEIGHT_LIMIT = 200 * 1024
WEIGHTS: dict[str, int] = {}
TIMINGS: dict[str, int | None] = {}  # ms from the request to the last byte of the page's HTML (navigation timing)


def ensure_browser() -> str | None:
    """Debian's chromium and the CJK fonts, installed with apt-get when missing. None, or why they are not there."""

    def fonts_ok() -> bool:
        # the package's font files first: fc-list can take long on a busy machine while its cache is rebuilt
        if glob.glob("/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc"):
            return True
        try:
            out = subprocess.run(["fc-list", ":lang=ko"], capture_output=True, text=True, timeout=180).stdout
        except (OSError, subprocess.TimeoutExpired):
            return False
        return "Noto" in out

    if os.path.exists(CHROMIUM) and fonts_ok():
        return None
    apt = shutil.which("apt-get")
    if not apt:
        return "chromium/fonts-noto-cjk missing and no apt-get"
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else [])
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        [*prefix, apt, "update"],
        [*prefix, apt, "install", "-y", "--no-install-recommends", "chromium", "fonts-noto-cjk"],
    ):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            return f"{' '.join(cmd)} failed: {result.stderr[-500:]}"
    if not os.path.exists(CHROMIUM) or not fonts_ok():
        return "chromium or fonts-noto-cjk still missing after apt-get install"
    return None


@dataclass
class ConsoleProcess:
    url: str
    services: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"


@contextlib.contextmanager
def console_process(
    services: dict[str, str], log_dir: Path, session_store_url: str, **env: str
) -> Iterator[ConsoleProcess]:
    """The console as operators run it: uvicorn in a process of its own."""
    port = free_port()
    full_env = {
        **os.environ,
        "WEB_ENVIRONMENT": "test",
        "WEB_COOKIE_SECURE": "false",
        "WEB_SESSION_STORE_URL": session_store_url,
        **{f"WEB_{name.upper()}_URL": url for name, url in services.items()},
        **env,
    }
    log_path = log_dir / f"web-{port}.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "web.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    console = ConsoleProcess(f"http://127.0.0.1:{port}", services, proc, log_path, env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the console exited with {proc.returncode}:\n{console.log_tail()}")
            try:
                if httpx.get(console.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the console did not start:\n{console.log_tail()}")
            time.sleep(0.2)
        yield console
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def signin(page, base_url: str, role: str, campus: str = "*", trainee_id: str = "") -> None:  # type: ignore[no-untyped-def]
    """Local sign-in through the form, as a person does it."""
    page.goto(base_url + "/signin")
    page.select_option("#f-role", role)
    page.fill("#f-campus", campus)
    if trainee_id:
        page.fill("#f-trainee_id", trainee_id)
    page.click("form[action='/signin/local'] button")
    page.wait_for_load_state("networkidle")


def run_axe(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """axe-core's violations of impact serious or critical on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def page_weight(page) -> int:  # type: ignore[no-untyped-def]
    """HTML + scripts + styles of the current page, decoded bytes (cache hits count too)."""
    return int(
        page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        let total = nav ? nav.decodedBodySize : document.documentElement.outerHTML.length;
        for (const r of performance.getEntriesByType('resource')) {
            if (['script', 'link', 'css'].includes(r.initiatorType) || /\\.(js|css)(\\?|$)/.test(r.name)) {
                total += r.decodedBodySize;
            }
        }
        return total;
    }""")
    )


def page_timing(page) -> int | None:  # type: ignore[no-untyped-def]
    """The current page's document: milliseconds from request start to response end (None after an htmx swap)."""
    return page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        return n ? Math.round(n.responseEnd - n.requestStart) : null; }""")


def check_page(page, name: str) -> dict:  # type: ignore[no-untyped-def]
    """Every page: axe finds no serious or critical violation, a screenshot is saved, the page weighs < 200 KB."""
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    violations = run_axe(page)
    assert not violations, f"axe on {name} ({page.url}): {json.dumps(violations, ensure_ascii=False, indent=1)}"
    weight = page_weight(page)
    WEIGHTS[name] = weight
    TIMINGS[name] = page_timing(page)
    assert weight < PAGE_WEIGHT_LIMIT, f"{name} weighs {weight} bytes"
    return {"weight": weight}


def write_weights() -> None:
    if WEIGHTS:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / "web-weights.json"
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
        known.update(WEIGHTS)
        path.write_text(json.dumps(known, indent=1, sort_keys=True))
    if TIMINGS:
        path = ARTIFACTS / "web-timings.json"
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
        known.update(TIMINGS)
        path.write_text(json.dumps(known, indent=1, sort_keys=True))
