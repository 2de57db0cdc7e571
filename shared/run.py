"""``make run``: the local broker, the topics and every service, until Ctrl-C.

Ports and URLs come from the environment: TRAININGOPS_KAFKA_PORT (9092),
<SERVICE>_PORT (enrollment 8001, attendance 8002, certification 8003, placement 8004),
TRAININGOPS_DATA_DIR (./data), TRAININGOPS_HOST (127.0.0.1). With
TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS set, that broker is used and none is started.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.broker import LocalBroker, wait_for_port
from shared.kafka import ensure_topics

ROOT = Path(__file__).resolve().parent.parent
PORTS = {"enrollment": 8001, "attendance": 8002, "certification": 8003, "placement": 8004}


def available_services() -> list[str]:
    return [name for name in PORTS if (ROOT / "services" / name / "main.py").exists()]


def main() -> int:
    host = os.environ.get("TRAININGOPS_HOST", "127.0.0.1")
    data_dir = Path(os.environ.get("TRAININGOPS_DATA_DIR", ROOT / "data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    broker = None
    bootstrap = os.environ.get("TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        port = int(os.environ.get("TRAININGOPS_KAFKA_PORT", "9092"))
        broker = LocalBroker(port=port, log_path=str(data_dir / "broker.log")).start()
        bootstrap = broker.bootstrap
        print(f"broker        tansu on {bootstrap} (in memory; log {data_dir / 'broker.log'})")
    ensure_topics(bootstrap)
    children: dict[str, subprocess.Popen[bytes]] = {}
    for name in available_services():
        port = int(os.environ.get(f"{name.upper()}_PORT", PORTS[name]))
        env = dict(os.environ)
        env.setdefault("TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS", bootstrap)
        env.setdefault(f"{name.upper()}_DATABASE_URL", f"sqlite:///{data_dir / (name + '.db')}")
        log = open(data_dir / f"{name}.log", "ab")
        children[name] = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", f"services.{name}.main:create_app", "--factory",
             "--host", host, "--port", str(port), "--no-access-log"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(host, port, timeout_s=60)
        except TimeoutError:
            print(f"{name} did not start; see {data_dir / (name + '.log')}")
            stop(children, broker)
            return 1
        print(f"{name:<14}http://{host}:{port}/{name}/docs   (log {data_dir / (name + '.log')})")
    console = start_console(host, data_dir, children)
    if console is None:
        stop(children, broker)
        return 1
    print("Ready. Mint a staff token with: .venv/bin/trainingops token --role admissions --campus '*'")
    print(f"Staff console: {console}  (sign in with a role and a campus)")
    print("Ctrl-C stops everything.")
    stopping = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; see {data_dir / (name + '.log')}")
                stopping = True
        time.sleep(0.5)
    stop(children, broker)
    return 0


def start_console(host: str, data_dir: Path, children: dict[str, subprocess.Popen[bytes]]) -> str | None:
    """The staff console (web/) in front of the services just started; WEB_PORT (8000) is its port."""
    if not (ROOT / "web" / "main.py").exists():
        return ""
    port = int(os.environ.get("WEB_PORT", "8000"))
    env = dict(os.environ)
    env.setdefault("WEB_ENVIRONMENT", "local")
    env.setdefault("WEB_COOKIE_SECURE", "false")  # plain http on this machine
    env.setdefault("WEB_SESSION_STORE_URL", f"sqlite:///{data_dir / 'web-sessions.db'}")
    for name in available_services():
        env.setdefault(f"WEB_{name.upper()}_URL",
                       f"http://{host}:{int(os.environ.get(f'{name.upper()}_PORT', PORTS[name]))}")
    log = open(data_dir / "web.log", "ab")
    children["web"] = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "web.main:create_app", "--factory", "--host", host, "--port", str(port),
         "--no-access-log"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(host, port, timeout_s=60)
    except TimeoutError:
        print(f"the console did not start; see {data_dir / 'web.log'}")
        return None
    return f"http://{host}:{port}/"


def stop(children: dict[str, subprocess.Popen[bytes]], broker: LocalBroker | None) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    for child in children.values():
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
    if broker:
        broker.stop()
    print("stopped")


if __name__ == "__main__":
    raise SystemExit(main())
