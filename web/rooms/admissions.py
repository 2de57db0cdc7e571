"""Admissions: campuses, programmes, cohorts and their timetable, applications, import, selection, seats, stats."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.core import ApiDep, Room, render

router = APIRouter()


@router.get("")
async def index(request: Request, api: ApiDep) -> Response:
    cohorts = await api.get("enrollment", "cohorts", limit=200)
    return render(request, "admissions/index.html", {"cohorts": cohorts["items"]})


ROOM = Room(name="admissions", router=router, roles=frozenset({"admissions", "auditor"}), order=10)
