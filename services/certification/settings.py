from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.certification.domain.claims import CLAIM_DEADLINE_DAYS, MAX_REIMBURSED_ATTEMPTS
from services.certification.domain.window import WINDOW_MONTHS_AFTER_COMPLETION
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Certification settings: ``CERTIFICATION_*``, then ``TRAININGOPS_*``. The figures' defaults are the domain's."""

    model_config = SettingsConfigDict(env_prefix="CERTIFICATION_", extra="ignore")

    service_name: str = "certification"
    claim_deadline_days: int = Field(
        CLAIM_DEADLINE_DAYS, ge=1, le=365, description="a claim comes within this many days of the exam"
    )
    max_reimbursed_attempts: int = Field(
        MAX_REIMBURSED_ATTEMPTS, ge=1, le=20, description="reimbursed attempts per qualification and stage"
    )
    window_months_after_completion: int = Field(
        WINDOW_MONTHS_AFTER_COMPLETION,
        ge=0,
        le=60,
        description="exams this many months after completion are still paid",
    )
