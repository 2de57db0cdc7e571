"""The console's attendance room: server time per page and per kiosk check-in. Prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_web_attendance [--pages 40] [--checkins 300]

The four services run as processes on PostgreSQL with the embedded broker, the console in front of them (its
session store on PostgreSQL too), a cohort of six built through the APIs (tests/web/attendance_data.py). Each page
is fetched as the signed-in instructor; a kiosk check-in is the htmx POST a card reader's Enter sends. Times are
measured at the client over loopback (the console and the services on this machine); for the kiosk the console's
own Server-Timing figure (its handler: one check-in call and one roster read, together) is printed as well.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from shared.kafka import ensure_topics
from tests.e2e.processes import platform
from tests.support import Databases, postgres_server
from tests.web import attendance_data, harness
from trainingops.broker import LocalBroker


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def line(name: str, ms: list[float], size: int | None = None) -> str:
    extra = f"  {size / 1024:6.1f} KB body" if size is not None else ""
    return (
        f"{name:<28} n={len(ms):<4} p50 {pct(ms, 50):7.1f} ms  p95 {pct(ms, 95):7.1f} ms  max {max(ms):7.1f} ms{extra}"
    )


def signed_in(url: str, campus: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
    r = client.post("/signin/local", data={"role": "instructor", "campus": campus, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    return client


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=40, help="fetches per page")
    ap.add_argument("--checkins", type=int, default=300, help="kiosk check-ins")
    args = ap.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-web-att-"))
    with postgres_server() as server, LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        dbs = Databases(server)
        try:
            with (
                platform(broker.bootstrap, dbs, log_dir, "benchweb") as p,
                harness.console_process(p.urls(), log_dir, dbs.new("benchweb_sessions")) as console,
            ):
                cohort = attendance_data.build(p.urls())
                run(console.url, p.urls()["attendance"], cohort, args.pages, args.checkins)
        finally:
            dbs.drop_all()


def run(url: str, attendance_url: str, cohort: attendance_data.AttendanceCohort, n_pages: int, n_checkins: int) -> None:
    client = signed_in(url, cohort.campus)
    sid, cid = cohort.today_session["id"], cohort.cohort_id
    past = cohort.past_sessions[-3]["id"]
    pages = {
        "today's sessions": "/attendance",
        "session roster": f"/attendance/sessions/{sid}",
        "kiosk": f"/attendance/sessions/{sid}/kiosk",
        "mark with history": f"/attendance/sessions/{past}/marks/{cohort.dropping}",
        "cohort": f"/attendance/cohorts/{cid}",
        "at-risk list": "/attendance/at-risk",
        "trainee standing": f"/attendance/trainees/{cohort.dropping}?cohort_id={cid}",
        "monthly sheet (XLSX)": f"/attendance/cohorts/{cid}/sheet?month={cohort.today_session['date'][:7]}",
    }
    print(
        f"console {url}; cohort of {len(cohort.trainees)} trainees, {len(cohort.past_sessions) + 1} sessions held "
        "or today; services and console on PostgreSQL"
    )
    for name, path in pages.items():
        client.get(path)  # warm
        times, size = [], 0
        for _ in range(n_pages):
            t0 = time.perf_counter()
            r = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            size = len(r.content)
        print(line(name, times, size))

    kiosk = f"/attendance/sessions/{sid}/kiosk"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(kiosk).text).group(1)
    ids = list(cohort.trainees.values())
    wall, server = [], []
    for i in range(n_checkins):
        t0 = time.perf_counter()
        r = client.post(
            kiosk,
            data={"reading": ids[i % len(ids)].replace("-", ""), "kind": "in"},
            headers={"HX-Request": "true", "X-CSRF-Token": csrf},
        )
        wall.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200 and 'data-outcome="ok"' in r.text, r.text[:500]
        server.append(float(re.match(r"kiosk;dur=([\d.]+)", r.headers["server-timing"]).group(1)))
    direct = []
    with httpx.Client(base_url=attendance_url, timeout=30) as att:
        h = attendance_data.instructor(cohort.campus)
        for i in range(max(n_checkins // 3, 1)):
            t0 = time.perf_counter()
            r = att.post(
                f"/attendance/v1/sessions/{sid}/check-ins",
                headers=h,
                json={"trainee_id": ids[i % len(ids)], "kind": "in", "method": "card"},
            )
            direct.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
    print(line("check-in, API alone", direct))
    print(line("kiosk check-in (client)", wall))
    print(line("kiosk check-in (console)", server))
    print(
        f"kiosk check-ins under one second: {sum(1 for w in wall if w < 1000)}/{len(wall)}; "
        f"mean {statistics.mean(wall):.1f} ms"
    )


if __name__ == "__main__":
    main()
