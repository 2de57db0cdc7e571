"""The report's SQL against PostgreSQL: Seoul 2017's figure, agreement with the domain's reference, XLSX."""

from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from openpyxl import load_workbook

from services.placement.domain import indicators
from services.placement.domain.outcomes import Outcome
from tests.integration.placement.seed import Seeded, copy_in, random_graduates
from tests.support import running_service, token

STAFF = token(["auditor"], ["*"])


@pytest.fixture(scope="module")
def report_db(databases):
    return databases.new("plc_report")


@pytest.fixture(scope="module")
def svc(kafka, report_db):
    with running_service("placement", database_url=report_db, kafka_bootstrap_servers=kafka) as c:
        yield c


def report(svc, **params):
    r = svc.get("/placement/v1/reports/employment", params=params, headers=STAFF)
    assert r.status_code == 200, r.text
    return r.json()


def test_seoul_2017_1323_of_2006_employed_targets_is_66_percent(svc, report_db):
    done, cohort = date(2017, 2, 28), uuid.uuid4()
    mix = (
        ["employed"] * 1200
        + ["self_employed"] * 123
        + ["seeking_work"] * 450
        + ["unreachable"] * 133
        + ["further_education"] * 60
        + ["military_service"] * 25
        + ["not_seeking"] * 15
    )
    grads = [
        Seeded(
            uuid.uuid4(),
            cohort,
            "seoul2017",
            "SEOUL",
            done,
            outcomes=[Outcome(c, date(2017, 12, 31), 0, 2_000_000 if c == "employed" else None)],
        )
        for c in mix
    ]
    grads += [Seeded(uuid.uuid4(), cohort, "seoul2017", "SEOUL", done) for _ in range(100)]  # never reached
    copy_in(report_db, grads)
    total = report(svc, campus="seoul2017", as_of="2017-12-31")["total"]
    assert total["completers"] == 2106
    assert total["employment_rate"] == {"numerator": 1323, "denominator": 2006, "rate": 0.659521, "percent": 66}
    assert total["median_monthly_wage"] == {"value": 2_000_000, "count": 1200}


def test_sql_report_agrees_with_the_reference_computation(svc, report_db):
    grads = random_graduates(1500, 4, seed=11, campuses=2, cohorts=6)
    tag = uuid.uuid4().hex[:6]
    for g in grads:
        g.campus = f"{g.campus}-{tag}"
    copy_in(report_db, grads)
    for as_of in (date(2023, 6, 30), date(2025, 12, 31)):
        for campus in sorted({g.campus for g in grads}):
            mine = [g for g in grads if g.campus == campus and g.completion_date <= as_of]
            expected = indicators.compute([g.facts() for g in mine], as_of)
            got = report(svc, campus=campus, as_of=as_of.isoformat())["total"]
            assert got["completers"] == expected.completers
            for name in (
                "employment_rate",
                "employment_rate_6m",
                "employment_rate_12m",
                "certificate_attainment",
                "wioa_employment_q2",
                "wioa_employment_q4",
            ):
                ratio = getattr(expected, name)
                assert (got[name]["numerator"], got[name]["denominator"]) == (ratio.numerator, ratio.denominator), name
            assert got["median_monthly_wage"] == {"value": expected.median_monthly_wage, "count": expected.wage_count}
            assert got["wioa_median_earnings_q2"] == {
                "value": expected.wioa_median_earnings_q2,
                "count": expected.wioa_earnings_count,
            }
        assert expected.completers > 0


def test_groups_by_cohort_and_programme_and_date_range(svc, report_db):
    tag = uuid.uuid4().hex[:6]
    grads = random_graduates(400, 3, seed=5, campuses=1, cohorts=4)
    for g in grads:
        g.campus = f"grp-{tag}"
    copy_in(report_db, grads)
    as_of = date(2026, 1, 1)
    by_cohort = report(svc, campus=f"grp-{tag}", as_of=as_of.isoformat(), group_by="cohort")
    assert {r["group"] for r in by_cohort["rows"]} == {str(g.cohort_id) for g in grads}
    assert sum(r["completers"] for r in by_cohort["rows"]) == by_cohort["total"]["completers"] == 400
    cohort = grads[0].cohort_id
    one = [g for g in grads if g.cohort_id == cohort]
    row = [r for r in by_cohort["rows"] if r["group"] == str(cohort)][0]
    expected = indicators.compute([g.facts() for g in one], as_of)
    assert (row["employment_rate_12m"]["numerator"], row["employment_rate_12m"]["denominator"]) == (
        expected.employment_rate_12m.numerator,
        expected.employment_rate_12m.denominator,
    )
    assert report(svc, cohort_id=str(cohort), as_of=as_of.isoformat())["total"] == {**row, "group": None}
    programme = grads[0].programme_code
    by_prog = report(svc, campus=f"grp-{tag}", programme_code=programme, as_of=as_of.isoformat())
    assert by_prog["total"]["completers"] == sum(1 for g in grads if g.programme_code == programme)
    lo, hi = date(2022, 6, 1), date(2022, 12, 31)
    ranged = report(
        svc, campus=f"grp-{tag}", completed_from=lo.isoformat(), completed_to=hi.isoformat(), as_of=as_of.isoformat()
    )
    assert ranged["total"]["completers"] == sum(1 for g in grads if lo <= g.completion_date <= hi)


def test_xlsx_report_has_numerators_and_denominators(svc, report_db):
    tag = uuid.uuid4().hex[:6]
    grads = random_graduates(50, 2, seed=3, campuses=1, cohorts=2)
    for g in grads:
        g.campus = f"xl-{tag}"
    copy_in(report_db, grads)
    params = {"campus": f"xl-{tag}", "as_of": "2026-01-01", "group_by": "cohort"}
    json_report = report(svc, **params)
    r = svc.get("/placement/v1/reports/employment.xlsx", params=params, headers=STAFF)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    assert wb.sheetnames == ["indicators", "definitions", "filters"]
    rows = list(wb["indicators"].iter_rows(values_only=True))
    assert rows[0][:5] == ("group", "completers", "indicator", "numerator", "denominator")
    total_rate = [row for row in rows if row[0] == "TOTAL" and row[2] == "employment_rate"][0]
    expected = json_report["total"]["employment_rate"]
    assert (total_rate[1], total_rate[3], total_rate[4], total_rate[6]) == (
        50,
        expected["numerator"],
        expected["denominator"],
        expected["percent"],
    )
    assert len(rows) == 1 + 8 * (len(json_report["rows"]) + 1)
