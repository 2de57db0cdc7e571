"""The start page: the rooms one's role opens, and which services answer right now."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.core import STAFF_ROLES, ApiDep, Room, render
from web.settings import SERVICES

router = APIRouter()


@router.get("/")
async def index(request: Request, api: ApiDep) -> Response:
    ready = await asyncio.gather(*(api.ready(s) for s in SERVICES))
    return render(request, "home/index.html", {"services": list(zip(SERVICES, ready))})


ROOM = Room(name="home", router=router, roles=STAFF_ROLES | {"trainee"}, order=0, prefix="")
