"""Placement: the officer's worklist of follow-ups due and overdue (1, 3, 6 and 12 months after completion), a
graduate's contact log and outcome form, employers, postings with the graduates matching them, internships with
their monthly pay, the conversion to a permanent hire and the incentive due.

Everything comes from placement's public API (and the qualification names from certification's)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.api import Api, ApiProblem, RuleError
from web.core import ApiDep, FormState, Room, User, UserDep, form_data, form_number, render

router = APIRouter()
SERVICE = "placement"
CATEGORIES = (
    "employed",
    "self_employed",
    "further_education",
    "military_service",
    "not_seeking",
    "seeking_work",
    "unreachable",
)
EMPLOYED = ("employed", "self_employed")
EMPLOYMENT_TYPES = ("regular", "contract", "intern")
CHANNELS = ("phone", "sms", "email", "kakao", "visit", "employer", "other")
CONTACT_RESULTS = ("reached", "no_answer", "left_message", "wrong_number", "refused", "other")
FOLLOWUP_STATUSES = ("due", "overdue", "upcoming", "done")


def writes(user: User) -> bool:
    return bool(user.roles & {"placement", "campus_admin"})


def _local_stamp(text: str, tz: str) -> str | None:
    """A datetime-local value (the centre's wall clock) as an ISO timestamp with its offset."""
    text = text.strip()
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=ZoneInfo(tz))).isoformat()


def _campus_filter(user: User, given: str | None) -> str | None:
    if given:
        return given
    return None if user.all_campuses or len(user.campuses) != 1 else user.campuses[0]


def _today(request: Request) -> str:
    """Today at the centre (a completion dated today in Seoul is still tomorrow on a UTC clock)."""
    return datetime.now(ZoneInfo(request.app.state.settings.timezone)).date().isoformat()


def _day(text: str) -> str | None:
    try:
        return date.fromisoformat(text).isoformat() if text else None
    except ValueError:
        return None


# -- the worklist ---------------------------------------------------------------------
@router.get("")
async def worklist(
    request: Request, api: ApiDep, user: UserDep, on: str = "", status: str = "", mine: str = "", campus: str = ""
) -> Response:
    day = _day(on)
    status = status if status in FOLLOWUP_STATUSES else ""
    page = await api.get(
        SERVICE,
        "followups",
        on=day,
        status=status or None,
        campus=_campus_filter(user, campus),
        officer="me" if mine else None,
        limit=200,
    )
    return render(
        request,
        "placement/worklist.html",
        {
            "followups": page["items"],
            "total": page["total"],
            "on": day or "",
            "today": _today(request),
            "status": status,
            "statuses": FOLLOWUP_STATUSES,
            "mine": bool(mine),
            "campus": campus,
        },
    )


# -- a graduate: follow-ups, contact log, outcomes ----------------------------------------------
@router.get("/graduates/{graduate_id}")
async def graduate_page(request: Request, graduate_id: str, api: ApiDep, user: UserDep) -> Response:
    return await _graduate_page(request, api, user, graduate_id)


async def _graduate_page(
    request: Request,
    api: Api,
    user: User,
    graduate_id: str,
    *,
    which: str = "",
    form: FormState | None = None,
    code: int = 200,
) -> Response:
    graduate = await api.get(SERVICE, f"graduates/{graduate_id}")
    contacts_per, employers = await asyncio.gather(
        asyncio.gather(*(api.get(SERVICE, f"followups/{f['id']}/contacts") for f in graduate["followups"])),
        api.get(SERVICE, "employers", campus=graduate["campus"], limit=500),
    )
    months = {f["id"]: f["months"] for f in graduate["followups"]}
    contacts = sorted(
        (dict(c, months=months.get(c["followup_id"])) for cs in contacts_per for c in cs),
        key=lambda c: c["attempted_at"],
        reverse=True,
    )
    open_followups = [f for f in graduate["followups"] if f["status"] != "done"]
    return render(
        request,
        "placement/graduate.html",
        {
            "g": graduate,
            "contacts": contacts,
            "open_followups": open_followups,
            "employers": employers["items"],
            "which": which,
            "form": form,
            "writes": writes(user),
            "categories": CATEGORIES,
            "types": EMPLOYMENT_TYPES,
            "channels": CHANNELS,
            "results": CONTACT_RESULTS,
            "today": _today(request),
        },
        status=code,
    )


@router.post("/graduates/{graduate_id}/contacts")
async def log_contact(request: Request, graduate_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {
        "channel": values.get("channel", ""),
        "result": values.get("result", ""),
        "note": values.get("note", "").strip(),
        "attempted_at": _local_stamp(values.get("attempted_at", ""), request.app.state.settings.timezone),
    }
    fields = frozenset({"followup_id", "channel", "result", "note", "attempted_at"})
    try:
        followup_id = values.get("followup_id", "")
        if not followup_id:
            raise ApiProblem(SERVICE, 422, "validation-error", errors=[_missing("followup_id")])
        await api.post(
            SERVICE, f"followups/{followup_id}/contacts", json={k: v for k, v in body.items() if v is not None}
        )
    except ApiProblem as problem:
        return await _graduate_page(
            request,
            api,
            user,
            graduate_id,
            which="contact",
            form=FormState(values, problem, fields),
            code=problem.status,
        )
    request.state.session.flash("placement.flash.contact-logged")
    return RedirectResponse(f"/placement/graduates/{graduate_id}#contacts", status_code=303)


def _missing(name: str) -> RuleError:
    return RuleError(rule="missing", field=f"body.{name}")


@router.post("/graduates/{graduate_id}/outcomes")
async def record_outcome(request: Request, graduate_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    category = values.get("category", "")
    body: dict[str, Any] = {
        "graduate_id": graduate_id,
        "category": category,
        "as_of": values.get("as_of", ""),
        "note": values.get("note", "").strip(),
    }
    if category in EMPLOYED:
        employment = {
            "employer_id": values.get("employment.employer_id") or None,
            "employer_name": values.get("employment.employer_name", "").strip() or None,
            "start_date": values.get("employment.start_date") or None,
            "employment_type": (values.get("employment.employment_type") or None) if category == "employed" else None,
            "insured": {"yes": True, "no": False}.get(values.get("employment.insured", "")),
            "monthly_wage": form_number(values.get("employment.monthly_wage")),
        }
        body["employment"] = {k: v for k, v in employment.items() if v is not None}
    fields = frozenset(
        {
            "category",
            "as_of",
            "note",
            "employment",
            "employment.employer_id",
            "employment.employer_name",
            "employment.start_date",
            "employment.employment_type",
            "employment.insured",
            "employment.monthly_wage",
        }
    )
    try:
        await api.post(SERVICE, "outcomes", json=body)
    except ApiProblem as problem:
        return await _graduate_page(
            request,
            api,
            user,
            graduate_id,
            which="outcome",
            form=FormState(values, problem, fields),
            code=problem.status,
        )
    request.state.session.flash("placement.flash.outcome-recorded")
    return RedirectResponse(f"/placement/graduates/{graduate_id}#outcomes", status_code=303)


@router.post("/graduates/{graduate_id}/officer")
async def assign_officer(request: Request, graduate_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    officer = user.sub if values.get("officer") == "me" else None
    try:
        await api.put(SERVICE, f"graduates/{graduate_id}/officer", json={"officer": officer})
    except ApiProblem as problem:
        return await _graduate_page(
            request, api, user, graduate_id, which="officer", form=FormState(values, problem), code=problem.status
        )
    request.state.session.flash("placement.flash.officer-set")
    return RedirectResponse(f"/placement/graduates/{graduate_id}", status_code=303)


# -- employers and postings ------------------------------------------------------------------
@router.get("/employers")
async def employers(request: Request, api: ApiDep, user: UserDep, campus: str = "") -> Response:
    return await _employers_page(request, api, user, campus=campus)


async def _employers_page(
    request: Request, api: Api, user: User, *, campus: str = "", form: FormState | None = None, code: int = 200
) -> Response:
    page = await api.get(SERVICE, "employers", campus=_campus_filter(user, campus), limit=500)
    return render(
        request,
        "placement/employers.html",
        {
            "employers": page["items"],
            "total": page["total"],
            "campus": campus,
            "form": form,
            "writes": writes(user),
            "default_campus": _campus_filter(user, campus) or "",
        },
        status=code,
    )


@router.post("/employers")
async def create_employer(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {
        "campus": values.get("campus", "").strip(),
        "name": values.get("name", "").strip(),
        "business_number": values.get("business_number", "").strip() or None,
        "industry": values.get("industry", "").strip(),
        "joined_on": values.get("joined_on") or None,
    }
    try:
        await api.post(SERVICE, "employers", json=body)
    except ApiProblem as problem:
        return await _employers_page(
            request, api, user, form=FormState(values, problem, frozenset(body)), code=problem.status
        )
    request.state.session.flash("placement.flash.employer-added")
    return RedirectResponse("/placement/employers", status_code=303)


@router.get("/postings")
async def postings(request: Request, api: ApiDep, user: UserDep, campus: str = "") -> Response:
    return await _postings_page(request, api, user, campus=campus)


async def _postings_page(
    request: Request, api: Api, user: User, *, campus: str = "", form: FormState | None = None, code: int = 200
) -> Response:
    page, pool = await asyncio.gather(
        api.get(SERVICE, "postings", campus=_campus_filter(user, campus), limit=500),
        api.get(SERVICE, "employers", campus=_campus_filter(user, campus), limit=500),
    )
    names = {e["id"]: e["name"] for e in pool["items"]}
    return render(
        request,
        "placement/postings.html",
        {
            "postings": page["items"],
            "total": page["total"],
            "employers": pool["items"],
            "names": names,
            "campus": campus,
            "form": form,
            "writes": writes(user),
        },
        status=code,
    )


@router.post("/postings")
async def create_posting(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {
        "employer_id": values.get("employer_id", ""),
        "role": values.get("role", "").strip(),
        "conditions": values.get("conditions", "").strip(),
        "weekly_hours": form_number(values.get("weekly_hours")) or 40,
        "openings": form_number(values.get("openings")) or 1,
        "required_qualifications": [
            q.strip() for q in values.get("required_qualifications", "").split(",") if q.strip()
        ],
    }
    try:
        posting = await api.post(SERVICE, "postings", json=body)
    except ApiProblem as problem:
        return await _postings_page(
            request, api, user, form=FormState(values, problem, frozenset(body)), code=problem.status
        )
    request.state.session.flash("placement.flash.posting-added")
    return RedirectResponse(f"/placement/postings/{posting['id']}", status_code=303)


@router.get("/postings/{posting_id}")
async def posting_page(request: Request, posting_id: str, api: ApiDep, user: UserDep) -> Response:
    return await _posting_page(request, api, user, posting_id)


async def _posting_page(
    request: Request,
    api: Api,
    user: User,
    posting_id: str,
    *,
    graduate: str = "",
    form: FormState | None = None,
    code: int = 200,
) -> Response:
    posting = await api.get(SERVICE, f"postings/{posting_id}")
    # a closed posting is matched to nobody (the API refuses with posting.closed): no list to ask for
    matches = [] if posting["status"] == "closed" else await api.get(SERVICE, f"postings/{posting_id}/matches")
    employer = await api.get(SERVICE, f"employers/{posting['employer_id']}")
    return render(
        request,
        "placement/posting.html",
        {
            "p": posting,
            "employer": employer,
            "matches": matches,
            "graduate": graduate,
            "form": form,
            "writes": writes(user),
            "today": _today(request),
        },
        status=code,
    )


@router.post("/postings/{posting_id}/close")
async def close_posting(request: Request, posting_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    try:
        await api.post(SERVICE, f"postings/{posting_id}/close", json={"reason": values.get("reason", "").strip()})
    except ApiProblem as problem:
        return await _posting_page(
            request, api, user, posting_id, form=FormState(values, problem, frozenset({"reason"})), code=problem.status
        )
    request.state.session.flash("placement.flash.posting-closed")
    return RedirectResponse(f"/placement/postings/{posting_id}", status_code=303)


@router.post("/postings/{posting_id}/internships")
async def start_internship(request: Request, posting_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {
        "posting_id": posting_id,
        "graduate_id": values.get("graduate_id", ""),
        "start_date": values.get("start_date", ""),
        "weekly_hours": form_number(values.get("weekly_hours")),
    }
    try:
        internship = await api.post(
            SERVICE,
            "internships",
            json={k: v for k, v in body.items() if v is not None},
            headers={"Idempotency-Key": values.get("idem", "")},
        )
    except ApiProblem as problem:
        return await _posting_page(
            request,
            api,
            user,
            posting_id,
            graduate=values.get("graduate_id", ""),
            form=FormState(values, problem, frozenset({"start_date", "weekly_hours"})),
            code=problem.status,
        )
    request.state.session.flash("placement.flash.internship-started")
    return RedirectResponse(f"/placement/internships#i-{internship['id']}", status_code=303)


# -- internships and incentives --------------------------------------------------------------
@router.get("/internships")
async def internships(request: Request, api: ApiDep, user: UserDep, campus: str = "", status: str = "") -> Response:
    return await _internships_page(request, api, user, campus=campus, status=status)


async def _internships_page(
    request: Request,
    api: Api,
    user: User,
    *,
    campus: str = "",
    status: str = "",
    which: str = "",
    form: FormState | None = None,
    code: int = 200,
) -> Response:
    statuses = ("active", "completed", "converted", "cancelled", "ended_early")
    cf = _campus_filter(user, campus)
    page, incentives, pool = await asyncio.gather(
        api.get(SERVICE, "internships", campus=cf, status=status if status in statuses else None, limit=500),
        api.get(SERVICE, "incentives", campus=cf, limit=500),
        api.get(SERVICE, "employers", campus=cf, limit=500),
    )
    names = {e["id"]: e["name"] for e in pool["items"]}
    return render(
        request,
        "placement/internships.html",
        {
            "internships": page["items"],
            "total": page["total"],
            "incentives": incentives["items"],
            "incentive_total": sum(i["amount"] for i in incentives["items"]),
            "names": names,
            "campus": campus,
            # the list of internships does not carry their incentive; the list of incentives does
            "incentive_of": {c["internship_id"]: c for c in incentives["items"]},
            "status": status,
            "statuses": statuses,
            "which": which,
            "form": form,
            "writes": writes(user),
            "today": _today(request),
        },
        status=code,
    )


@router.post("/internships/{internship_id}/convert")
async def convert(request: Request, internship_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {
        "hire_date": values.get("hire_date", ""),
        "monthly_wage": form_number(values.get("monthly_wage")),
        "insured": values.get("insured") == "on",
    }
    try:
        await api.post(
            SERVICE,
            f"internships/{internship_id}/convert",
            json=body,
            headers={"Idempotency-Key": values.get("idem", "")},
        )
    except ApiProblem as problem:
        return await _internships_page(
            request,
            api,
            user,
            which=internship_id,
            form=FormState(values, problem, frozenset({"hire_date", "monthly_wage"})),
            code=problem.status,
        )
    request.state.session.flash("placement.flash.converted")
    return RedirectResponse(f"/placement/internships#i-{internship_id}", status_code=303)


@router.post("/internships/{internship_id}/end")
async def end_internship(request: Request, internship_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {"date": values.get("date", ""), "reason": values.get("reason", "").strip()}
    try:
        await api.post(
            SERVICE,
            f"internships/{internship_id}/end",
            json=body,
            headers={"Idempotency-Key": values.get("idem", "")},
        )
    except ApiProblem as problem:
        return await _internships_page(
            request,
            api,
            user,
            which=f"end-{internship_id}",
            form=FormState(values, problem, frozenset(body)),
            code=problem.status,
        )
    request.state.session.flash("placement.flash.ended-early")
    return RedirectResponse(f"/placement/internships#i-{internship_id}", status_code=303)


ROOM = Room(name="placement", router=router, roles=frozenset({"placement", "auditor"}), order=40)
