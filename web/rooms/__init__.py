"""Every room of the console, in one list. Adding a room: see web/README.md (one line here)."""
from __future__ import annotations

from web.core import Room
from web.rooms import admissions, finance, home, placement

ROOMS: list[Room] = [
    home.ROOM,
    admissions.ROOM,
    finance.ROOM,
    placement.ROOM,
]
