from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Certification settings: ``CERTIFICATION_*``, then ``TRAININGOPS_*``."""

    model_config = SettingsConfigDict(env_prefix="CERTIFICATION_", extra="ignore")

    service_name: str = "certification"
    claim_deadline_days: int = Field(30, ge=1, le=365, description="a claim comes within this many days of the exam")
    max_reimbursed_attempts: int = Field(3, ge=1, le=20, description="reimbursed attempts per qualification and stage")
    window_months_after_completion: int = Field(12, ge=0, le=60,
                                                description="exams this many months after completion are still paid")
