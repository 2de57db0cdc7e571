"""The domain's policy objects, built from the service's settings here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from services.placement.domain.followups import FollowupPolicy
from services.placement.domain.internships import IncentivePolicy, PayPolicy
from services.placement.settings import Settings


@dataclass(frozen=True)
class Policies:
    followup: FollowupPolicy
    pay: PayPolicy
    incentive: IncentivePolicy


def policies(settings: Settings) -> Policies:
    return Policies(
        followup=FollowupPolicy(
            months=tuple(settings.followup_months),
            lead_days=settings.followup_lead_days,
            grace_days=settings.followup_grace_days,
        ),
        pay=PayPolicy(
            hourly_krw=settings.living_wage_hourly_krw,
            full_time_monthly_hours=settings.full_time_monthly_hours,
            full_time_weekly_hours=settings.full_time_weekly_hours,
            months=settings.internship_months,
        ),
        incentive=IncentivePolicy(amount_krw=settings.conversion_incentive_krw),
    )
