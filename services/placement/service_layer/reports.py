"""The employment-rate report: every indicator with its numerator and denominator.

The repository counts them in one SQL aggregation (``PlacementRepository.employment_counts``); this turns
the counts into ratios and medians, checks the filters and writes the workbook.
"""

from __future__ import annotations

import uuid
from datetime import date

from services.placement.adapters.repository import IndicatorCounts, PlacementRepository, ReportFilter
from services.placement.domain.outcomes import Ratio
from services.placement.schemas import IndicatorRow, MedianOut, RatioOut, ReportOut
from shared.auth import Principal
from shared.clock import Clock
from shared.problems import bad_request, not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[PlacementRepository]

DEFINITIONS = {
    "employment_rate": "employed or self-employed / (completers - further education - military service - not seeking),"
    " by each completer's latest outcome as of the report date; early-employment leavers count as"
    " completers",
    "employment_rate_6m": "the same, by the latest outcome as of completion + 6 months, over completers who reached"
    " 6 months by the report date",
    "employment_rate_12m": "the same at completion + 12 months",
    "median_monthly_wage": "median monthly wage (KRW) of completers employed (with a wage) as of the report date",
    "certificate_attainment": "completers with a qualification obtained by completion + 12 months / completers",
    "wioa_employment_q2": "employed or self-employed as of the last day of the 2nd calendar quarter after the exit"
    " quarter / completers whose 2nd quarter has ended (WIOA Employment Rate Q2)",
    "wioa_employment_q4": "the same for the 4th quarter after exit (WIOA Employment Rate Q4)",
    "wioa_median_earnings_q2": "median quarterly earnings (monthly wage x 3, KRW) of those employed in the 2nd quarter"
    " after exit (WIOA Median Earnings Q2)",
}


def _ratio(r: Ratio) -> RatioOut:
    return RatioOut(
        numerator=r.numerator,
        denominator=r.denominator,
        rate=None if r.value is None else round(r.value, 6),
        percent=r.percent,
    )


def indicator_row(c: IndicatorCounts) -> IndicatorRow:
    n = c.completers
    return IndicatorRow(
        group=c.group,
        completers=n,
        employment_rate=_ratio(Ratio(c.employed_now, n - c.excluded_now)),
        employment_rate_6m=_ratio(Ratio(c.employed_6m, c.reached_6m - c.excluded_6m)),
        employment_rate_12m=_ratio(Ratio(c.employed_12m, c.reached_12m - c.excluded_12m)),
        median_monthly_wage=MedianOut(value=c.wage_median, count=c.wage_count),
        certificate_attainment=_ratio(Ratio(c.certified, n)),
        wioa_employment_q2=_ratio(Ratio(c.employed_q2, c.reached_q2)),
        wioa_employment_q4=_ratio(Ratio(c.employed_q4, c.reached_q4)),
        wioa_median_earnings_q2=MedianOut(value=c.earnings_median, count=c.earnings_count),
    )


def build(
    uow: Uow,
    clock: Clock,
    *,
    principal: Principal,
    as_of: date | None = None,
    campus: str | None = None,
    cohort_id: uuid.UUID | None = None,
    programme_code: str | None = None,
    completed_from: date | None = None,
    completed_to: date | None = None,
    group_by: str | None = None,
) -> ReportOut:
    as_of = as_of or clock.today()
    if completed_from and completed_to and completed_from > completed_to:
        raise bad_request("completed_from is after completed_to.")
    if campus and not principal.sees_campus(campus):
        raise not_found("campus", campus)
    where = ReportFilter(
        as_of=as_of,
        scope=principal.campus_filter(),
        campus=campus,
        cohort_id=cohort_id,
        programme_code=programme_code,
        completed_from=completed_from,
        completed_to=completed_to,
    )
    with uow:
        rows, total = uow.repo.employment_counts(where, group_by)
    return ReportOut(
        as_of=as_of,
        group_by=group_by,
        filters={
            "campus": campus,
            "cohort_id": str(cohort_id) if cohort_id else None,
            "programme_code": programme_code,
            "completed_from": completed_from.isoformat() if completed_from else None,
            "completed_to": completed_to.isoformat() if completed_to else None,
        },
        rows=[indicator_row(r) for r in rows] if group_by else [],
        total=indicator_row(total),
        definitions=DEFINITIONS,
    )


INDICATORS = (
    "employment_rate",
    "employment_rate_6m",
    "employment_rate_12m",
    "median_monthly_wage",
    "certificate_attainment",
    "wioa_employment_q2",
    "wioa_employment_q4",
    "wioa_median_earnings_q2",
)


def to_xlsx(report: ReportOut) -> bytes:
    from shared.spreadsheets import write_xlsx

    headers = [
        "group",
        "completers",
        "indicator",
        "numerator",
        "denominator",
        "rate",
        "percent",
        "median_krw",
        "median_over",
    ]
    rows = []
    for row in [*report.rows, report.total]:
        label = row.group if row.group is not None else "TOTAL"
        for name in INDICATORS:
            v = getattr(row, name)
            if isinstance(v, RatioOut):
                rows.append([label, row.completers, name, v.numerator, v.denominator, v.rate, v.percent, None, None])
            else:
                rows.append([label, row.completers, name, None, None, None, None, v.value, v.count])
    filters = [[k, v or ""] for k, v in report.filters.items()]
    return write_xlsx(
        {
            "indicators": (headers, rows),
            "definitions": (["indicator", "definition"], [[k, v] for k, v in report.definitions.items()]),
            "filters": (
                ["filter", "value"],
                [["as_of", report.as_of.isoformat()], ["group_by", report.group_by or ""], *filters],
            ),
        }
    )
