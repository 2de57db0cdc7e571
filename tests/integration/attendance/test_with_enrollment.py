"""Enrollment's API -> Kafka -> attendance's roster -> marks -> close -> Kafka -> enrollment's history."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.integration.attendance.helpers import local, today
from tests.support import running_service, token, wait_until


@pytest.fixture(scope="module")
def services(kafka, databases):
    with (
        running_service("enrollment", database_url=databases.new("enr"), kafka_bootstrap_servers=kafka) as enr,
        running_service("attendance", database_url=databases.new("att"), kafka_bootstrap_servers=kafka) as att,
    ):
        yield enr, att


def test_enrolled_through_enrollment_completes_back_into_enrollment(services):
    enr, att = services
    code = f"e{uuid.uuid4().hex[:8]}"
    admissions = token(["admissions"], [code])
    instructor = token(["instructor"], [code])
    assert (
        enr.post(
            "/enrollment/v1/campuses", headers=admissions, json={"code": code, "name": "Jungbu", "city": "Seoul"}
        ).status_code
        == 201
    )
    programme = enr.post(
        "/enrollment/v1/programmes",
        headers=admissions,
        json={
            "code": f"WELD-{code}",
            "title": "Special Welding",
            "campus": code,
            "track": "national_qualification",
            "total_hours": 300,
            "completion_threshold": 0.8,
            "qualification_codes": ["WELD-CRAFTSMAN"],
        },
    ).json()
    t = today()
    cohort = enr.post(
        "/enrollment/v1/cohorts",
        headers=admissions,
        json={
            "programme_id": programme["id"],
            "label": "2026-x",
            "capacity": 5,
            "application_opens": (t - timedelta(days=30)).isoformat(),
            "application_closes": (t + timedelta(days=1)).isoformat(),
            "start_date": (t - timedelta(days=20)).isoformat(),
            "end_date": (t + timedelta(days=10)).isoformat(),
            # today is a holiday, so every session up to the close has already happened whatever the hour
            "timetable": {
                "weekdays": [0, 1, 2, 3, 4],
                "start": "09:00",
                "end": "18:00",
                "break_minutes": 60,
                "holidays": [t.isoformat()],
            },
        },
    )
    assert cohort.status_code == 201, cohort.text
    cohort_id = cohort.json()["id"]
    trainees = []
    for name in ("Kim Minji", "Lee Jiwoo"):
        applicant = enr.post(
            "/enrollment/v1/applicants",
            headers=admissions,
            json={
                "campus": code,
                "name": name,
                "birth_date": "1994-05-17",
                "gender": "female",
                "residency_status": "city_resident",
            },
        ).json()
        app = enr.post(
            "/enrollment/v1/applications",
            headers=admissions,
            json={"applicant_id": applicant["id"], "cohort_id": cohort_id, "score": 80},
        ).json()
        trainees.append((applicant["id"], app["id"]))
    assert enr.post(f"/enrollment/v1/cohorts/{cohort_id}/selection", headers=admissions).status_code == 200
    for _, app_id in trainees:
        # the trainees joined on the first day; the seats are recorded today
        joined = {"joined_on": (t - timedelta(days=20)).isoformat()}
        r = enr.post(f"/enrollment/v1/applications/{app_id}/accept", headers=admissions, json=joined)
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text

    # no call between the services: the roster fills from trainee.enrolled on Kafka
    roster = wait_until(
        lambda: (
            (r := att.get(f"/attendance/v1/cohorts/{cohort_id}/roster", headers=instructor)).status_code == 200
            and len(r.json()) == 2
            and r.json()
        )
    )
    assert {r["trainee_id"] for r in roster} == {a for a, _ in trainees}
    sessions = att.get(f"/attendance/v1/cohorts/{cohort_id}/sessions", headers=instructor).json()
    held = [s for s in sessions if s["date"] < t.isoformat()]
    assert held and all(s["date"] != t.isoformat() for s in sessions)
    (good, _), (poor, _) = trainees
    for i, s in enumerate(held):
        day = date.fromisoformat(s["date"])
        items = [{"trainee_id": good, "kind": "in", "method": "card", "at": local(day, 8, 55)}]
        if i % 3 == 0:
            items.append({"trainee_id": poor, "kind": "in", "method": "card", "at": local(day, 9)})
        rep = att.post(f"/attendance/v1/sessions/{s['id']}/check-ins/bulk", headers=instructor, json={"items": items})
        assert rep.status_code == 200 and rep.json()["refused"] == 0, rep.text

    closed = att.post(f"/attendance/v1/cohorts/{cohort_id}/close", headers=instructor)
    assert closed.status_code == 200 and (closed.json()["completed"], closed.json()["not_completed"]) == (1, 1)

    def status_of(trainee_id: str) -> dict:
        page = enr.get("/enrollment/v1/enrollments", headers=admissions, params={"trainee_id": trainee_id}).json()
        return page["items"][0]

    wait_until(lambda: status_of(good)["status"] == "completed" and status_of(poor)["status"] == "not_completed")
    assert status_of(good)["final_rate"] == 1.0
    assert status_of(poor)["final_rate"] < 0.8
    assert status_of(good)["outcome_date"] == min(t, date.fromisoformat(cohort.json()["end_date"])).isoformat()
