from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Attendance settings: ``ATTENDANCE_*``, then ``TRAININGOPS_*``. Policy figures default to DOMAIN.md's."""

    model_config = SettingsConfigDict(env_prefix="ATTENDANCE_", extra="ignore")

    service_name: str = "attendance"
    grace_minutes: int = Field(10, ge=0, le=120, description="arriving up to this late is on time")
    early_leave_minutes: int = Field(10, ge=0, le=120, description="leaving more than this before the end is early leave")
    absence_fraction: float = Field(0.5, gt=0, le=1, description="missing this share of a session's hours is an absence")
    minor_marks_per_absence: int = Field(3, ge=1, le=10, description="lates / early leaves / outs that count as one absence")
    default_completion_threshold: float = Field(0.8, ge=0.5, le=1.0)
    check_in_opens_minutes: int = Field(30, ge=0, le=240, description="a trainee may check in this long before the start")
    check_out_closes_minutes: int = Field(30, ge=0, le=240, description="a trainee may check out this long after the end")
    allowance_month_threshold: float = Field(0.8, ge=0, le=1, description="a month below this rate pays nothing")
    allowance_full_day_hours: float = Field(5.0, gt=0, description="a day of this many hours or more is a full day")
    allowance_full_day_krw: int = Field(5_800, ge=0)
    allowance_full_day_cap_krw: int = Field(116_000, ge=0)
    allowance_short_day_krw: int = Field(2_500, ge=0)
    allowance_short_day_cap_krw: int = Field(50_000, ge=0)
    closer_enabled: bool = Field(True, description="close ended cohorts and sweep at-risk flags in the background")
    closer_interval_s: float = Field(60.0, gt=0)
    bulk_max_items: int = Field(5_000, ge=1, le=50_000)
