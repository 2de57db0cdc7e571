"""The attendance service: ``uvicorn services.attendance.main:create_app --factory``."""

from __future__ import annotations

from fastapi import FastAPI

from services.attendance.adapters.orm import Base
from services.attendance.adapters.repository import AttendanceRepository
from services.attendance.entrypoints.background import start_closer
from services.attendance.entrypoints.events import HANDLERS
from services.attendance.entrypoints.http import router
from services.attendance.settings import Settings
from shared.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="attendance",
    title="TrainingOps attendance",
    description="Sessions and rosters from enrollment's events, check-ins by QR, card or staff entry, marks and "
    "excuses with their history, attendance rates with the three-to-one rule, at-risk warnings, "
    "monthly allowance periods and completion.",
    metadata=Base.metadata,
    routers=[router],
    handlers=HANDLERS,
    repository=AttendanceRepository,
    background=[start_closer],
    openapi_tags=[
        {"name": "cohorts", "description": "Cohorts, sessions and rosters (from enrollment's events); closing"},
        {"name": "check-ins", "description": "Check-in and check-out, one by one or in bulk"},
        {"name": "marks", "description": "Staff corrections and excuses, with history"},
        {"name": "standing", "description": "A trainee's rate, maximum possible rate, at-risk flag and allowance"},
        {"name": "reports", "description": "Monthly sheets and the at-risk list"},
    ],
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings())
