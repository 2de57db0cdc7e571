"""Every room of the console, in one list. Adding a room: see web/README.md (one line here)."""

from __future__ import annotations

from web.core import Room
from web.rooms import admissions, attendance, classroom, dashboard, finance, home, me, placement

ROOMS: list[Room] = [
    home.ROOM,
    admissions.ROOM,
    attendance.ROOM,
    finance.ROOM,
    placement.ROOM,
    dashboard.ROOM,
    classroom.ROOM,
    me.ROOM,
]
