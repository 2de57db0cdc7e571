"""The trainee's own pages, made for a phone: check in with the classroom's code (scanned link or typed), one's own
marks, rate, maximum possible rate and monthly allowance, and exam-fee claims followed to payment.

The scanned QR code is a link to ``/me/check-in?session=…&code=…``: it opens a page with the code filled in and
one button, so the check-in itself is a POST with the CSRF token (a link alone changes nothing)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.api import Api, ApiProblem, RuleError, ServiceUnavailable
from web.core import ApiDep, FormState, Room, User, UserDep, form_data, form_number, render, session_of

router = APIRouter()
CHECK_IN_FIELDS = frozenset({"code"})
CLAIM_FIELDS = frozenset(
    {"qualification_code", "stage", "exam_date", "amount_paid", "receipt_number", "admission_slip_number"}
)


def _today(request: Request) -> str:
    return datetime.now(ZoneInfo(request.app.state.settings.timezone)).date().isoformat()


async def _standing(api: Api, user: User) -> list[dict]:
    try:
        return await api.get("attendance", f"trainees/{user.sub}/attendance")
    except ApiProblem as problem:
        if problem.status == 404:  # not on any roster yet
            return []
        raise


async def _marks(api: Api, user: User, **params: str) -> list[dict]:
    try:
        return await api.get("attendance", f"trainees/{user.sub}/marks", **params)
    except ApiProblem as problem:
        if problem.status == 404:
            return []
        raise


@router.get("")
async def index(request: Request, api: ApiDep, user: UserDep) -> Response:
    today = _today(request)
    since = (datetime.fromisoformat(today) - timedelta(days=13)).date().isoformat()
    standing, marks, claims = await asyncio.gather(
        _standing(api, user), _marks(api, user, date_from=since, date_to=today), _recent_claims(api)
    )
    todays = [m for m in marks if m["date"] == today]
    past = [m for m in reversed(marks) if m["date"] != today or m["mark"]]
    return render(
        request, "me/index.html", {"standing": standing, "today_sessions": todays, "marks": past, "claims": claims}
    )


async def _recent_claims(api: Api) -> list[dict] | None:
    """The last claims, or None while certification is down: attendance's part of the page still works."""
    try:
        return (await api.get("certification", "claims", limit=5))["items"]
    except ServiceUnavailable:
        return None


@router.get("/check-in")
async def check_in_page(request: Request, api: ApiDep, user: UserDep, session: str = "", code: str = "") -> Response:
    today = _today(request)
    todays = await _marks(api, user, date_from=today, date_to=today)
    if not session and len(todays) == 1:
        session = todays[0]["session_id"]
    return render(
        request,
        "me/check-in.html",
        {"form": FormState({"session": session, "code": code}), "sessions": todays, "scanned": bool(code)},
    )


@router.post("/check-in")
async def check_in(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    session_id = values.get("session", "")
    today = _today(request)
    todays = await _marks(api, user, date_from=today, date_to=today)
    try:
        uuid.UUID(session_id)
    except ValueError:
        problem = ApiProblem("web", 422, "validation-error", errors=[RuleError("me.session-required", field="session")])
        return render(
            request,
            "me/check-in.html",
            {"form": FormState(values, problem, CHECK_IN_FIELDS | {"session"}), "sessions": todays, "scanned": False},
            status=422,
        )
    try:
        mark = await api.post(
            "attendance",
            f"sessions/{session_id}/check-ins",
            json={"trainee_id": user.sub, "kind": "in", "method": "qr", "code": values.get("code", "")},
        )
    except ApiProblem as problem:
        return render(
            request,
            "me/check-in.html",
            {"form": FormState(values, problem, CHECK_IN_FIELDS), "sessions": todays, "scanned": False},
            status=problem.status,
        )
    row = next((m for m in todays if m["session_id"] == session_id), None)
    return render(request, "me/checked-in.html", {"mark": mark, "session": row})


@router.get("/claims")
async def claims_page(request: Request, api: ApiDep, user: UserDep) -> Response:
    return await _claims(request, api, user, FormState())


async def _claims(request: Request, api: Api, user: User, form: FormState, status: int = 200) -> Response:
    claims, windows = await asyncio.gather(api.get("certification", "claims", limit=100), _windows(api, user))
    codes = sorted({c for w in windows for c in w["qualification_codes"]})
    return render(
        request,
        "me/claims.html",
        {"claims": claims["items"], "codes": codes, "windows": windows, "form": form},
        status=status,
    )


async def _windows(api: Api, user: User) -> list[dict]:
    try:
        return await api.get("certification", f"trainees/{user.sub}/windows")
    except ApiProblem as problem:
        if problem.status == 404:
            return []
        raise


@router.post("/claims")
async def submit_claim(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {
        "trainee_id": user.sub,
        "qualification_code": values.get("qualification_code", ""),
        "stage": values.get("stage", ""),
        "exam_date": values.get("exam_date", ""),
        "amount_paid": form_number(values.get("amount_paid")),
        "receipt_number": values.get("receipt_number", "").strip(),
        "admission_slip_number": values.get("admission_slip_number", "").strip(),
    }
    try:
        claim = await api.post("certification", "claims", json=body)
    except ApiProblem as problem:
        return await _claims(request, api, user, FormState(values, problem, CLAIM_FIELDS), status=problem.status)
    session_of(request).flash("me.claims.submitted", "ok")
    return RedirectResponse(f"/me/claims/{claim['id']}", status_code=303)


@router.get("/claims/{claim_id}")
async def claim_page(request: Request, claim_id: uuid.UUID, api: ApiDep, user: UserDep) -> Response:
    claim = await api.get("certification", f"claims/{claim_id}")
    return render(request, "me/claim.html", {"claim": claim})


ROOM = Room(name="me", router=router, roles=frozenset({"trainee"}), order=5)
