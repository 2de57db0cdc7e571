from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.enrollment.domain.history import MAX_READMISSIONS, SHORT_COURSE_MAX_HOURS, WINDOW_YEARS
from services.enrollment.domain.seats import LATE_JOIN_MAX_DAYS
from services.enrollment.domain.selection import PRIORITY_QUOTA_PERCENT
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Enrollment settings: ``ENROLLMENT_*``, then ``TRAININGOPS_*``. The policy figures default to the
    domain's (``domain/history.py``, ``domain/selection.py``, ``domain/seats.py``)."""

    model_config = SettingsConfigDict(env_prefix="ENROLLMENT_", extra="ignore")

    service_name: str = "enrollment"
    priority_quota_percent: int = Field(
        PRIORITY_QUOTA_PERCENT, ge=0, le=100, description="share of seats for priority groups, rounded up"
    )
    short_course_max_hours: int = Field(SHORT_COURSE_MAX_HOURS, ge=1)
    max_readmissions: int = Field(MAX_READMISSIONS, ge=0)
    readmission_window_years: int = Field(WINDOW_YEARS, ge=1)
    late_join_max_days: int = Field(
        LATE_JOIN_MAX_DAYS,
        ge=0,
        le=365,
        description="a seat can be taken up to this many days after the cohort's start (never after its end)",
    )
