from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.placement.domain.followups import FollowupPolicy
from services.placement.domain.internships import IncentivePolicy, PayPolicy
from shared.settings import ServiceSettings

# Every figure's default is the domain's (DOMAIN.md); a setting only overrides it.
_FOLLOWUP, _PAY, _INCENTIVE = FollowupPolicy(), PayPolicy(), IncentivePolicy()


class Settings(ServiceSettings):
    """Placement settings: ``PLACEMENT_*``, then ``TRAININGOPS_*``. Figures default to DOMAIN.md's."""

    model_config = SettingsConfigDict(env_prefix="PLACEMENT_", extra="ignore")

    service_name: str = "placement"
    followup_months: list[int] = Field(
        default=list(_FOLLOWUP.months), description="contacts due this many months after completion"
    )
    followup_lead_days: int = Field(
        _FOLLOWUP.lead_days, ge=0, le=90, description="a follow-up enters the worklist this many days before it is due"
    )
    followup_grace_days: int = Field(
        _FOLLOWUP.grace_days, ge=0, le=180, description="an open follow-up is overdue this many days after its due date"
    )
    living_wage_hourly_krw: int = Field(_PAY.hourly_krw, ge=1, description="city living wage per hour (Seoul 2024)")
    full_time_monthly_hours: int = Field(
        _PAY.full_time_monthly_hours,
        ge=1,
        le=744,
        description="paid hours in a full-time month (40 h week + paid weekly rest)",
    )
    full_time_weekly_hours: int = Field(_PAY.full_time_weekly_hours, ge=1, le=84)
    internship_months: int = Field(_PAY.months, ge=1, le=24)
    conversion_incentive_krw: int = Field(
        _INCENTIVE.amount_krw, ge=0, description="due to the employer once per converted internship"
    )
    campuses: list[str] = Field(
        default=[],
        description="campus codes placement knows before their first graduate "
        "(a JSON list); campuses it has had a graduate from are known anyway",
    )

    @field_validator("followup_months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if not value or any(m < 1 or m > 60 for m in value):
            raise ValueError("months must be between 1 and 60")
        return sorted(set(value))
