"""From enrollment (the real service) through attendance's completion and certification's certificate
(played by a Kafka producer, as those services are outside placement) to a follow-up due, an outcome and the report.
No call between services: only events on the broker."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.placement.domain.calendar import add_months
from shared import events
from shared.events import topic_for
from tests.support import EventReader, running_service, token, wait_until

ADMISSIONS = token(["admissions"], ["*"])
PLACEMENT = token(["placement"], ["*"], sub="officer-yoon")


@pytest.fixture(scope="module")
def enrollment(kafka, databases):
    with running_service("enrollment", database_url=databases.new("plc_e2e_enr"), kafka_bootstrap_servers=kafka) as c:
        yield c


@pytest.fixture(scope="module")
def placement(kafka, databases):
    with running_service("placement", database_url=databases.new("plc_e2e"), kafka_bootstrap_servers=kafka) as c:
        yield c


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def test_enrolled_completed_certified_followed_up_and_reported(kafka, enrollment, placement, outside):
    enrollment_events = EventReader(kafka, topic_for("enrollment"))
    placement_events = EventReader(kafka, topic_for("placement"))
    try:
        campus, today = f"e{uuid.uuid4().hex[:8]}", date.today()
        ok(
            enrollment.post(
                "/enrollment/v1/campuses",
                headers=ADMISSIONS,
                json={"code": campus, "name": "Woman-Up Seoul", "city": "Seoul"},
            ),
            201,
        )
        code = f"WU-{uuid.uuid4().hex[:6]}"
        programme = ok(
            enrollment.post(
                "/enrollment/v1/programmes",
                headers=ADMISSIONS,
                json={
                    "code": code,
                    "title": "Data analysis for career-break women",
                    "campus": campus,
                    "track": "career_break_women",
                    "total_hours": 200,
                    "qualification_codes": ["BIGDATA-ENG"],
                },
            ),
            201,
        )
        start, end = today + timedelta(days=10), today + timedelta(days=40)
        cohort = ok(
            enrollment.post(
                "/enrollment/v1/cohorts",
                headers=ADMISSIONS,
                json={
                    "programme_id": programme["id"],
                    "label": "2026-1",
                    "capacity": 20,
                    "application_opens": (today - timedelta(days=1)).isoformat(),
                    "application_closes": (today + timedelta(days=5)).isoformat(),
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                },
            ),
            201,
        )
        applicant = ok(
            enrollment.post(
                "/enrollment/v1/applicants",
                headers=ADMISSIONS,
                json={
                    "campus": campus,
                    "name": "Jung Hyerin",
                    "birth_date": "1988-04-02",
                    "gender": "female",
                    "residency_status": "city_resident",
                    "career_break": True,
                },
            ),
            201,
        )
        application = ok(
            enrollment.post(
                "/enrollment/v1/applications",
                headers=ADMISSIONS,
                json={"applicant_id": applicant["id"], "cohort_id": cohort["id"], "score": 80},
            ),
            201,
        )
        ok(enrollment.post(f"/enrollment/v1/cohorts/{cohort['id']}/selection", headers=ADMISSIONS))
        ok(enrollment.post(f"/enrollment/v1/applications/{application['id']}/accept", headers=ADMISSIONS))
        # the broker is shared with other test modules: take this cohort's enrollment, not the latest of any
        ours = lambda e: e.type == events.TRAINEE_ENROLLED and e.data["cohort_id"] == cohort["id"]  # noqa: E731
        enrolled = [e for e in enrollment_events.wait_for(lambda evs: any(ours(e) for e in evs)) if ours(e)][-1]
        trainee = enrolled.data["trainee_id"]
        # the plan travels on the cohort's own event
        mine = lambda e: e.type == events.COHORT_PUBLISHED and e.data["cohort_id"] == cohort["id"]  # noqa: E731
        snapshot = next(e for e in enrollment_events.wait_for(lambda evs: any(mine(e) for e in evs)) if mine(e)).data

        # Attendance (outside placement) decides completion when the cohort ends and publishes it.
        outside.send(
            events.TRAINEE_COMPLETED,
            dict(
                trainee_id=trainee,
                cohort_id=snapshot["cohort_id"],
                campus=snapshot["campus"],
                name=enrolled.data["name"],
                programme_code=snapshot["programme_code"],
                qualification_codes=snapshot["qualification_codes"],
                completion_date=end.isoformat(),
                final_rate=0.95,
            ),
        )
        # Certification (outside placement) records the certificate obtained two months later.
        obtained = end + timedelta(days=60)
        outside.send(
            events.QUALIFICATION_OBTAINED,
            dict(
                trainee_id=trainee,
                qualification_code="BIGDATA-ENG",
                grade="engineer",
                date=obtained.isoformat(),
                campus=campus,
            ),
        )

        def graduate():
            r = placement.get(f"/placement/v1/graduates/{trainee}", headers=PLACEMENT)
            return r.status_code == 200 and r.json()["first_qualification"] and r.json()

        g = wait_until(graduate, timeout=40)
        assert g["programme_code"] == code and g["cohort_id"] == cohort["id"] and g["name"] == "Jung Hyerin"
        due_1m = add_months(end, 1)
        worklist = ok(
            placement.get(
                "/placement/v1/followups", headers=PLACEMENT, params={"campus": campus, "on": due_1m.isoformat()}
            )
        )
        assert [(i["graduate_id"], i["months"], i["status"], i["due_date"]) for i in worklist["items"]] == [
            (trainee, 1, "due", due_1m.isoformat())
        ]

        hired = end + timedelta(days=20)
        outcome = ok(
            placement.post(
                "/placement/v1/outcomes",
                headers=PLACEMENT,
                json={
                    "graduate_id": trainee,
                    "category": "employed",
                    "as_of": due_1m.isoformat(),
                    "employment": {
                        "employer_name": "Seoul Data Lab",
                        "start_date": hired.isoformat(),
                        "employment_type": "contract",
                        "insured": True,
                        "monthly_wage": 2_800_000,
                    },
                },
            ),
            201,
        )
        assert outcome["closed_followups"] == [1]
        placement_events.wait_for(
            lambda evs: any(e.type == events.OUTCOME_RECORDED and e.data["trainee_id"] == trainee for e in evs)
        )

        as_of = add_months(end, 13)
        report = ok(
            placement.get(
                "/placement/v1/reports/employment",
                headers=PLACEMENT,
                params={"campus": campus, "as_of": as_of.isoformat(), "group_by": "programme"},
            )
        )
        row = report["rows"][0]
        assert row["group"] == code and row["completers"] == 1
        for name in ("employment_rate", "employment_rate_6m", "employment_rate_12m", "certificate_attainment"):
            assert (row[name]["numerator"], row[name]["denominator"], row[name]["percent"]) == (1, 1, 100), name
        assert row["median_monthly_wage"] == {"value": 2_800_000, "count": 1}
    finally:
        enrollment_events.close()
        placement_events.close()
