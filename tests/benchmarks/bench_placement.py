"""Placement benchmark: the employment report and the officer's worklist through HTTP on PostgreSQL, over
graduates, outcomes and follow-ups bulk-loaded with COPY. Prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_placement [graduates] [outcomes_per_graduate]

The service runs as its own process (uvicorn) and is reached only through its API. References, in the same
run: for the reports, ``SELECT count(*), max(sort_key) FROM outcome`` (one pass over the outcomes, the least a
report over all of them reads); for the worklists, ``GET /healthz`` on the same process (one bare round trip).
No target in issue 11: the ratios are printed for the before/after comparison.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date

import httpx
import psycopg

from shared import migrations
from tests.benchmarks.common import REPEATS, Measure, print_summary
from tests.integration.placement.seed import copy_in, random_graduates
from tests.support import LOCAL_POSTGRES, Databases, service_process, token
from trainingops.broker import LocalBroker

AS_OF = date(2025, 12, 31)
P = "/placement/v1"


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up (plans, caches)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 50_000
    per = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 4
    dbs = Databases(LOCAL_POSTGRES)
    url = dbs.new("bench_placement")
    try:
        migrations.upgrade("placement", url)
        t0 = time.perf_counter()
        grads = random_graduates(n, per, seed=42, campuses=3, cohorts=300)
        for i, g in enumerate(grads):
            g.officer = f"officer-{i % 30}"
        copy_in(url, grads, with_followups=True)
        print(
            f"  setup: {n:,} graduates, {n * per:,} outcomes, {n * 4:,} follow-ups bulk-loaded in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        with LocalBroker() as broker:
            env = {
                "PLACEMENT_DATABASE_URL": url,
                "PLACEMENT_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                "PLACEMENT_CONSUMER_ENABLED": "false",
                "PLACEMENT_AUTO_MIGRATE": "false",
                "PLACEMENT_CONSUMER_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}",
                "PLACEMENT_LOG_LEVEL": "WARNING",
            }
            with (
                service_process("placement", env) as base,
                httpx.Client(base_url=base, timeout=120) as c,
                psycopg.connect(url, autocommit=True) as conn,
            ):
                h = token(["placement"], ["*"])

                def get(path: str, **params: str) -> Callable[[], object]:
                    def call() -> object:
                        r = c.get(f"{P}{path}", headers=h, params=params)
                        assert r.status_code == 200, r.text[:300]
                        return r

                    return call

                def baseline() -> object:
                    return conn.execute("SELECT count(*), max(sort_key) FROM outcome").fetchall()

                def healthz() -> object:
                    return c.get("/healthz")

                reports = [
                    (
                        Measure("report, all campuses (HTTP)", "time", reference_name="count(*) over outcomes"),
                        get("/reports/employment", as_of=AS_OF.isoformat()),
                    ),
                    (
                        Measure("report by cohort (HTTP)", "time", reference_name="count(*) over outcomes"),
                        get("/reports/employment", as_of=AS_OF.isoformat(), group_by="cohort"),
                    ),
                    (
                        Measure("report, one campus (HTTP)", "time", reference_name="count(*) over outcomes"),
                        get("/reports/employment", as_of=AS_OF.isoformat(), campus="campus1"),
                    ),
                ]
                worklists = [
                    (
                        Measure("worklist, campus, 50 (HTTP)", "time", reference_name="GET /healthz"),
                        get("/followups", on="2024-06-01", campus="campus1", limit="50"),
                    ),
                    (
                        Measure("worklist, campus+officer, overdue, 50 (HTTP)", "time", reference_name="GET /healthz"),
                        get(
                            "/followups",
                            on="2024-06-01",
                            campus="campus1",
                            officer="officer-4",
                            status="overdue",
                            limit="50",
                        ),
                    ),
                ]
                for _ in range(REPEATS):
                    for m, fn in reports:
                        m.add(median_ms(fn, 3), median_ms(baseline, 3))
                    for m, fn in worklists:
                        m.add(median_ms(fn, 9), median_ms(healthz, 9))
    finally:
        dbs.drop_all()


if __name__ == "__main__":
    main()
    print_summary("placement")
