"""The placement service: ``uvicorn services.placement.main:create_app --factory``."""

from __future__ import annotations

from fastapi import FastAPI

from services.placement.adapters.orm import Base
from services.placement.adapters.repository import PlacementRepository
from services.placement.entrypoints.events import HANDLERS
from services.placement.entrypoints.http import router
from services.placement.settings import Settings
from shared.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="placement",
    title="TrainingOps placement",
    description="A year of follow-up for every completer (due at 1, 3, 6 and 12 months), contact attempts and "
    "outcomes, the employers' pool, internships at the living wage with the conversion incentive, "
    "and employment-rate reports with their numerators and denominators (JSON and XLSX).",
    metadata=Base.metadata,
    routers=[router],
    handlers=HANDLERS,
    repository=PlacementRepository,
    openapi_tags=[
        {
            "name": "graduates",
            "description": "Completers and early-employment leavers, from attendance and enrollment events",
        },
        {"name": "followups", "description": "The due/overdue worklist and the contact-attempt log"},
        {"name": "outcomes", "description": "Dated outcomes: employment, start-ups, studies, service, ..."},
        {"name": "employers", "description": "The pool of participating companies and their postings"},
        {
            "name": "internships",
            "description": "Matching, 3-month internships at the living wage, conversion and incentives",
        },
        {"name": "reports", "description": "Employment rate and the other indicators, JSON and XLSX"},
    ],
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(SPEC, settings)
