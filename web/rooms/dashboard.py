"""The employment dashboard: employment rate at 6 and 12 months (and as of the report date) by cohort, programme or
campus, each figure with its numerator and denominator; the median wage; certificate attainment; the WIOA-style
quarter figures once graduates have reached those quarters. All from placement's report API; the same report as
XLSX from the same API. Charts are SVG drawn here (no chart library), readable in print.

A programme's target rate (the dashed line) is placement's (``targets/{programme}``): the console keeps nothing
but sessions, and the target belongs with the figures it is compared to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.api import ApiProblem, RuleError
from web.core import ApiDep, FormState, Room, UserDep, download, form_data, render, session_of

router = APIRouter()
GROUPS = ("programme", "campus", "cohort")
FILTERS = ("as_of", "group_by", "campus", "programme_code", "cohort_id")
CHARTS = ("employment_rate_6m", "employment_rate_12m", "employment_rate", "certificate_attainment")
TARGETED = {"employment_rate_6m", "employment_rate_12m", "employment_rate"}

# geometry of a horizontal bar chart (SVG user units)
LABEL_W, BAR_W, VALUE_W, ROW_H, TOP, BOTTOM = 170, 360, 150, 30, 26, 28


@dataclass
class Bar:
    label: str
    y: int
    width: float
    text: str
    below: bool
    target_x: float | None
    empty: bool


def _params(request: Request) -> dict[str, str]:
    q = request.query_params
    params = {k: q.get(k, "").strip() for k in FILTERS if q.get(k, "").strip()}
    params.setdefault("group_by", "programme")
    if params["group_by"] not in GROUPS:
        params["group_by"] = "programme"
    return params


def chart(
    rows: list[dict], metric: str, targets: dict[str, float], group_by: str, programme_code: str | None
) -> dict[str, Any]:
    """Bars of one ratio per group, 0-100% across; a target mark per bar where the group has one."""
    bars = []
    for i, row in enumerate(rows):
        ratio = row[metric]
        rate = ratio["rate"]
        target = targets.get(row["group"]) if group_by == "programme" else targets.get(programme_code or "")
        target = target if metric in TARGETED else None
        bars.append(
            Bar(
                label=str(row["group"])[:24],
                y=TOP + i * ROW_H,
                width=0 if rate is None else rate * BAR_W,
                text=("–" if rate is None else f"{rate * 100:.1f}%")
                + f" ({ratio['numerator']}/{ratio['denominator']})",
                below=target is not None and rate is not None and rate < target,
                target_x=None if target is None else LABEL_W + target * BAR_W,
                empty=rate is None,
            )
        )
    height = TOP + len(rows) * ROW_H + BOTTOM
    return {
        "metric": metric,
        "bars": bars,
        "height": height,
        "width": LABEL_W + BAR_W + VALUE_W,
        "x0": LABEL_W,
        "x100": LABEL_W + BAR_W,
        "ticks": [(LABEL_W + BAR_W * p / 100, p) for p in (0, 25, 50, 75, 100)],
        "bottom": height - BOTTOM,
        "row_h": ROW_H,
    }


async def _page(request: Request, api: ApiDep, form: FormState | None = None, status: int = 200) -> Response:
    params = _params(request)
    report, targets = await asyncio.gather(
        api.get("placement", "reports/employment", **params), api.get("placement", "targets")
    )
    target_map = {t["programme_code"]: t["employment_rate"] for t in targets}
    rows = report["rows"] or [dict(report["total"], group=params.get("programme_code") or "TOTAL")]
    charts = [chart(rows, m, target_map, params["group_by"], params.get("programme_code")) for m in CHARTS]
    return render(
        request,
        "dashboard/index.html",
        {
            "report": report,
            "params": params,
            "charts": charts,
            "targets": targets,
            "groups": GROUPS,
            "form": form or FormState(),
            "query": request.url.query,
        },
        status=status,
    )


@router.get("")
async def index(request: Request, api: ApiDep, user: UserDep) -> Response:
    return await _page(request, api)


@router.get("/employment.xlsx")
async def xlsx(request: Request, api: ApiDep, user: UserDep) -> Response:
    params = _params(request)
    return await download(
        api, "placement", "reports/employment.xlsx", f"employment-{params.get('as_of', 'today')}.xlsx", **params
    )


@router.post("/targets")
async def set_target(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    code = values.get("programme_code", "").strip()
    errors = []
    try:
        percent = float(values.get("target_percent", "").replace("%", "").strip())
        if not 0 < percent <= 100:
            errors.append(RuleError("dashboard.target-range", field="target_percent"))
    except ValueError:
        percent = 0
        errors.append(RuleError("dashboard.target-range", field="target_percent"))
    if not code:
        errors.append(RuleError("dashboard.programme-required", field="programme_code"))
    fields = frozenset({"programme_code", "target_percent"})
    if errors:
        return await _page(
            request,
            api,
            FormState(values, ApiProblem("web", 422, "validation-error", errors=errors), fields),
            status=422,
        )
    try:
        await api.put("placement", f"targets/{code}", json={"employment_rate": round(percent / 100, 4)})
    except ApiProblem as problem:
        for e in problem.errors:  # the API names its own field; the form calls it target_percent
            if e.field_name == "employment_rate":
                e.field = "target_percent"
            elif e.field_name in ("programme_code", "path.programme_code"):
                e.field = "programme_code"
        return await _page(request, api, FormState(values, problem, fields), status=problem.status)
    session_of(request).flash("dashboard.target-saved", "ok")
    view = urlencode({k: v for k, v in _params(request).items()})  # the same view again, rebuilt from known filters
    return RedirectResponse(f"/dashboard?{view}", status_code=303)


ROOM = Room(name="dashboard", router=router, roles=frozenset({"placement", "auditor"}), order=45)
