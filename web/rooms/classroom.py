"""The classroom's check-in screen for an instructor's PC or a projector: today's sessions of the campus, and per
session the rotating QR code (a link to the trainee's check-in page with the code) with the code as digits.

The code comes from attendance (``sessions/{id}/qr-code``); the page fetches the next one itself at the moment
the code changes (htmx, ``load delay``), so a photo of the screen is useless a minute later."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.core import ApiDep, Room, UserDep, lang_of, render
from web.i18n import translate
from web.qr import qr_svg

router = APIRouter()


@router.get("")
async def today(request: Request, api: ApiDep, user: UserDep) -> Response:
    day = datetime.now(ZoneInfo(request.app.state.settings.timezone)).date().isoformat()
    campus = None if user.all_campuses else (user.campuses[0] if len(user.campuses) == 1 else None)
    cohorts = (await api.get("attendance", "cohorts", campus=campus, limit=200))["items"]
    cohorts = [c for c in cohorts if c["start_date"] <= day <= c["end_date"] and not c["closed_on"]]
    per_cohort = await asyncio.gather(*(api.get("attendance", f"cohorts/{c['id']}/sessions") for c in cohorts))
    rows = [(c, s) for c, sessions in zip(cohorts, per_cohort) for s in sessions if s["date"] == day]
    rows.sort(key=lambda cs: (cs[1]["start"], cs[0]["programme_title"]))
    return render(request, "classroom/today.html", {"rows": rows, "day": day})


async def _code_context(request: Request, api: ApiDep, session_id: uuid.UUID) -> dict:
    shown = await api.get("attendance", f"sessions/{session_id}/qr-code")
    link = str(request.base_url).rstrip("/") + f"/me/check-in?session={session_id}&code={shown['code']}"
    refresh_in = datetime.fromisoformat(shown["refresh_at"]).timestamp() - time.time()
    return {
        "shown": shown,
        "link": link,
        "session_id": str(session_id),
        "delay": max(1, math.ceil(refresh_in) + 1),  # fetch again just after the code changed
        "svg": qr_svg(link, title=translate(lang_of(request), "classroom.qr-title")),
    }


@router.get("/sessions/{session_id}")
async def screen(request: Request, session_id: uuid.UUID, api: ApiDep, user: UserDep) -> Response:
    ctx, roster = await asyncio.gather(
        _code_context(request, api, session_id), api.get("attendance", f"sessions/{session_id}/roster")
    )
    return render(request, "classroom/screen.html", {**ctx, "roster": roster})


@router.get("/sessions/{session_id}/code")
async def code(request: Request, session_id: uuid.UUID, api: ApiDep, user: UserDep) -> Response:
    return render(request, "classroom/_code.html", await _code_context(request, api, session_id))


ROOM = Room(name="classroom", router=router, roles=frozenset({"instructor"}), order=25)
