"""Employers, postings, matching, internships at the living wage, the incentive once; bad input as problems."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from shared import events
from shared.events import topic_for
from tests.support import EventReader, running_service, token, wait_until

STAFF = token(["placement"], ["*"], sub="officer-choi")


@pytest.fixture(scope="module")
def svc(kafka, databases):
    with running_service("placement", database_url=databases.new("plc_intern"), kafka_bootstrap_servers=kafka) as c:
        yield c


@pytest.fixture(scope="module")
def placement_events(kafka):
    reader = EventReader(kafka, topic_for("placement"))
    yield reader
    reader.close()


def new_graduate(svc, outside, campus: str, done: date = date(2024, 6, 28), quals=("BIGDATA-ENG",)) -> str:
    trainee = str(uuid.uuid4())
    outside.send(
        events.TRAINEE_COMPLETED,
        dict(
            trainee_id=trainee,
            cohort_id=str(uuid.uuid4()),
            campus=campus,
            name="Han Seoyeon",
            programme_code="WU-DATA-2024",
            qualification_codes=list(quals),
            completion_date=done.isoformat(),
            final_rate=0.9,
        ),
    )
    wait_until(lambda: svc.get(f"/placement/v1/graduates/{trainee}", headers=STAFF).status_code == 200, timeout=40)
    return trainee


def employer_and_posting(svc, campus: str, **posting) -> tuple[str, str]:
    r = svc.post(
        "/placement/v1/employers",
        headers=STAFF,
        json={"campus": campus, "name": "Hanbit Robotics", "business_number": "123-45-67890", "industry": "robotics"},
    )
    assert r.status_code == 201, r.text
    employer = r.json()["id"]
    r = svc.post(
        "/placement/v1/postings",
        headers=STAFF,
        json={
            "employer_id": employer,
            "role": "Junior data analyst",
            "conditions": "Seongsu, 09-18",
            "required_qualifications": ["BIGDATA-ENG"],
            **posting,
        },
    )
    assert r.status_code == 201, r.text
    return employer, r.json()["id"]


def campus() -> str:
    return f"w{uuid.uuid4().hex[:8]}"


def test_matching_internship_pay_and_incentive_once(svc, outside, placement_events):
    c = campus()
    trained = new_graduate(svc, outside, c)
    other = new_graduate(svc, outside, c, quals=("WELD-CRAFTSMAN",))
    employed = new_graduate(svc, outside, c)
    assert (
        svc.post(
            "/placement/v1/outcomes",
            headers=STAFF,
            json={"graduate_id": employed, "category": "self_employed", "as_of": "2024-08-01"},
        ).status_code
        == 201
    )
    employer, posting = employer_and_posting(svc, c)
    assert svc.get(f"/placement/v1/postings/{posting}", headers=STAFF).json()["monthly_pay"] == 2_390_124

    matches = svc.get(f"/placement/v1/postings/{posting}/matches", headers=STAFF).json()
    assert [m["graduate_id"] for m in matches] == [trained, other]  # the self-employed one is not a candidate
    assert matches[0]["matching_qualifications"] == ["BIGDATA-ENG"] and matches[0]["score"] > matches[1]["score"]

    r = svc.post(
        "/placement/v1/internships",
        headers={**STAFF, "Idempotency-Key": f"start-{trained}"},
        json={"posting_id": posting, "graduate_id": trained, "start_date": "2024-09-02"},
    )
    assert r.status_code == 201, r.text
    internship = r.json()
    assert (internship["monthly_pay"], internship["total_pay"], internship["hourly_krw"]) == (
        2_390_124,
        7_170_372,
        11_436,
    )
    assert internship["end_date"] == "2024-12-01"
    again = svc.post(
        "/placement/v1/internships",
        headers=STAFF,
        json={"posting_id": posting, "graduate_id": trained, "start_date": "2024-09-02"},
    )
    assert again.status_code == 409 and again.json()["errors"][0]["rule"] == "internship.already-active"
    part_time = svc.post(
        "/placement/v1/internships",
        headers=STAFF,
        json={"posting_id": posting, "graduate_id": other, "start_date": "2024-09-02", "weekly_hours": 20},
    )
    assert part_time.status_code == 201 and part_time.json()["monthly_pay"] == 1_195_062

    url = f"/placement/v1/internships/{internship['id']}/convert"
    body = {"hire_date": "2024-12-02", "monthly_wage": 2_700_000}
    r = svc.post(url, headers={**STAFF, "Idempotency-Key": "conv-1"}, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "converted" and r.json()["incentive"]["amount"] == 3_000_000
    replay = svc.post(url, headers={**STAFF, "Idempotency-Key": "conv-1"}, json=body)
    assert replay.status_code == 200 and replay.json() == r.json()  # a client retry is not a second conversion
    twice = svc.post(url, headers=STAFF, json=body)
    assert twice.status_code == 409
    assert twice.headers["content-type"].startswith("application/problem+json")
    assert twice.json()["errors"][0]["rule"] == "incentive.once-per-internship"

    incentives = svc.get("/placement/v1/incentives", params={"campus": c}, headers=STAFF).json()
    assert incentives["total"] == 1 and incentives["items"][0]["employer_id"] == employer
    placement_events.wait_for(
        lambda evs: any(e.type == events.INCENTIVE_DUE and e.data["internship_id"] == internship["id"] for e in evs)
    )
    placement_events.poll()
    due = [e for e in placement_events.of_type("incentive.due.v1") if e.data["internship_id"] == internship["id"]]
    assert len(due) == 1
    assert due[0].data == {
        "internship_id": internship["id"],
        "employer_id": employer,
        "trainee_id": trained,
        "campus": c,
        "amount": 3_000_000,
    }
    # The permanent hire is an employed outcome: the graduate is no longer a candidate.
    g = svc.get(f"/placement/v1/graduates/{trained}", headers=STAFF).json()
    assert [(o["category"], o["source"], o["employment_type"], o["monthly_wage"]) for o in g["outcomes"]] == [
        ("employed", "internship_conversion", "regular", 2_700_000)
    ]


def test_outcome_for_an_unknown_graduate_is_a_404_problem(svc):
    r = svc.post(
        "/placement/v1/outcomes",
        headers=STAFF,
        json={"graduate_id": str(uuid.uuid4()), "category": "seeking_work", "as_of": "2024-08-01"},
    )
    assert r.status_code == 404 and r.json()["code"] == "not-found" and "graduate" in r.json()["detail"]


def test_wage_below_zero_is_refused_naming_the_rule(svc, outside):
    trainee = new_graduate(svc, outside, campus())
    r = svc.post(
        "/placement/v1/outcomes",
        headers=STAFF,
        json={
            "graduate_id": trainee,
            "category": "employed",
            "as_of": "2024-08-01",
            "employment": {
                "employer_name": "A",
                "start_date": "2024-07-15",
                "employment_type": "regular",
                "insured": True,
                "monthly_wage": -1,
            },
        },
    )
    assert r.status_code == 422
    assert [e["rule"] for e in r.json()["errors"]] == ["outcome.wage-negative"]
    r = svc.post(
        "/placement/v1/outcomes",
        headers=STAFF,
        json={"graduate_id": trainee, "category": "employed", "as_of": "2024-06-01"},
    )
    assert r.status_code == 422
    assert {e["rule"] for e in r.json()["errors"]} == {"outcome.before-completion", "outcome.employment-required"}
    r = svc.post(
        "/placement/v1/outcomes",
        headers=STAFF,
        json={"graduate_id": trainee, "category": "retired", "as_of": "2024-08-01"},
    )
    assert r.status_code == 422 and r.json()["code"] == "validation-error"


def test_staff_of_another_campus_see_nothing(svc, outside):
    c = campus()
    trainee = new_graduate(svc, outside, c)
    _, posting = employer_and_posting(svc, c)
    elsewhere = token(["placement"], ["somewhere-else"])
    assert svc.get(f"/placement/v1/graduates/{trainee}", headers=elsewhere).status_code == 404
    r = svc.post(
        "/placement/v1/outcomes",
        headers=elsewhere,
        json={"graduate_id": trainee, "category": "seeking_work", "as_of": "2024-08-01"},
    )
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    assert svc.get(f"/placement/v1/postings/{posting}", headers=elsewhere).status_code == 404
    assert (
        svc.get("/placement/v1/followups", params={"on": "2030-01-01", "campus": c}, headers=elsewhere).json()["total"]
        == 0
    )
    assert svc.get("/placement/v1/reports/employment", params={"campus": c}, headers=elsewhere).status_code == 404


def test_roles_and_bad_parameters_are_problems(svc):
    trainee_token = token(["trainee"], ["*"])
    r = svc.get("/placement/v1/followups", headers=trainee_token)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert svc.get("/placement/v1/followups").status_code == 401
    r = svc.get(
        "/placement/v1/reports/employment",
        headers=STAFF,
        params={"completed_from": "2024-06-01", "completed_to": "2024-01-01"},
    )
    assert r.status_code == 400 and r.json()["code"] == "bad-request"
    r = svc.get("/placement/v1/reports/employment", headers=STAFF, params={"group_by": "planet"})
    assert r.status_code == 422
    r = svc.post(f"/placement/v1/internships/{uuid.uuid4()}/convert", headers=STAFF, json={"hire_date": "2024-01-01"})
    assert r.status_code == 404
    r = svc.post(
        "/placement/v1/followups/not-a-uuid/contacts", headers=STAFF, json={"channel": "phone", "result": "reached"}
    )
    assert r.status_code == 422
