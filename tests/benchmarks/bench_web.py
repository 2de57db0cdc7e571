"""The console's server time per page, with the platform on PostgreSQL (``python -m tests.benchmarks.bench_web``).

The four services run as processes on fresh PostgreSQL databases with the embedded broker; the console runs as a
process with its session store on PostgreSQL. A cohort of 30 applications, selected, is made through the APIs. Each
page is fetched REQUESTS times by a signed-in client; the console's Server-Timing header gives the server's time
(session, API calls, rendering). The reference, measured in the same run, is one bare API call
(GET /enrollment/v1/cohorts/{id}, client-side time) — the least any page showing a cohort must wait for. Each
repeat (``BENCH_REPEATS``) measures the reference and then every page; the ratio is page p50 / reference p50
(no target in issue 11).
"""

from __future__ import annotations

import csv
import io
import os
import re
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from shared.auth import mint_token
from shared.kafka import ensure_topics
from tests.benchmarks.common import REPEATS, Measure, print_summary
from tests.e2e.processes import platform
from tests.support import Databases, postgres_server
from tests.web.harness import console_process
from trainingops.broker import LocalBroker

REQUESTS = int(os.environ.get("BENCH_WEB_REQUESTS", "30"))  # per page and repeat


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def seed(enrollment: str, campus: str) -> str:
    today = datetime.now(ZoneInfo("Asia/Seoul")).date()
    api = httpx.Client(
        base_url=f"{enrollment}/enrollment/v1",
        timeout=60,
        headers={"Authorization": "Bearer " + mint_token("bench", ["admissions"], [campus])},
    )
    api.post("/campuses", json={"code": campus, "name": "벤치 캠퍼스"}).raise_for_status()
    prog = api.post(
        "/programmes",
        json={"code": f"{campus}-P", "title": "벤치 과정", "campus": campus, "track": "other", "total_hours": 600},
    ).json()
    cohort = api.post(
        "/cohorts",
        json={
            "programme_id": prog["id"],
            "label": "B-1",
            "capacity": 10,
            "application_opens": today.isoformat(),
            "application_closes": (today + timedelta(days=10)).isoformat(),
            "start_date": (today + timedelta(days=20)).isoformat(),
            "end_date": (today + timedelta(days=120)).isoformat(),
        },
    ).json()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "birth_date", "residency_status", "priority_categories", "score"])
    for i in range(30):
        w.writerow(
            [
                f"지원자{i:02d}",
                date(1990, 1, 1 + i % 28).isoformat(),
                "city_resident",
                "single_parent" if i % 7 == 0 else "",
                90 - i,
            ]
        )
    api.post(
        "/applications/import",
        data={"cohort_id": cohort["id"]},
        files={"file": ("a.csv", out.getvalue().encode(), "text/csv")},
    ).raise_for_status()
    api.post(f"/cohorts/{cohort['id']}/selection").raise_for_status()
    return cohort["id"]


def main() -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    with postgres_server() as server, LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        dbs = Databases(server)
        try:
            with platform(broker.bootstrap, dbs, log_dir, "benchweb") as p:
                urls = p.urls()
                campus = "bench" + os.urandom(3).hex()
                cohort = seed(urls["enrollment"], campus)
                with console_process(urls, log_dir, dbs.new("benchweb_sessions")) as console:
                    run(console.url, urls["enrollment"], campus, cohort)
        finally:
            dbs.drop_all()


def signed_in(console: str, role: str, campus: str) -> httpx.Client:
    client = httpx.Client(base_url=console, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
    client.post("/signin/local", data={"role": role, "campus": campus, "csrf_token": token})
    return client


def run(console: str, enrollment: str, campus: str, cohort: str) -> None:
    admissions = signed_in(console, "admissions", campus)
    finance = signed_in(console, "finance", campus)
    placement = signed_in(console, "placement", campus)
    pages = [
        (admissions, "/"),
        (admissions, "/admissions"),
        (admissions, "/admissions/campuses"),
        (admissions, "/admissions/programmes"),
        (admissions, "/admissions/cohorts/new"),
        (admissions, f"/admissions/cohorts/{cohort}"),
        (admissions, f"/admissions/cohorts/{cohort}/timetable"),
        (admissions, f"/admissions/cohorts/{cohort}/applications"),
        (admissions, f"/admissions/cohorts/{cohort}/import"),
        (admissions, f"/admissions/cohorts/{cohort}/selection"),
        (finance, "/finance"),
        (finance, "/finance/payouts"),
        (finance, "/finance/accounts"),
        (finance, "/finance/qualifications"),
        (finance, "/finance/results"),
        (placement, "/placement"),
        (placement, "/placement/employers"),
        (placement, "/placement/postings"),
        (placement, "/placement/internships"),
        (placement, "/dashboard"),
    ]
    bare = httpx.Client(
        base_url=f"{enrollment}/enrollment/v1",
        timeout=60,
        headers={"Authorization": "Bearer " + mint_token("bench", ["admissions"], [campus])},
    )
    for _ in range(5):  # warm both
        bare.get(f"/cohorts/{cohort}")
        for client, path in pages:
            client.get(path)
    print(
        f"console pages, {REQUESTS} requests each per repeat, platform on PostgreSQL; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    measures = {
        path: Measure(
            f"page {path.replace(cohort, '{id}')} (server p50)", "time", None, reference_name="bare API GET p50"
        )
        for _client, path in pages
    }
    for repeat in range(REPEATS):
        ref = []
        for _ in range(REQUESTS):
            t0 = time.perf_counter()
            bare.get(f"/cohorts/{cohort}").raise_for_status()
            ref.append((time.perf_counter() - t0) * 1000)
        ref_p50 = statistics.median(ref)
        for client, path in pages:
            server = []
            for _ in range(REQUESTS):
                r = client.get(path)
                assert r.status_code == 200, (path, r.status_code)
                server.append(float(r.headers["server-timing"].split("dur=")[1]))
            measures[path].add(statistics.median(server), ref_p50)
            print(
                f"    {path.replace(cohort, '{id}'):<42} [{repeat + 1}/{REPEATS}] p50 {statistics.median(server):6.1f} ms"
                f"  p95 {pct(server, 0.95):6.1f} ms  ({len(r.content) / 1024:5.1f} KB HTML)"
            )


if __name__ == "__main__":
    main()
    print_summary("web")
