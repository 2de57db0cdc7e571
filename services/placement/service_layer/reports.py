"""The employment-rate report: every indicator with its numerator and denominator, in one SQL aggregation.

The inner query makes one row per graduate with, for each checkpoint, ``max(sort_key)``
over the outcomes dated on or before it (the latest outcome then; see
``domain.indicators``). The outer query decodes category and wage from those keys
and counts. PostgreSQL computes the medians too (``percentile_cont``); on SQLite the
medians come from a second pass in Python.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, select, tuple_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from services.placement.adapters.orm import Graduate, Outcome
from services.placement.domain import indicators, outcomes
from services.placement.domain.outcomes import Ratio
from services.placement.schemas import IndicatorRow, MedianOut, RatioOut, ReportOut
from shared.auth import Principal
from shared.problems import bad_request, not_found

GROUPS = {"campus": Graduate.campus, "programme": Graduate.programme_code, "cohort": Graduate.cohort_id}
CODES = {c: i for i, c in enumerate(outcomes.CATEGORIES)}
EMPLOYED_CODES = [CODES[c] for c in outcomes.EMPLOYED]
EXCLUDED_CODES = [CODES[c] for c in outcomes.NOT_TARGETS]

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


def _cat(key: ColumnElement) -> ColumnElement:
    return (key // indicators.WAGE_SHIFT) % indicators.CATEGORY_SPAN  # // is integer division in SQL


def _wage(key: ColumnElement) -> ColumnElement:
    return key % indicators.WAGE_SHIFT - 1  # -1: no wage (or no outcome when the key is NULL)


def _count(cond: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _ratio(r: Ratio) -> RatioOut:
    return RatioOut(numerator=r.numerator, denominator=r.denominator,
                    rate=None if r.value is None else round(r.value, 6), percent=r.percent)


def _median(values: list[int]) -> MedianOut:
    return MedianOut(value=outcomes.median(values), count=len(values))


def build(session: Session, *, principal: Principal, as_of: date, campus: str | None = None,
          cohort_id: uuid.UUID | None = None, programme_code: str | None = None, completed_from: date | None = None,
          completed_to: date | None = None, group_by: str | None = None) -> ReportOut:
    if completed_from and completed_to and completed_from > completed_to:
        raise bad_request("completed_from is after completed_to.")
    if campus and not principal.sees_campus(campus):
        raise not_found("campus", campus)
    conds: list[ColumnElement] = []
    if (scope := principal.campus_filter()) is not None:
        conds.append(Graduate.campus.in_(scope))
    if campus:
        conds.append(Graduate.campus == campus)
    if cohort_id:
        conds.append(Graduate.cohort_id == cohort_id)
    if programme_code:
        conds.append(Graduate.programme_code == programme_code)
    if completed_from:
        conds.append(Graduate.completion_date >= completed_from)
    if completed_to:
        conds.append(Graduate.completion_date <= completed_to)
    conds.append(Graduate.completion_date <= as_of)
    group_col = GROUPS[group_by] if group_by else None
    postgres = session.get_bind().dialect.name == "postgresql"
    rows = _aggregate(session, conds, as_of, group_col, postgres)
    if group_col is None:
        total = rows[0]
    elif postgres:  # one pass: GROUPING SETS ((group), ()) gave the total row too
        totals = [r for r in rows if r.is_total]
        rows = [r for r in rows if not r.is_total]
        total = totals[0] if totals else _empty()
    else:
        total = _aggregate(session, conds, as_of, None, postgres)[0]
    rows = [IndicatorRow.model_validate(r.model_dump(exclude={"is_total"})) for r in rows]
    total = IndicatorRow.model_validate(total.model_dump(exclude={"is_total"}))
    return ReportOut(as_of=as_of, group_by=group_by,
                     filters={"campus": campus, "cohort_id": str(cohort_id) if cohort_id else None,
                              "programme_code": programme_code,
                              "completed_from": completed_from.isoformat() if completed_from else None,
                              "completed_to": completed_to.isoformat() if completed_to else None},
                     rows=rows if group_col is not None else [], total=total, definitions=DEFINITIONS)


def _aggregate(session: Session, conds: list[ColumnElement], as_of: date, group_col: Any,
               postgres: bool) -> list[_Row]:
    key = Outcome.sort_key
    inner_cols = [Graduate.id.label("gid"), Graduate.at_6m, Graduate.at_12m, Graduate.q2_end, Graduate.q4_end,
                  Graduate.cert_deadline, Graduate.first_qualification,
                  func.max(key).filter(Outcome.as_of <= as_of).label("k_now"),
                  func.max(key).filter(Outcome.as_of <= Graduate.at_6m).label("k6"),
                  func.max(key).filter(Outcome.as_of <= Graduate.at_12m).label("k12"),
                  func.max(key).filter(Outcome.as_of <= Graduate.q2_end).label("kq2"),
                  func.max(key).filter(Outcome.as_of <= Graduate.q4_end).label("kq4")]
    group_cols = [Graduate.id]
    if group_col is not None:
        inner_cols.insert(0, group_col.label("grp"))
    inner = (select(*inner_cols).select_from(Graduate).outerjoin(Outcome, Outcome.graduate_id == Graduate.id)
             .where(*conds).group_by(*group_cols, *([group_col] if group_col is not None else [])).subquery())
    c = inner.c
    reached6, reached12 = c.at_6m <= as_of, c.at_12m <= as_of
    reached_q2, reached_q4 = c.q2_end <= as_of, c.q4_end <= as_of
    wage_now_ok = and_(_cat(c.k_now) == CODES["employed"], _wage(c.k_now) >= 0)
    wage_q2_ok = and_(reached_q2, _cat(c.kq2) == CODES["employed"], _wage(c.kq2) >= 0)
    cols: list[Any] = [
        func.count().label("completers"),
        _count(_cat(c.k_now).in_(EMPLOYED_CODES)).label("emp_now"),
        _count(_cat(c.k_now).in_(EXCLUDED_CODES)).label("exc_now"),
        _count(reached6).label("reached6"),
        _count(and_(reached6, _cat(c.k6).in_(EMPLOYED_CODES))).label("emp6"),
        _count(and_(reached6, _cat(c.k6).in_(EXCLUDED_CODES))).label("exc6"),
        _count(reached12).label("reached12"),
        _count(and_(reached12, _cat(c.k12).in_(EMPLOYED_CODES))).label("emp12"),
        _count(and_(reached12, _cat(c.k12).in_(EXCLUDED_CODES))).label("exc12"),
        _count(and_(c.first_qualification <= c.cert_deadline, c.first_qualification <= as_of)).label("certified"),
        _count(reached_q2).label("reached_q2"),
        _count(and_(reached_q2, _cat(c.kq2).in_(EMPLOYED_CODES))).label("emp_q2"),
        _count(reached_q4).label("reached_q4"),
        _count(and_(reached_q4, _cat(c.kq4).in_(EMPLOYED_CODES))).label("emp_q4"),
        _count(wage_now_ok).label("wage_n"),
        _count(wage_q2_ok).label("earn_n"),
    ]
    if postgres:
        cols += [func.percentile_cont(0.5).within_group(_wage(c.k_now)).filter(wage_now_ok).label("wage_median"),
                 func.percentile_cont(0.5).within_group(_wage(c.kq2) * 3).filter(wage_q2_ok).label("earn_median")]
    grouped = "grp" in c
    query = select(*([c.grp] if grouped else [literal(None).label("grp")]), *cols).select_from(inner)
    if grouped and postgres:
        query = (query.add_columns(func.grouping(c.grp).label("is_total"))
                 .group_by(func.grouping_sets(c.grp, tuple_())).order_by(func.grouping(c.grp), c.grp))
    elif grouped:
        query = query.group_by(c.grp).order_by(c.grp)
    result = session.execute(query).mappings().all()
    medians: dict[Any, tuple[list[int], list[int]]] = {}
    if not postgres:
        wage_rows = session.execute(select(*([c.grp] if grouped else [literal(None).label("grp")]),
                                           case((wage_now_ok, _wage(c.k_now)), else_=None).label("w"),
                                           case((wage_q2_ok, _wage(c.kq2) * 3), else_=None).label("e"))
                                    .select_from(inner).where((wage_now_ok) | (wage_q2_ok))).all()
        for grp, w, e in wage_rows:
            bucket = medians.setdefault(grp, ([], []))
            if w is not None:
                bucket[0].append(int(w))
            if e is not None:
                bucket[1].append(int(e))
    out = []
    for r in result:
        n = int(r["completers"])
        if postgres:
            wage = MedianOut(value=_half_up(r["wage_median"]), count=int(r["wage_n"]))
            earn = MedianOut(value=_half_up(r["earn_median"]), count=int(r["earn_n"]))
        else:
            w, e = medians.get(r["grp"], ([], []))
            wage, earn = _median(w), _median(e)
        grp = r["grp"]
        out.append(_Row(is_total=bool(r.get("is_total") or 0),
            group=None if grp is None else str(grp), completers=n,
            employment_rate=_ratio(Ratio(int(r["emp_now"]), n - int(r["exc_now"]))),
            employment_rate_6m=_ratio(Ratio(int(r["emp6"]), int(r["reached6"]) - int(r["exc6"]))),
            employment_rate_12m=_ratio(Ratio(int(r["emp12"]), int(r["reached12"]) - int(r["exc12"]))),
            median_monthly_wage=wage,
            certificate_attainment=_ratio(Ratio(int(r["certified"]), n)),
            wioa_employment_q2=_ratio(Ratio(int(r["emp_q2"]), int(r["reached_q2"]))),
            wioa_employment_q4=_ratio(Ratio(int(r["emp_q4"]), int(r["reached_q4"]))),
            wioa_median_earnings_q2=earn))
    if not out:
        out.append(_empty())
    return out


class _Row(IndicatorRow):
    is_total: bool = False


def _half_up(value: float | None) -> int | None:
    return None if value is None else int(float(value) + 0.5)


def _empty() -> _Row:
    zero = _ratio(Ratio(0, 0))
    none = MedianOut(value=None, count=0)
    return _Row(group=None, completers=0, employment_rate=zero, employment_rate_6m=zero,
                        employment_rate_12m=zero, median_monthly_wage=none, certificate_attainment=zero,
                        wioa_employment_q2=zero, wioa_employment_q4=zero, wioa_median_earnings_q2=none)


INDICATORS = ("employment_rate", "employment_rate_6m", "employment_rate_12m", "median_monthly_wage",
              "certificate_attainment", "wioa_employment_q2", "wioa_employment_q4", "wioa_median_earnings_q2")


def to_xlsx(report: ReportOut) -> bytes:
    from shared.spreadsheets import write_xlsx

    headers = ["group", "completers", "indicator", "numerator", "denominator", "rate", "percent", "median_krw",
               "median_over"]
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
    return write_xlsx({
        "indicators": (headers, rows),
        "definitions": (["indicator", "definition"], [[k, v] for k, v in report.definitions.items()]),
        "filters": (["filter", "value"], [["as_of", report.as_of.isoformat()], ["group_by", report.group_by or ""],
                                          *filters]),
    })
