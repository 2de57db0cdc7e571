"""The admissions policy the use cases apply, built from the service's settings (here only)."""

from __future__ import annotations

from services.enrollment.domain.history import ReadmissionPolicy
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.domain.seats import JoiningPolicy
from services.enrollment.domain.selection import SelectionPolicy
from services.enrollment.settings import Settings


def admissions_policy(settings: Settings) -> AdmissionsPolicy:
    return AdmissionsPolicy(
        readmission=ReadmissionPolicy(
            short_course_max_hours=settings.short_course_max_hours,
            max_readmissions=settings.max_readmissions,
            window_years=settings.readmission_window_years,
        ),
        selection=SelectionPolicy(priority_quota_percent=settings.priority_quota_percent),
        joining=JoiningPolicy(late_join_max_days=settings.late_join_max_days),
    )
