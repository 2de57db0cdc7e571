"""Admissions: campuses, programmes, cohorts and their timetable, applications with each failed rule in words,
import of a CSV/XLSX file, the selection and its result, seats (accept, decline, reject, withdraw) and stats;
records that look like the same person, and merging them. Every call goes to the enrollment API as the
signed-in user."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.api import Api, ApiProblem, RuleError
from web.core import (
    ApiDep,
    Forbidden,
    FormState,
    Room,
    User,
    UserDep,
    form_data,
    form_number,
    is_htmx,
    render,
    session_of,
)

router = APIRouter()
SVC = "enrollment"
TRACKS = (
    "mid_career_special",
    "company_partnered",
    "specialist_technical",
    "national_qualification",
    "ai_hightech",
    "work_experience_bridge",
    "career_break_women",
    "other",
)
RESIDENCY = (
    "city_resident",
    "foreign_permanent_resident",
    "marriage_immigrant",
    "marriage_immigrant_child",
    "non_resident",
)
PRIORITY = (
    "basic_livelihood",
    "near_poverty",
    "national_merit",
    "single_parent",
    "welfare_facility_resident",
    "disabled",
)
STATUSES = ("submitted", "ineligible", "selected", "waitlisted", "accepted", "declined", "rejected", "withdrawn")
WITHDRAW_REASONS = ("early_employment", "personal", "health", "dropout", "moved", "other")
STATUS_ORDER = {
    s: i
    for i, s in enumerate(
        ("accepted", "selected", "waitlisted", "submitted", "ineligible", "declined", "withdrawn", "rejected")
    )
}


async def all_pages(api: Api, path: str, limit: int = 500, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = await api.get(SVC, path, limit=limit, offset=offset, **params)
        items.extend(page["items"])
        offset += limit
        if offset >= page["total"] or not page["items"]:
            return items


# -- cohorts overview ------------------------------------------------------------------
@router.get("")
async def index(request: Request, api: ApiDep) -> Response:
    cohorts = await all_pages(api, "cohorts")
    cohorts.sort(key=lambda c: (c["start_date"], c["programme_code"], c["label"]), reverse=True)
    return render(request, "admissions/index.html", {"cohorts": cohorts})


# -- campuses ---------------------------------------------------------------------------
CAMPUS_FIELDS = frozenset({"code", "name", "city"})


async def _campuses_page(request: Request, api: Api, form: FormState | None = None, status: int = 200) -> Response:
    campuses = await api.get(SVC, "campuses")
    return render(
        request, "admissions/campuses.html", {"campuses": campuses, "form": form or FormState()}, status=status
    )


@router.get("/campuses")
async def campuses(request: Request, api: ApiDep) -> Response:
    return await _campuses_page(request, api)


@router.post("/campuses")
async def create_campus(request: Request, api: ApiDep) -> Response:
    values = await form_data(request)
    try:
        await api.post(SVC, "campuses", json={k: values.get(k, "").strip() for k in CAMPUS_FIELDS})
    except ApiProblem as problem:
        return await _campuses_page(request, api, FormState(values, problem, CAMPUS_FIELDS), problem.status)
    session_of(request).flash("admissions.campus.created")
    return RedirectResponse("/admissions/campuses", status_code=303)


# -- programmes -------------------------------------------------------------------------
PROGRAMME_FIELDS = frozenset(
    {
        "code",
        "title",
        "campus",
        "track",
        "total_hours",
        "completion_threshold",
        "qualification_codes",
        "min_age",
        "max_age",
        "allowed_residency",
        "career_break_women_only",
    }
)


async def _programmes_page(request: Request, api: Api, form: FormState | None = None, status: int = 200) -> Response:
    programmes, campuses = await asyncio.gather(all_pages(api, "programmes"), api.get(SVC, "campuses"))
    return render(
        request,
        "admissions/programmes.html",
        {
            "programmes": programmes,
            "campuses": campuses,
            "tracks": TRACKS,
            "residency": RESIDENCY,
            "form": form or FormState(values={"completion_threshold": "0.8", "min_age": "15"}),
        },
        status=status,
    )


@router.get("/programmes")
async def programmes(request: Request, api: ApiDep) -> Response:
    return await _programmes_page(request, api)


@router.post("/programmes")
async def create_programme(request: Request, api: ApiDep) -> Response:
    form = await request.form()
    values = await form_data(request)
    body: dict[str, Any] = {
        "code": values.get("code", "").strip(),
        "title": values.get("title", "").strip(),
        "campus": values.get("campus", ""),
        "track": values.get("track", ""),
        "total_hours": form_number(values.get("total_hours")),
        "completion_threshold": form_number(values.get("completion_threshold")) or 0.8,
        "qualification_codes": [q.strip() for q in values.get("qualification_codes", "").split(",") if q.strip()],
        "min_age": form_number(values.get("min_age")) if values.get("min_age") else 15,
        "max_age": form_number(values.get("max_age")),
        "career_break_women_only": values.get("career_break_women_only") == "on",
    }
    residency = [v for v in form.getlist("allowed_residency") if isinstance(v, str)]
    if residency:
        body["allowed_residency"] = residency
    try:
        await api.post(SVC, "programmes", json=body)
    except ApiProblem as problem:
        values["allowed_residency"] = ",".join(residency)
        return await _programmes_page(request, api, FormState(values, problem, PROGRAMME_FIELDS), problem.status)
    session_of(request).flash("admissions.programme.created")
    return RedirectResponse("/admissions/programmes", status_code=303)


# -- cohorts ----------------------------------------------------------------------------
COHORT_FIELDS = frozenset(
    {
        "programme_id",
        "label",
        "capacity",
        "application_opens",
        "application_closes",
        "start_date",
        "end_date",
        "timetable.weekdays",
        "timetable.start",
        "timetable.end",
        "timetable.break_minutes",
        "timetable.holidays",
    }
)


async def _cohort_form(request: Request, api: Api, form: FormState | None = None, status: int = 200) -> Response:
    programmes = await all_pages(api, "programmes")
    defaults = {
        "timetable.start": "09:00",
        "timetable.end": "18:00",
        "timetable.break_minutes": "60",
        "timetable.weekdays": "0,1,2,3,4",
        "programme_id": request.query_params.get("programme_id", ""),
    }
    return render(
        request,
        "admissions/cohort_new.html",
        {"programmes": programmes, "form": form or FormState(values=defaults)},
        status=status,
    )


@router.get("/cohorts/new")
async def new_cohort(request: Request, api: ApiDep) -> Response:
    return await _cohort_form(request, api)


@router.post("/cohorts")
async def create_cohort(request: Request, api: ApiDep) -> Response:
    form = await request.form()
    values = await form_data(request)
    weekdays = [int(v) for v in form.getlist("timetable.weekdays") if isinstance(v, str) and v.isdigit()]
    holidays = [h.strip() for h in values.get("timetable.holidays", "").replace(",", "\n").splitlines() if h.strip()]
    body = {
        k: values.get(k, "").strip() or None
        for k in ("programme_id", "label", "application_opens", "application_closes", "start_date", "end_date")
    }
    body["capacity"] = form_number(values.get("capacity"))
    body["timetable"] = {
        "weekdays": weekdays,
        "start": values.get("timetable.start") or "09:00",
        "end": values.get("timetable.end") or "18:00",
        "break_minutes": form_number(values.get("timetable.break_minutes")) or 0,
        "holidays": holidays,
    }
    try:
        cohort = await api.post(SVC, "cohorts", json=body)
    except ApiProblem as problem:
        values["timetable.weekdays"] = ",".join(map(str, weekdays))
        return await _cohort_form(request, api, FormState(values, problem, COHORT_FIELDS), problem.status)
    session_of(request).flash("admissions.cohort.created")
    return RedirectResponse(f"/admissions/cohorts/{cohort['id']}", status_code=303)


@router.get("/cohorts/{cohort_id}")
async def cohort(request: Request, cohort_id: str, api: ApiDep) -> Response:
    c, stats = await asyncio.gather(api.get(SVC, f"cohorts/{cohort_id}"), api.get(SVC, f"cohorts/{cohort_id}/stats"))
    return render(request, "admissions/cohort.html", {"cohort": c, "stats": stats})


# -- the timetable and its changes --------------------------------------------------------
# Each change form: the fields it shows (a refusal naming one of them is shown by it, any other by the form's
# button) and the ones that must be filled in before the API is asked. A move keeps the session's own times when
# its start or end is left blank.
TIMETABLE_FORMS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "cancel": (frozenset({"session_date", "reason"}), ("session_date", "reason")),
    "add": (frozenset({"date", "start", "end", "reason"}), ("date", "start", "end", "reason")),
    "move": (frozenset({"session_date", "date", "start", "end", "reason"}), ("session_date", "date", "reason")),
    "extend": (frozenset({"end_date", "reason"}), ("end_date", "reason")),
}
TIMETABLE_WRITERS = frozenset({"admissions", "campus_admin"})  # who may change a timetable (the API decides the same)


def changes_timetable(user: User) -> bool:
    """Admissions staff (and the campus admin) change a published timetable; an auditor reads its history."""
    return bool(user.roles & TIMETABLE_WRITERS)


def seoul_today(request: Request) -> date:
    return datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()


def timetable_change_body(kind: str, values: dict[str, str]) -> dict[str, Any]:
    """The API's body for one change form; a picked session is sent as ``YYYY-MM-DD HH:MM`` (its date and start)."""
    body: dict[str, Any] = {"kind": kind, "reason": values.get("reason", "").strip()}
    if kind in ("cancel", "move"):
        day, _, start = values.get("session_date", "").partition(" ")
        body["session_date"] = day or None
        if start:
            body["session_start"] = start
    if kind in ("add", "move"):
        for name in ("date", "start", "end"):
            if values.get(name):
                body[name] = values[name]
    if kind == "extend":
        body["end_date"] = values.get("end_date") or None
    return body


def missing_fields(kind: str, values: dict[str, str]) -> ApiProblem | None:
    """Every required field left empty, named, before the API is asked (its own answer would name none)."""
    _, required = TIMETABLE_FORMS[kind]
    empty = [name for name in required if not values.get(name, "").strip()]
    if not empty:
        return None
    return ApiProblem("web", 422, "validation-error", errors=[RuleError("missing", field=name) for name in empty])


async def _timetable_page(
    request: Request,
    api: Api,
    cohort_id: str,
    user: User,
    failed: tuple[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    c, sessions, changes = await asyncio.gather(
        api.get(SVC, f"cohorts/{cohort_id}"),
        api.get(SVC, f"cohorts/{cohort_id}/sessions"),
        api.get(SVC, f"cohorts/{cohort_id}/timetable-changes"),
    )
    today = seoul_today(request)
    upcoming = [s for s in sessions if s["date"] >= today.isoformat()]  # a session already held cannot change
    usual = upcoming[0] if upcoming else (sessions[-1] if sessions else {})
    forms = {
        "cancel": FormState(),
        "add": FormState(values={"start": usual.get("start", "")[:5], "end": usual.get("end", "")[:5]}),
        "move": FormState(),
        "extend": FormState(),
    }
    if failed:
        forms[failed[0]] = failed[1]
    return render(
        request,
        "admissions/timetable.html",
        {
            "cohort": c,
            "sessions": sessions,
            "hours": sum(s["hours"] for s in sessions),
            "changes": list(reversed(changes)),  # the newest first
            "upcoming": upcoming,
            "can_change": changes_timetable(user),
            "forms": forms,
            "failed_kind": failed[0] if failed else "",
        },
        status=status,
    )


@router.get("/cohorts/{cohort_id}/timetable")
async def timetable(request: Request, cohort_id: str, api: ApiDep, user: UserDep) -> Response:
    return await _timetable_page(request, api, cohort_id, user)


@router.post("/cohorts/{cohort_id}/timetable-changes")
async def change_timetable(request: Request, cohort_id: str, api: ApiDep, user: UserDep) -> Response:
    """One change (cancel, add, move, extend) with its reason; a refusal is shown by the field it names, what was
    typed kept."""
    if not changes_timetable(user):
        raise Forbidden()
    values = await form_data(request)
    kind = values.get("kind", "")
    if kind not in TIMETABLE_FORMS:
        return render(request, "errors/page.html", {"status": 404, "message_key": "common.error.not-found"}, status=404)
    fields, _ = TIMETABLE_FORMS[kind]
    try:
        problem = missing_fields(kind, values)
        if problem:
            raise problem
        change = await api.post(SVC, f"cohorts/{cohort_id}/timetable-changes", json=timetable_change_body(kind, values))
    except ApiProblem as problem:
        if problem.status in (401, 403) or (problem.status == 404 and not problem.errors):
            raise  # signed out, not allowed, no such cohort: the console's own pages say so
        return await _timetable_page(
            request, api, cohort_id, user, (kind, FormState(values, problem, fields)), problem.status
        )
    session_of(request).flash(f"admissions.timetable.changed.{change['kind']}")
    return RedirectResponse(f"/admissions/cohorts/{cohort_id}/timetable#changes-h", status_code=303)


# -- applications -----------------------------------------------------------------------
async def _applications(api: Api, cohort: dict[str, Any], status: str | None = None) -> list[dict[str, Any]]:
    """The cohort's applications with the applicant's name and, once accepted, the enrollment."""
    apps, enrollments, applicants = await asyncio.gather(
        all_pages(api, "applications", cohort_id=cohort["id"], status=status),
        all_pages(api, "enrollments", cohort_id=cohort["id"]),
        all_pages(api, "applicants", campus=cohort["campus"]),
    )  # the API filters applicants by campus only
    wanted = {a["applicant_id"] for a in apps}
    people = {p["id"]: p for p in applicants if p["id"] in wanted}
    by_app = {e["application_id"]: e for e in enrollments}
    for a in apps:
        a["applicant"] = people.get(a["applicant_id"], {})
        a["enrollment"] = by_app.get(a["id"])
    apps.sort(
        key=lambda a: (STATUS_ORDER.get(a["status"], 99), a["waitlist_position"] or 0, -a["score"], a["applied_at"])
    )
    return apps


@router.get("/cohorts/{cohort_id}/applications")
async def applications(request: Request, cohort_id: str, api: ApiDep, status: str = "") -> Response:
    c = await api.get(SVC, f"cohorts/{cohort_id}")
    apps = await _applications(api, c, status if status in STATUSES else None)
    return render(
        request,
        "admissions/applications.html",
        {
            "cohort": c,
            "applications": apps,
            "statuses": STATUSES,
            "status": status,
            "withdraw_reasons": WITHDRAW_REASONS,
            "residency": RESIDENCY,
            "priority": PRIORITY,
            "form": FormState(values={"residency_status": "city_resident"}),
        },
    )


APPLICANT_FIELDS = frozenset(
    {
        "name",
        "birth_date",
        "gender",
        "residency_status",
        "career_break",
        "priority_categories",
        "leaving_care",
        "email",
        "phone",
        "name_romanised",
        "score",
    }
)


@router.post("/cohorts/{cohort_id}/applications")
async def add_application(request: Request, cohort_id: str, api: ApiDep) -> Response:
    """One applicant typed in by staff, then the application (its eligibility is checked by the API)."""
    form = await request.form()
    values = await form_data(request)
    c = await api.get(SVC, f"cohorts/{cohort_id}")
    priority = [v for v in form.getlist("priority_categories") if isinstance(v, str)]
    person = {
        "campus": c["campus"],
        "name": values.get("name", "").strip(),
        "birth_date": values.get("birth_date") or None,
        "gender": values.get("gender") or None,
        "residency_status": values.get("residency_status", ""),
        "career_break": values.get("career_break") == "on",
        "leaving_care": values.get("leaving_care") == "on",
        "priority_categories": priority,
        "email": values.get("email") or None,
        "phone": values.get("phone") or None,
        "name_romanised": values.get("name_romanised", "").strip() or None,
    }
    try:
        applicant = await api.post(SVC, "applicants", json=person)
        app = await api.post(
            SVC,
            "applications",
            json={
                "applicant_id": applicant["id"],
                "cohort_id": c["id"],
                "score": form_number(values.get("score")) or 0,
            },
        )
    except ApiProblem as problem:
        values["priority_categories"] = ",".join(priority)
        apps = await _applications(api, c)
        return render(
            request,
            "admissions/applications.html",
            {
                "cohort": c,
                "applications": apps,
                "statuses": STATUSES,
                "status": "",
                "withdraw_reasons": WITHDRAW_REASONS,
                "residency": RESIDENCY,
                "priority": PRIORITY,
                "form": FormState(values, problem, APPLICANT_FIELDS),
                "form_open": True,
            },
            status=problem.status,
        )
    session_of(request).flash(
        "admissions.application.added-ineligible" if app["status"] == "ineligible" else "admissions.application.added"
    )
    if applicant.get("possible_duplicates"):  # the registration's result: who looks like the same person, and why
        session_of(request).flash("admissions.duplicates.found", "error")
        return RedirectResponse(f"/admissions/applicants/{applicant['id']}/duplicates", status_code=303)
    return RedirectResponse(f"/admissions/cohorts/{cohort_id}/applications", status_code=303)


# -- import -----------------------------------------------------------------------------
@router.get("/cohorts/{cohort_id}/import")
async def import_form(request: Request, cohort_id: str, api: ApiDep) -> Response:
    c = await api.get(SVC, f"cohorts/{cohort_id}")
    return render(request, "admissions/import.html", {"cohort": c, "report": None})


@router.post("/cohorts/{cohort_id}/import")
async def import_file(request: Request, cohort_id: str, api: ApiDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    c = await api.get(SVC, f"cohorts/{cohort_id}")
    problem = None
    report = None
    if upload is None or isinstance(upload, str) or not upload.filename:
        problem = ApiProblem("web", 422, "validation-error", errors=[RuleError("import.file-missing", field="file")])
    else:
        content = await upload.read()
        try:
            report = await api.post(
                SVC,
                "applications/import",
                data={"cohort_id": cohort_id},
                files={"file": (upload.filename, content, upload.content_type or "application/octet-stream")},
            )
        except ApiProblem as exc:
            problem = exc
    template = "admissions/_import_report.html" if is_htmx(request) else "admissions/import.html"
    return render(
        request,
        template,
        {"cohort": c, "report": report, "form": FormState(problem=problem, fields=frozenset({"file"}))},
        status=problem.status if problem else 200,
    )


# -- one person, one record: records that look alike, and merging them ------------------
async def _duplicates_page(
    request: Request, api: Api, applicant_id: str, form: FormState | None = None, status: int = 200
) -> Response:
    applicant, candidates = await asyncio.gather(
        api.get(SVC, f"applicants/{applicant_id}"), api.get(SVC, f"applicants/{applicant_id}/duplicates")
    )
    survivor = None
    if applicant.get("merged_into"):
        survivor = await api.get(SVC, f"applicants/{applicant['merged_into']}")
    return render(
        request,
        "admissions/duplicates.html",
        {
            "applicant": applicant,
            "survivor": survivor,
            "candidates": candidates,
            "form": form or FormState(),
            "merge_for": form.value("candidate") if form else "",
        },
        status=status,
    )


@router.get("/applicants/{applicant_id}/duplicates")
async def duplicates(request: Request, applicant_id: str, api: ApiDep) -> Response:
    return await _duplicates_page(request, api, applicant_id)


@router.post("/applicants/{applicant_id}/merge")
async def merge(request: Request, applicant_id: str, api: ApiDep) -> Response:
    """Merge two records of one person; the form says which one stays (``keep``: this or the candidate)."""
    values = await form_data(request)
    candidate = values.get("candidate", "")
    survivor, duplicate = (candidate, applicant_id) if values.get("keep") == "candidate" else (applicant_id, candidate)
    try:
        await api.post(
            SVC,
            f"applicants/{survivor}/merge",
            json={"duplicate_id": duplicate, "reason": values.get("reason", "").strip()},
        )
    except ApiProblem as problem:
        form = FormState(values, problem, frozenset({"reason"}))  # the others are shown by the button
        return await _duplicates_page(request, api, applicant_id, form, problem.status)
    session_of(request).flash("admissions.merge.done")
    return RedirectResponse(f"/admissions/applicants/{survivor}/duplicates", status_code=303)


# -- selection --------------------------------------------------------------------------
@router.post("/cohorts/{cohort_id}/selection")
async def run_selection(request: Request, cohort_id: str, api: ApiDep) -> Response:
    try:
        await api.post(SVC, f"cohorts/{cohort_id}/selection")
    except ApiProblem as problem:
        c, stats = await asyncio.gather(
            api.get(SVC, f"cohorts/{cohort_id}"), api.get(SVC, f"cohorts/{cohort_id}/stats")
        )
        return render(
            request,
            "admissions/cohort.html",
            {"cohort": c, "stats": stats, "selection_problem": problem},
            status=problem.status,
        )
    session_of(request).flash("admissions.selection.done")
    return RedirectResponse(f"/admissions/cohorts/{cohort_id}/selection", status_code=303)


@router.get("/cohorts/{cohort_id}/selection")
async def selection_result(request: Request, cohort_id: str, api: ApiDep) -> Response:
    c, stats = await asyncio.gather(api.get(SVC, f"cohorts/{cohort_id}"), api.get(SVC, f"cohorts/{cohort_id}/stats"))
    apps = await _applications(api, c)
    seats = [a for a in apps if a["status"] in ("selected", "accepted") and not a["above_capacity"]]
    above = [a for a in apps if a["above_capacity"] and a["status"] in ("selected", "accepted")]
    waitlist = sorted((a for a in apps if a["status"] == "waitlisted"), key=lambda a: a["waitlist_position"] or 0)
    # The seats the quota reserved that priority applicants took (a priority applicant beyond the quota got in on
    # score, and its reason says so; the stats count every priority applicant selected).
    quota_used = min(stats["priority_selected"], stats["priority_quota"])
    return render(
        request,
        "admissions/selection.html",
        {"cohort": c, "stats": stats, "seats": seats, "above": above, "waitlist": waitlist, "quota_used": quota_used},
    )


# -- seats: one row at a time (htmx swaps the row; without script the page reloads) -----
async def _row_response(
    request: Request, api: Api, application_id: str, problem: ApiProblem | None = None, action: str = ""
) -> Response:
    app = await api.get(SVC, f"applications/{application_id}")
    c = await api.get(SVC, f"cohorts/{app['cohort_id']}")
    if not is_htmx(request):
        if problem:
            session_of(request).flash(problem.errors[0].rule if problem.errors else problem.code, "error")
        return RedirectResponse(f"/admissions/cohorts/{c['id']}/applications", status_code=303)
    rows = [a for a in await _applications(api, c) if a["id"] == application_id]
    return render(
        request,
        "admissions/_application_row.html",
        {
            "a": rows[0] if rows else app,
            "cohort": c,
            "row_problem": problem,
            "row_action": action,
            "withdraw_reasons": WITHDRAW_REASONS,
            "focus": True,
        },
        status=200,
    )


@router.post("/applications/{application_id}/{action}")
async def seat_action(request: Request, application_id: str, action: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    headers = {"Idempotency-Key": values["idem"]} if values.get("idem") else None
    problem = None
    try:
        if action == "accept":
            await api.post(SVC, f"applications/{application_id}/accept", headers=headers)
        elif action == "decline":
            await api.post(SVC, f"applications/{application_id}/decline", headers=headers)
        elif action == "reject":
            await api.post(
                SVC, f"applications/{application_id}/reject", json={"reason": values.get("reason", "")}, headers=headers
            )
        elif action == "withdraw":
            app = await api.get(SVC, f"applications/{application_id}")
            if not app.get("enrollment_id"):
                raise ApiProblem("web", 409, "business-rule-violation", errors=[RuleError("withdraw.not-enrolled")])
            await api.post(
                SVC,
                f"enrollments/{app['enrollment_id']}/withdraw",
                json={"date": values.get("date") or None, "reason": values.get("reason", "")},
                headers=headers,
            )
        else:
            return render(
                request, "errors/page.html", {"status": 404, "message_key": "common.error.not-found"}, status=404
            )
    except ApiProblem as exc:
        problem = exc
    return await _row_response(request, api, application_id, problem, action)


ROOM = Room(name="admissions", router=router, roles=frozenset({"admissions", "auditor"}), order=10)
