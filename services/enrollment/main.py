"""The enrollment service: ``uvicorn services.enrollment.main:create_app --factory``."""

from __future__ import annotations

from fastapi import FastAPI

from services.enrollment.adapters.orm import Base
from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.entrypoints.events import HANDLERS
from services.enrollment.entrypoints.http import router
from services.enrollment.settings import Settings
from shared.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="enrollment",
    title="TrainingOps enrollment",
    description="Programmes, cohorts, applications, eligibility, selection with the priority quota, "
    "waitlists, seats and re-admission limits.",
    metadata=Base.metadata,
    routers=[router],
    handlers=HANDLERS,
    repository=EnrollmentRepository,
    openapi_tags=[
        {"name": "programmes", "description": "Campuses and programmes"},
        {"name": "cohorts", "description": "Cohorts, their sessions and statistics"},
        {"name": "applications", "description": "Applicants and applications, one by one or imported"},
        {"name": "selection", "description": "Selection with the priority quota"},
        {"name": "seats", "description": "Accepting and declining offered seats"},
        {"name": "enrollments", "description": "Enrolled trainees and withdrawals"},
    ],
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings())
