from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Enrollment settings: ``ENROLLMENT_*``, then ``TRAININGOPS_*``."""

    model_config = SettingsConfigDict(env_prefix="ENROLLMENT_", extra="ignore")

    service_name: str = "enrollment"
    priority_quota_percent: int = Field(30, ge=0, le=100, description="share of seats for priority groups, rounded up")
    short_course_max_hours: int = Field(350, ge=1)
    max_readmissions: int = Field(2, ge=0)
    readmission_window_years: int = Field(3, ge=1)
