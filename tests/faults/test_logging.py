"""What real processes log: JSON lines only, one access line per request, no personal data.

The services run as uvicorn processes (as in production and in tests/e2e), their stdout in a file;
each line of that file is parsed as JSON, and a whole journey's logs are searched for the names,
birth dates, e-mails and phones it sent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import SERVICES, platform
from tests.support import token
from trainingops import demo
from trainingops.broker import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"ts", "level", "service", "logger", "message", "correlation_id"}


def json_lines(path: Path) -> list[dict]:
    """Every line of the file as JSON; fails naming the first line that is not."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"{path.name}:{n} is not JSON: {line[:300]}") from None
        assert isinstance(record, dict) and REQUIRED <= set(record), f"{path.name}:{n} lacks fields: {line[:300]}"
        if record["level"] in ("WARNING", "ERROR", "CRITICAL"):
            assert record.get("error_type"), f"{path.name}:{n}: a warning without its error type: {line[:300]}"
        out.append(record)
    return out


@pytest.mark.parametrize("how", ["image entrypoint", "uvicorn with its access log on"])
def test_a_service_process_logs_json_and_one_access_line_per_request(kafka, databases, tmp_path, how):
    port, log_path = free_port(), tmp_path / "enrollment.log"
    env = {
        **os.environ,
        "ENROLLMENT_DATABASE_URL": databases.new("log_one"),
        "TRAININGOPS_ENVIRONMENT": "test",
        "TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "ENROLLMENT_CONSUMER_GROUP_ID": f"log-{uuid.uuid4().hex}",
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    if how == "image entrypoint":  # deploy/docker/entrypoint.sh, as the container runs it
        command = ["sh", str(ROOT / "deploy" / "docker" / "entrypoint.sh"), "enrollment"]
    else:  # uvicorn's own access log left ON: the app's line must still be the only one per request
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "services.enrollment.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    sent: dict[str, tuple[str, str, int]] = {}  # correlation id -> (method, route template, status)
    try:
        wait_for_port("127.0.0.1", port, timeout_s=60)
        base, h = f"http://127.0.0.1:{port}/enrollment/v1", token(["admissions"], ["jungbu"])
        with httpx.Client(timeout=20) as c:

            def call(method: str, path: str, route: str, **kw) -> httpx.Response:
                cid = f"logtest-{uuid.uuid4().hex[:12]}"
                r = c.request(method, base + path, headers={**kw.pop("headers", h), "X-Correlation-ID": cid}, **kw)
                assert r.headers["x-correlation-id"] == cid
                sent[cid] = (method, route, r.status_code)
                return r

            call("POST", "/campuses", "/enrollment/v1/campuses", json={"code": "jungbu", "name": "Jungbu Campus"})
            applicant = call(
                "POST",
                "/applicants",
                "/enrollment/v1/applicants",
                json={
                    "campus": "jungbu",
                    "name": "Hwang Boram",
                    "birth_date": "1991-08-23",
                    "residency_status": "city_resident",
                    "email": "boram.hwang@example.org",
                    "phone": "010-4821-7730",
                },
            )
            assert applicant.status_code == 201, applicant.text
            call("GET", f"/applicants/{applicant.json()['id']}", "/enrollment/v1/applicants/{applicant_id}")
            call("GET", f"/applicants/{uuid.uuid4()}", "/enrollment/v1/applicants/{applicant_id}")  # 404
            call("GET", "/applicants?campus=jungbu", "/enrollment/v1/applicants")
            bad = call(
                "POST",
                "/applicants",
                "/enrollment/v1/applicants",
                json={  # 422: refused input
                    "campus": "jungbu",
                    "name": "Hwang Boram",
                    "birth_date": "1991-08-23",
                    "residency_status": "city_resident",
                    "email": "not-an-email boram.hwang@example",
                    "phone": "010-4821-7730",
                },
            )
            assert bad.status_code == 422, bad.text
            call("GET", "/applicants", "/enrollment/v1/applicants", headers={})  # 401: no token
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)

    records = json_lines(log_path)
    access = [r for r in records if r["logger"] == "trainingops.http" and "route" in r]
    assert len(access) == len(sent), [r["message"] for r in access]
    for r in access:
        assert r["correlation_id"] in sent, r
        method, route, status = sent[r["correlation_id"]]
        assert (r["method"], r["route"], r["status"]) == (method, route, status), r
        assert isinstance(r["duration_ms"], (int, float)) and r["duration_ms"] >= 0
    assert {r["correlation_id"] for r in access} == set(sent)  # each request once
    assert not [r for r in records if r["logger"].startswith("uvicorn.access")]
    assert any(r["logger"] == "uvicorn.error" and "Started server process" in r["message"] for r in records)
    text = log_path.read_text()
    for secret in ("Hwang Boram", "1991-08-23", "boram.hwang@example", "010-4821-7730"):
        assert secret not in text, f"{secret!r} is in the log"


def test_a_whole_journey_logs_json_lines_without_personal_data(kafka, databases, tmp_path):
    spec, people, capacity = demo.demo_centre(f"log{uuid.uuid4().hex[:4]}")[0]
    contacts = [
        ("Yoon Haneul", "1990-11-02", "haneul.yoon@example.org", "010-3356-9012"),
        ("Shin Dahye", "1987-06-19", "dahye.shin@example.net", "+82 10 7741 2208"),
    ]
    with platform(kafka, databases, tmp_path, "logpii") as p, p.diagnose():
        clients = demo.Clients.open(p.urls())
        try:
            demo.ensure_campus(clients.enrollment, spec.campus, "Jungbu Campus")
            for name, birth, email, phone in contacts:  # applicants with contact details, and a refused one
                demo.ok(
                    clients.enrollment.post(
                        f"{demo.E}/applicants",
                        headers=demo.auth(["admissions"], ["*"]),
                        json={
                            "campus": spec.campus,
                            "name": name,
                            "birth_date": birth,
                            "email": email,
                            "phone": phone,
                            "residency_status": "city_resident",
                        },
                    ),
                    201,
                )
                demo.ok(
                    clients.enrollment.post(
                        f"{demo.E}/applicants",
                        headers=demo.auth(["admissions"], ["*"]),
                        json={
                            "campus": spec.campus,
                            "name": name,
                            "birth_date": birth,
                            "email": f"x {email}",
                            "phone": phone,
                            "residency_status": "city_resident",
                        },
                    ),
                    422,
                )
            journey = demo.run_cohort_journey(clients, spec, people, capacity=capacity, label="logpii")
            assert journey.report["total"]["completers"] > 0
        finally:
            clients.close()
    logs = {path.name: path for path in tmp_path.glob("*.log")}
    assert set(logs) == {f"{s}-0.log" for s in SERVICES}
    secrets = {p.name for p in people} | {p.birth_date for p in people} | {v for c in contacts for v in c}
    for name, path in logs.items():
        records = json_lines(path)
        assert any(r["logger"] == "trainingops.http" and "route" in r for r in records), f"{name}: no access lines"
        text = path.read_text()
        found = sorted(s for s in secrets if s in text)
        assert not found, f"{name} holds personal data: {found}"
    enrollment = json_lines(logs["enrollment-0.log"])
    assert sum(1 for r in enrollment if r.get("route") == "/enrollment/v1/applicants" and r["status"] == 422) == 2


def test_the_cli_logs_json_to_stderr_and_keeps_stdout_for_its_output():
    dead = f"127.0.0.1:{free_port()}"
    run = subprocess.run(
        [str(Path(sys.executable).with_name("trainingops")), "dlq", "list", "enrollment", "--bootstrap", dead],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    logged = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert logged, run.stderr[-2000:]
    assert all(r["service"] == "cli" and r.get("error_type") for r in logged if r["level"] != "INFO"), logged[:3]
    assert any(r["logger"].startswith("kafka") for r in logged)
    assert not [line for line in run.stdout.splitlines() if line.startswith('{"ts"')]
    # a plain-text log line on stderr would be one that did not go through the JSON handler
    assert not [
        line for line in run.stderr.splitlines() if "KafkaConnectionError" in line and not line.startswith("{")
    ], run.stderr[-2000:]
