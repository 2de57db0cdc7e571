"""The certification service: ``uvicorn services.certification.main:create_app --factory``."""

from __future__ import annotations

from fastapi import FastAPI

from services.certification.adapters.orm import Base
from services.certification.adapters.repository import CertificationRepository
from services.certification.entrypoints.events import HANDLERS
from services.certification.entrypoints.http import router
from services.certification.settings import Settings
from shared.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="certification",
    title="TrainingOps certification",
    description="Exam-fee reimbursement for national technical qualifications, paid exactly once, "
    "payout batches for the bank, and qualifications obtained.",
    metadata=Base.metadata,
    routers=[router],
    handlers=HANDLERS,
    repository=CertificationRepository,
    openapi_tags=[
        {"name": "qualifications", "description": "The catalogue: grades, standard fees per stage, programmes"},
        {"name": "claims", "description": "Exam-fee claims and the trainees' claim windows"},
        {"name": "review", "description": "Approving and rejecting claims"},
        {"name": "payment", "description": "Paying claims once, payout batches and bank files"},
        {"name": "accounts", "description": "Trainees' payout accounts: numbers encrypted at rest, shown masked"},
        {"name": "results", "description": "Qualifications obtained"},
    ],
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings())
