"""Placement benchmark: the employment report over 100,000 graduates with 400,000 outcomes on PostgreSQL,
and the officer's worklist query. Prints figures; not a test.

    .venv/bin/python -m tests.benchmarks.bench_placement [graduates] [outcomes_per_graduate]
"""
from __future__ import annotations

import statistics
import sys
import time
from datetime import date

from sqlalchemy import text

from services.placement.service_layer import graduates as graduates_svc
from services.placement.service_layer import reports
from shared import migrations
from shared.auth import Principal
from shared.db import Database
from shared.pagination import PageParams
from tests.integration.placement.seed import copy_in, random_graduates
from tests.support import LOCAL_POSTGRES, Databases, running_service, token
from trainingops.broker import LocalBroker

STAFF = Principal(sub="bench", roles=frozenset({"placement"}), campuses=frozenset({"*"}))
AS_OF = date(2025, 12, 31)


def timed(fn, runs: int = 7) -> tuple[float, float, object]:
    times, result = [], None
    fn()  # warm-up (plans, caches)
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    dbs = Databases(LOCAL_POSTGRES)
    url = dbs.new("bench_placement")
    try:
        migrations.upgrade("placement", url)
        t0 = time.perf_counter()
        grads = random_graduates(n, per, seed=42, campuses=3, cohorts=300)
        for i, g in enumerate(grads):
            g.officer = f"officer-{i % 30}"
        copy_in(url, grads, with_followups=True)
        print(f"setup: {n:,} graduates, {n * per:,} outcomes, {n * 4:,} follow-ups bulk-loaded in "
              f"{time.perf_counter() - t0:.1f} s")
        db = Database(url)
        with db.session() as s:
            base_ms, _, _ = timed(lambda: s.execute(text("SELECT count(*), max(sort_key) FROM outcome")).all())
            total_ms, total_min, rep = timed(lambda: reports.build(s, principal=STAFF, as_of=AS_OF))
            grp_ms, grp_min, grp = timed(lambda: reports.build(s, principal=STAFF, as_of=AS_OF, group_by="cohort"))
            camp_ms, camp_min, _ = timed(lambda: reports.build(s, principal=STAFF, as_of=AS_OF, campus="campus1"))
            wl_ms, wl_min, wl = timed(lambda: graduates_svc.worklist(
                s, principal=STAFF, page=PageParams(limit=50), on=date(2024, 6, 1), campus="campus1", officer=None,
                cohort_id=None, status=None), runs=15)
            wlo_ms, wlo_min, wlo = timed(lambda: graduates_svc.worklist(
                s, principal=STAFF, page=PageParams(limit=50), on=date(2024, 6, 1), campus="campus1",
                officer="officer-4", cohort_id=None, status="overdue"), runs=15)
        db.dispose()
        t = rep.total
        print(f"baseline  SELECT count(*), max(sort_key) FROM outcome: median {base_ms:.0f} ms")
        print(f"report    all campuses, total:        median {total_ms:.0f} ms (min {total_min:.0f}), "
              f"{total_ms / base_ms:.1f}x baseline")
        print(f"          employment rate {t.employment_rate.numerator:,}/{t.employment_rate.denominator:,} "
              f"= {t.employment_rate.percent}%, 12m {t.employment_rate_12m.numerator:,}/"
              f"{t.employment_rate_12m.denominator:,}, median wage {t.median_monthly_wage.value:,} KRW")
        print(f"report    grouped by cohort ({len(grp.rows)} rows + total): median {grp_ms:.0f} ms (min {grp_min:.0f})")
        print(f"report    one campus:                 median {camp_ms:.0f} ms (min {camp_min:.0f})")
        print(f"worklist  campus, due+overdue, 50 of {wl[1]:,}: median {wl_ms:.1f} ms (min {wl_min:.1f})")
        print(f"worklist  campus+officer, overdue, 50 of {wlo[1]:,}: median {wlo_ms:.1f} ms (min {wlo_min:.1f})")
        with LocalBroker() as broker:
            with running_service("placement", database_url=url, kafka_bootstrap_servers=broker.bootstrap) as c:
                headers = token(["placement"], ["*"])
                http_ms, http_min, _ = timed(lambda: c.get("/placement/v1/reports/employment", headers=headers,
                                                           params={"as_of": AS_OF.isoformat()}).json(), runs=5)
                xlsx_ms, _, _ = timed(lambda: c.get("/placement/v1/reports/employment.xlsx", headers=headers,
                                                    params={"as_of": AS_OF.isoformat(), "group_by": "cohort"}),
                                      runs=3)
        print(f"HTTP      GET /reports/employment (total): median {http_ms:.0f} ms (min {http_min:.0f})")
        print(f"HTTP      GET /reports/employment.xlsx by cohort: median {xlsx_ms:.0f} ms")
    finally:
        dbs.drop_all()


if __name__ == "__main__":
    main()
