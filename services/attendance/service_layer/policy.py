"""The attendance policy a use case works with, built from the settings in this one place.

Each figure's default is the domain's (``domain/marks.py``, ``domain/standing.py``, ``domain/qr.py``);
``Settings`` takes its defaults from there and may override them per deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.attendance.domain.marks import CheckInPolicy, MarkPolicy
from services.attendance.domain.qr import QrPolicy
from services.attendance.domain.standing import AllowancePolicy, StandingPolicy
from services.attendance.settings import Settings


@dataclass(frozen=True)
class AttendancePolicy:
    marks: MarkPolicy
    check_in: CheckInPolicy
    standing: StandingPolicy
    allowance: AllowancePolicy
    qr: QrPolicy
    qr_required_for_trainees: bool = True


def policy_of(settings: Settings) -> AttendancePolicy:
    return AttendancePolicy(
        marks=MarkPolicy(
            grace_minutes=settings.grace_minutes,
            early_leave_minutes=settings.early_leave_minutes,
            absence_fraction=settings.absence_fraction,
        ),
        check_in=CheckInPolicy(
            opens_minutes=settings.check_in_opens_minutes,
            closes_minutes=settings.check_out_closes_minutes,
            bulk_max_readings=settings.bulk_max_items,
        ),
        standing=StandingPolicy(
            minor_per_absence=settings.minor_marks_per_absence,
            completion_threshold=settings.default_completion_threshold,
        ),
        allowance=AllowancePolicy(
            month_threshold=settings.allowance_month_threshold,
            full_day_hours=settings.allowance_full_day_hours,
            full_day_krw=settings.allowance_full_day_krw,
            full_day_cap_krw=settings.allowance_full_day_cap_krw,
            short_day_krw=settings.allowance_short_day_krw,
            short_day_cap_krw=settings.allowance_short_day_cap_krw,
        ),
        qr=QrPolicy(
            secret=settings.qr_secret.get_secret_value().encode(),
            window_s=settings.qr_window_s,
            lookback_windows=settings.qr_lookback_windows,
        ),
        qr_required_for_trainees=settings.qr_required_for_trainees,
    )
