"""Building blocks for enrollment's integration tests: a campus, a programme, a cohort and applicants."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

E = "/enrollment/v1"


def new_campus(client: Any, headers: dict[str, str], code: str | None = None) -> str:
    code = code or f"c{uuid.uuid4().hex[:8]}"
    r = client.post(f"{E}/campuses", json={"code": code, "name": f"Campus {code}", "city": "Seoul"}, headers=headers)
    assert r.status_code == 201, r.text
    return code


def new_programme(client: Any, headers: dict[str, str], campus: str, hours: int = 960, **extra: Any) -> str:
    body = {
        "code": f"P-{uuid.uuid4().hex[:8]}",
        "title": "Special Welding",
        "campus": campus,
        "track": "national_qualification",
        "total_hours": hours,
        "qualification_codes": ["WELD-C"],
        **extra,
    }
    r = client.post(f"{E}/programmes", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def new_cohort(
    client: Any,
    headers: dict[str, str],
    programme_id: str,
    capacity: int = 10,
    start_in_days: int = 10,
    weeks: int = 4,
    opens_days_ago: int = 1,
) -> str:
    today = date.today()
    start = today + timedelta(days=start_in_days)
    body = {
        "programme_id": programme_id,
        "label": "2027-1",
        "capacity": capacity,
        "application_opens": str(today - timedelta(days=opens_days_ago)),
        "application_closes": str(today + timedelta(days=max(start_in_days - 1, 1))),
        "start_date": str(start),
        "end_date": str(start + timedelta(weeks=weeks) - timedelta(days=3)),
        "timetable": {"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00", "break_minutes": 60},
    }
    r = client.post(f"{E}/cohorts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def new_applicant(client: Any, headers: dict[str, str], campus: str, **extra: Any) -> str:
    body = {
        "campus": campus,
        "name": "Trainee",
        "birth_date": "1995-06-01",
        "residency_status": "city_resident",
        **extra,
    }
    r = client.post(f"{E}/applicants", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def apply(client: Any, headers: dict[str, str], applicant_id: str, cohort_id: str, score: float = 50) -> dict:
    r = client.post(
        f"{E}/applications",
        json={"applicant_id": applicant_id, "cohort_id": cohort_id, "score": score},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()
