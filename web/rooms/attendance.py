"""Attendance: today's sessions, a session's roster and marks, the kiosk, corrections and excuses with their
history, the at-risk list, a trainee's standing month by month, the monthly sheet, closing a cohort.

Everything comes from the attendance API as the signed-in user sees it; names on the roster are the roster's.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.api import Api, ApiProblem, RuleError
from web.core import ApiDep, FormState, Room, User, UserDep, current_user, download, form_data, render
from web.i18n import translate

router = APIRouter()
SERVICE = "attendance"
MARKS = ("present", "late", "early_leave", "out", "absent", "excused")
REASON_CODES = (
    "reserve_forces",
    "civil_defence",
    "employer_test",
    "job_interview",
    "voting",
    "civic_duty",
    "business_start_exam",
    "skills_competition",
)
MARKERS = frozenset({"instructor", "campus_admin"})  # who may change marks and close (the API decides the same)
UUID_IN = re.compile(r"([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})")
BULK_PARALLEL = 8


def today(request: Request) -> date:
    return datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()


def can_mark(user: User) -> bool:
    return bool(user.roles & MARKERS)


def cohort_title(c: dict[str, Any]) -> str:
    return f"{c['programme_title']} · {c['start_date']} ~ {c['end_date']}"


def read_card(text: str) -> str | None:
    """The trainee id a card reader or QR scanner typed (a bare id, without hyphens, or inside a longer code)."""
    m = UUID_IN.search(text.strip())
    return "-".join(m.groups()).lower() if m else None


def local_problem(rule: str, fld: str, status: int = 422) -> ApiProblem:
    """A refusal found before calling the API (e.g. a reading that holds no id), shown like the API's own."""
    return ApiProblem(service="web", status=status, code="validation-error", errors=[RuleError(rule, "", fld)])


# -- today's sessions -------------------------------------------------------------
@router.get("")
async def index(request: Request, api: ApiDep, user: UserDep, campus: str = "") -> Response:
    day = today(request)
    cohorts = (await api.get(SERVICE, "cohorts", campus=campus or None, limit=200))["items"]
    running = [c for c in cohorts if c["start_date"] <= day.isoformat() <= c["end_date"] and not c["closed_on"]]
    schedules = await asyncio.gather(*(api.get(SERVICE, f"cohorts/{c['id']}/sessions") for c in running))
    sessions = sorted(
        ({"cohort": c, **s} for c, ss in zip(running, schedules) for s in ss if s["date"] == day.isoformat()),
        key=lambda s: (s["start"], s["cohort"]["programme_title"]),
    )
    return render(
        request,
        "attendance/index.html",
        {"day": day, "sessions": sessions, "cohorts": cohorts, "campus": campus, "title_of": cohort_title},
    )


# -- a cohort: roster with rates, sessions, the monthly sheet, closing ----------------
async def _cohort_page(request: Request, api: Api, cohort_id: str, **extra: Any) -> Response:
    cohort, roster, sessions = await asyncio.gather(
        api.get(SERVICE, f"cohorts/{cohort_id}"),
        api.get(SERVICE, f"cohorts/{cohort_id}/roster"),
        api.get(SERVICE, f"cohorts/{cohort_id}/sessions"),
    )
    months = sorted({s["date"][:7] for s in sessions})
    day = today(request).isoformat()
    status = extra.pop("status", 200)
    ctx = {
        "cohort": cohort,
        "roster": roster,
        "can_mark": can_mark(current_user(request)),
        "sessions": sessions,
        "months": months,
        "day": day,
        "current_month": day[:7] if day[:7] in months else (months[-1] if months else ""),
        "title": cohort_title(cohort),
        "sheet_form": None,
        "close_problem": None,
        **extra,
    }
    return render(request, "attendance/cohort.html", ctx, status=status)


@router.get("/cohorts/{cohort_id}")
async def cohort(request: Request, cohort_id: str, api: ApiDep) -> Response:
    closed = request.state.session.pop("attendance.closed")
    return await _cohort_page(
        request, api, cohort_id, closed=closed if closed and closed.get("cohort_id") == cohort_id else None
    )


@router.get("/cohorts/{cohort_id}/sheet")
async def sheet(request: Request, cohort_id: str, api: ApiDep, month: str = "") -> Response:
    try:
        return await download(
            api, SERVICE, f"cohorts/{cohort_id}/sheet", f"attendance-{month}.xlsx", month=month, format="xlsx"
        )
    except ApiProblem as problem:
        if problem.status in (401, 404):
            raise
        # The API names the query parameter and the pattern it failed; the form says what a month looks like.
        problem.errors = [
            RuleError("sheet.month", e.message, "month") if e.field_name in (None, "month") else e
            for e in problem.errors
        ] or [RuleError("sheet.month", "", "month")]
        return await _cohort_page(
            request,
            api,
            cohort_id,
            status=problem.status,
            sheet_form=FormState({"month": month}, problem, frozenset({"month"})),
        )


@router.post("/cohorts/{cohort_id}/close")
async def close(request: Request, cohort_id: str, api: ApiDep) -> Response:
    values = await form_data(request)
    if values.get("confirm") != "on":
        return await _cohort_page(
            request, api, cohort_id, status=422, close_problem=local_problem("attendance.close-unconfirmed", "confirm")
        )
    try:
        result = await api.post(SERVICE, f"cohorts/{cohort_id}/close")
    except ApiProblem as problem:
        if problem.status in (401, 404):
            raise
        return await _cohort_page(request, api, cohort_id, status=problem.status, close_problem=problem)
    request.state.session.flash("attendance.closed-flash")
    request.state.session.set("attendance.closed", result)
    return RedirectResponse(f"/attendance/cohorts/{cohort_id}", status_code=303)


# -- a session's roster, marked by one click or in bulk --------------------------------
async def _session(api: Api, session_id: str) -> dict[str, Any]:
    roster = await api.get(SERVICE, f"sessions/{session_id}/roster")
    cohort = await api.get(SERVICE, f"cohorts/{roster['session']['cohort_id']}")
    return {"roster": roster, "session": roster["session"], "cohort": cohort, "title": cohort_title(cohort)}


@router.get("/sessions/{session_id}")
async def session_roster(request: Request, session_id: str, api: ApiDep, user: UserDep) -> Response:
    ctx = await _session(api, session_id)
    return render(request, "attendance/session.html", {**ctx, "can_mark": can_mark(user), "results": {}})


def _default_reason(request: Request, mark: str) -> str:
    return translate(
        request.state.lang, "attendance.reason.roster", mark=translate(request.state.lang, f"attendance.mark.{mark}")
    )


@router.post("/sessions/{session_id}/rows/{trainee_id}")
async def one_click(request: Request, session_id: str, trainee_id: str, api: ApiDep, user: UserDep) -> Response:
    """One click on a row's mark: the row comes back (htmx) with the new mark or the refusal beside it."""
    values = await form_data(request)
    mark = values.get("mark", "")
    problem = None
    try:
        await api.put(
            SERVICE,
            f"sessions/{session_id}/marks/{trainee_id}",
            json={"mark": mark, "reason": _default_reason(request, mark) if mark in MARKS else "-"},
        )
    except ApiProblem as exc:
        if exc.status == 401 or (exc.status == 404 and not exc.errors):
            raise  # signed out / not there: the console's own pages say so
        problem = exc
    ctx = await _session(api, session_id)
    if request.headers.get("HX-Request") == "true":
        row = next((r for r in ctx["roster"]["rows"] if r["trainee_id"] == trainee_id), None)
        return render(
            request,
            "attendance/_row.html",
            {**ctx, "r": row, "can_mark": can_mark(user), "problem": problem, "pressed": mark},
        )
    return render(
        request,
        "attendance/session.html",
        {**ctx, "can_mark": can_mark(user), "results": {trainee_id: problem} if problem else {}},
        status=problem.status if problem else 200,
    )


@router.post("/sessions/{session_id}/bulk")
async def bulk(request: Request, session_id: str, api: ApiDep, user: UserDep) -> Response:
    """The ticked rows get one mark; each row shows its own refusal, if any."""
    form = await request.form()
    ids = [v for v in form.getlist("trainee_id") if isinstance(v, str)]
    mark = str(form.get("bulk_mark") or "")
    reason = str(form.get("reason") or "").strip() or (_default_reason(request, mark) if mark in MARKS else "-")
    results: dict[str, ApiProblem | None] = {}
    bulk_problem = None
    if not ids:
        bulk_problem = local_problem("attendance.bulk-none", "trainee_id")
    else:
        gate = asyncio.Semaphore(BULK_PARALLEL)

        async def one(tid: str) -> None:
            async with gate:
                try:
                    await api.put(SERVICE, f"sessions/{session_id}/marks/{tid}", json={"mark": mark, "reason": reason})
                    results[tid] = None
                except ApiProblem as exc:
                    if exc.status == 401:
                        raise
                    results[tid] = exc

        await asyncio.gather(*(one(t) for t in ids))
    ctx = await _session(api, session_id)
    refused = {t: p for t, p in results.items() if p is not None}
    return render(
        request,
        "attendance/session.html",
        {
            **ctx,
            "can_mark": can_mark(user),
            "results": refused,
            "bulk_problem": bulk_problem,
            "bulk_done": len(results) - len(refused),
            "bulk_form": {"mark": mark, "reason": str(form.get("reason") or "")},
        },
        status=422 if bulk_problem else 200,
    )


# -- one mark: its history, a correction or an excuse ------------------------------------
async def _mark_page(
    request: Request,
    api: Api,
    user: User,
    session_id: str,
    trainee_id: str,
    form: FormState | None = None,
    status: int = 200,
) -> Response:
    detail, ctx = await asyncio.gather(
        api.get(SERVICE, f"sessions/{session_id}/marks/{trainee_id}"), _session(api, session_id)
    )
    row = next((r for r in ctx["roster"]["rows"] if r["trainee_id"] == trainee_id), {})
    lang = request.state.lang
    return render(
        request,
        "attendance/mark.html",
        {
            **ctx,
            "mark": detail,
            "name": row.get("name", ""),
            "form": form,
            "can_mark": can_mark(user),
            "mark_options": [(m, translate(lang, f"attendance.mark.{m}")) for m in MARKS],
            "reason_options": [("", translate(lang, "attendance.reason-code.none"))]
            + [(c, translate(lang, f"attendance.reason-code.{c}")) for c in REASON_CODES],
            "trainee_id": trainee_id,
        },
        status=status,
    )


@router.get("/sessions/{session_id}/marks/{trainee_id}")
async def mark(request: Request, session_id: str, trainee_id: str, api: ApiDep, user: UserDep) -> Response:
    return await _mark_page(request, api, user, session_id, trainee_id)


@router.post("/sessions/{session_id}/marks/{trainee_id}")
async def correct(request: Request, session_id: str, trainee_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body: dict[str, Any] = {"mark": values.get("mark", ""), "reason": values.get("reason", "")}
    if body["mark"] == "excused":
        body["reason_code"] = values.get("reason_code") or None
        body["evidence_ref"] = values.get("evidence_ref") or None
    try:
        await api.put(SERVICE, f"sessions/{session_id}/marks/{trainee_id}", json=body)
    except ApiProblem as problem:
        if problem.status == 401 or (problem.status == 404 and not problem.errors):
            raise
        return await _mark_page(
            request,
            api,
            user,
            session_id,
            trainee_id,
            FormState(values, problem, frozenset({"mark", "reason", "reason_code", "evidence_ref"})),
            problem.status,
        )
    request.state.session.flash("attendance.saved-flash")
    return RedirectResponse(request.url.path, status_code=303)


# -- the kiosk ---------------------------------------------------------------------
@router.get("/sessions/{session_id}/kiosk")
async def kiosk(request: Request, session_id: str, api: ApiDep) -> Response:
    ctx = await _session(api, session_id)
    return render(request, "attendance/kiosk.html", {**ctx, "result": None, "kind": "in"})


@router.post("/sessions/{session_id}/kiosk")
async def kiosk_check_in(request: Request, session_id: str, api: ApiDep) -> Response:
    """One reading: the trainee's name and mark (or the refusal in words), answered as a fragment for htmx."""
    started = time.perf_counter()
    values = await form_data(request)
    reading = values.get("reading", "")
    kind = "out" if values.get("kind") == "out" else "in"
    trainee_id = read_card(reading)
    result: dict[str, Any] = {"reading": reading, "kind": kind}
    if trainee_id is None:
        result["problem"] = local_problem("attendance.kiosk.unreadable", "reading")
    else:
        method = "card" if UUID_IN.fullmatch(reading.strip()) else "qr"
        check = api.post(
            SERVICE, f"sessions/{session_id}/check-ins", json={"trainee_id": trainee_id, "kind": kind, "method": method}
        )
        roster = api.get(SERVICE, f"sessions/{session_id}/roster")
        done, names = await asyncio.gather(check, roster, return_exceptions=True)
        if isinstance(names, BaseException):
            raise names
        result["name"] = next((r["name"] for r in names["rows"] if r["trainee_id"] == trainee_id), "")
        if isinstance(done, ApiProblem) and done.status != 401:
            result["problem"] = done
        elif isinstance(done, BaseException):
            raise done
        else:
            result["mark"] = done
    headers = {"Server-Timing": f"kiosk;dur={(time.perf_counter() - started) * 1000:.1f}"}
    if request.headers.get("HX-Request") == "true":
        return render(request, "attendance/_kiosk_result.html", {"result": result}, headers=headers)
    ctx = await _session(api, session_id)
    return render(request, "attendance/kiosk.html", {**ctx, "result": result, "kind": kind}, headers=headers)


# -- at risk, a trainee's standing -------------------------------------------------------
@router.get("/at-risk")
async def at_risk(request: Request, api: ApiDep, campus: str = "", cohort_id: str = "") -> Response:
    page, cohorts = await asyncio.gather(
        api.get(SERVICE, "at-risk", campus=campus or None, cohort_id=cohort_id or None, limit=200),
        api.get(SERVICE, "cohorts", campus=campus or None, limit=200),
    )
    titles = {c["id"]: cohort_title(c) for c in cohorts["items"]}
    return render(
        request,
        "attendance/at_risk.html",
        {
            "rows": page["items"],
            "total": page["total"],
            "titles": titles,
            "campus": campus,
            "cohort_id": cohort_id,
            "cohorts": cohorts["items"],
        },
    )


@router.get("/trainees/{trainee_id}")
async def standing(request: Request, trainee_id: str, api: ApiDep, cohort_id: str = "") -> Response:
    rows = await api.get(SERVICE, f"trainees/{trainee_id}/attendance", cohort_id=cohort_id or None)
    found = await asyncio.gather(
        *(api.get(SERVICE, f"cohorts/{r['cohort_id']}") for r in rows),
        *(api.get(SERVICE, f"cohorts/{r['cohort_id']}/roster") for r in rows),
    )
    cohorts, rosters = found[: len(rows)], found[len(rows) :]
    name = next((e["name"] for roster in rosters for e in roster if e["trainee_id"] == trainee_id), "")
    return render(
        request,
        "attendance/standing.html",
        {"standings": list(zip(rows, cohorts)), "name": name, "trainee_id": trainee_id, "title_of": cohort_title},
    )


ROOM = Room(name="attendance", router=router, roles=frozenset({"instructor", "auditor"}), order=20)
