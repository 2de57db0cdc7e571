from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.attendance.domain.marks import DEFAULT_CHECK_IN_POLICY as CHECK_IN
from services.attendance.domain.marks import DEFAULT_MARK_POLICY as MARKS
from services.attendance.domain.qr import LOOKBACK_WINDOWS, WINDOW_S
from services.attendance.domain.standing import DEFAULT_ALLOWANCE_POLICY as ALLOWANCE
from services.attendance.domain.standing import DEFAULT_STANDING_POLICY as STANDING
from shared.settings import LOCAL_ENVIRONMENTS, ServiceSettings

LOCAL_QR_SECRET = "local-qr-secret-change-me-0123456789abcdef"


class Settings(ServiceSettings):
    """Attendance settings: ``ATTENDANCE_*``, then ``TRAININGOPS_*``. Policy figures default to DOMAIN.md's."""

    model_config = SettingsConfigDict(env_prefix="ATTENDANCE_", extra="ignore")

    service_name: str = "attendance"
    grace_minutes: int = Field(MARKS.grace_minutes, ge=0, le=120, description="arriving up to this late is on time")
    early_leave_minutes: int = Field(
        MARKS.early_leave_minutes, ge=0, le=120, description="leaving more than this before the end is early leave"
    )
    absence_fraction: float = Field(
        MARKS.absence_fraction, gt=0, le=1, description="missing this share of a session's hours is an absence"
    )
    minor_marks_per_absence: int = Field(
        STANDING.minor_per_absence, ge=1, le=10, description="lates / early leaves / outs that count as one absence"
    )
    default_completion_threshold: float = Field(STANDING.completion_threshold, ge=0.5, le=1.0)
    check_in_opens_minutes: int = Field(
        CHECK_IN.opens_minutes, ge=0, le=240, description="a trainee may check in this long before the start"
    )
    check_out_closes_minutes: int = Field(
        CHECK_IN.closes_minutes, ge=0, le=240, description="a trainee may check out this long after the end"
    )
    allowance_month_threshold: float = Field(
        ALLOWANCE.month_threshold, ge=0, le=1, description="a month below this rate pays nothing"
    )
    allowance_full_day_hours: float = Field(
        ALLOWANCE.full_day_hours, gt=0, description="a day of this many hours or more is a full day"
    )
    allowance_full_day_krw: int = Field(ALLOWANCE.full_day_krw, ge=0)
    allowance_full_day_cap_krw: int = Field(ALLOWANCE.full_day_cap_krw, ge=0)
    allowance_short_day_krw: int = Field(ALLOWANCE.short_day_krw, ge=0)
    allowance_short_day_cap_krw: int = Field(ALLOWANCE.short_day_cap_krw, ge=0)
    closer_enabled: bool = Field(True, description="close ended cohorts and sweep at-risk flags in the background")
    closer_interval_s: float = Field(60.0, gt=0)
    bulk_max_items: int = Field(CHECK_IN.bulk_max_readings, ge=1, le=50_000)
    qr_secret: SecretStr = Field(
        SecretStr(LOCAL_QR_SECRET),
        description="signs the rotating check-in codes "
        "(HMAC-SHA256); at least 32 characters; the local default is refused outside local runs",
    )
    qr_window_s: int = Field(WINDOW_S, ge=5, le=600, description="a check-in code changes this often (seconds)")
    qr_lookback_windows: int = Field(
        LOOKBACK_WINDOWS,
        ge=1,
        le=10_000,
        description="how far back an old code is recognised as this session's (expired) rather than foreign",
    )
    qr_required_for_trainees: bool = Field(
        True, description="a trainee's own check-in needs the session's current code (the screen in the classroom)"
    )

    @model_validator(mode="after")
    def _check_qr_secret(self) -> "Settings":
        secret = self.qr_secret.get_secret_value()
        if self.environment not in LOCAL_ENVIRONMENTS:
            if secret == LOCAL_QR_SECRET:
                raise ValueError("the local QR secret is refused outside local runs: set ATTENDANCE_QR_SECRET")
            if len(secret) < 32:
                raise ValueError("ATTENDANCE_QR_SECRET must be at least 32 characters outside local runs")
        return self
