"""Bad input gets a problem response naming what is wrong; never a 500."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import running_service, token

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(kafka, databases):
    with running_service(
        "enrollment", database_url=databases.new("enrbad"), kafka_bootstrap_servers=kafka, consumer_enabled=False
    ) as c:
        yield c


@pytest.fixture(scope="module")
def staff():
    return token(["admissions"], ["*"])


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["type"].startswith("/problems/") and body["detail"]
    return body


def test_no_token_and_bad_tokens_are_401(client):
    problem(client.get(f"{E}/campuses"), 401)
    problem(client.get(f"{E}/campuses", headers={"Authorization": "Bearer not-a-jwt"}), 401)
    from shared.auth import mint_token

    forged = mint_token("x", ["admissions"], secret="another-secret-another-secret-0000")
    body = problem(client.get(f"{E}/campuses", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert body["code"] == "invalid-token"
    expired = mint_token("x", ["admissions"], ttl_s=-10)
    assert (
        problem(client.get(f"{E}/campuses", headers={"Authorization": f"Bearer {expired}"}), 401)["code"]
        == "token-expired"
    )


def test_wrong_role_is_403(client):
    body = problem(client.post(f"{E}/campuses", json={"code": "x", "name": "x"}, headers=token(["instructor"])), 403)
    assert "admissions" in body["detail"]
    problem(client.get(f"{E}/campuses", headers=token(["trainee"])), 403)


def test_malformed_and_invalid_bodies_name_the_fields(client, staff):
    r = client.post(f"{E}/campuses", content=b"{not json", headers={**staff, "content-type": "application/json"})
    problem(r, 422)
    body = problem(
        client.post(
            f"{E}/programmes",
            json={"code": "bad code!", "title": "", "campus": "x", "track": "space", "total_hours": -1},
            headers=staff,
        ),
        422,
    )
    fields = {e["field"] for e in body["errors"]}
    assert {"body.code", "body.title", "body.track", "body.total_hours"} <= fields
    body = problem(
        client.post(
            f"{E}/applicants",
            json={"campus": "x", "name": "A", "birth_date": "2999-01-01", "residency_status": "city_resident"},
            headers=staff,
        ),
        422,
    )
    assert body["errors"][0]["field"] == "body.birth_date"
    problem(client.get(f"{E}/programmes", params={"limit": 0}, headers=staff), 422)
    problem(client.get(f"{E}/cohorts/not-a-uuid", headers=staff), 422)


def test_cohort_dates_must_make_sense(client, staff):
    campus = new_campus(client, staff)
    programme = new_programme(client, staff, campus)
    today = date.today()
    body = {
        "programme_id": programme,
        "label": "x",
        "capacity": 10,
        "application_opens": str(today),
        "application_closes": str(today + timedelta(5)),
        "start_date": str(today + timedelta(10)),
        "end_date": str(today + timedelta(2)),
    }
    refused = problem(client.post(f"{E}/cohorts", json=body, headers=staff), 422)
    assert "end_date is before start_date" in refused["errors"][0]["message"]
    body["end_date"] = str(today + timedelta(30))
    body["timetable"] = {"weekdays": [5, 6]}
    body["start_date"] = str(today + timedelta(days=(7 - today.weekday()) % 7 or 7))  # a Monday
    body["end_date"] = str(date.fromisoformat(body["start_date"]) + timedelta(4))  # to Friday
    assert (
        problem(client.post(f"{E}/cohorts", json=body, headers=staff), 422)["errors"][0]["rule"] == "cohort.no-sessions"
    )


def test_unknown_ids_are_404_in_paths_and_named_references_in_bodies(client, staff):
    missing = uuid.uuid4()
    for path in (
        f"cohorts/{missing}",
        f"cohorts/{missing}/stats",
        f"applications/{missing}",
        f"enrollments/{missing}",
        f"programmes/{missing}",
        f"applicants/{missing}",
    ):
        assert problem(client.get(f"{E}/{path}", headers=staff), 404)["code"] == "not-found"
    problem(client.post(f"{E}/applications/{missing}/accept", headers=staff), 404)
    body = problem(
        client.post(f"{E}/applications", json={"applicant_id": str(missing), "cohort_id": str(missing)}, headers=staff),
        422,
    )
    assert body["errors"][0]["rule"] == "reference.cohort"
    problem(client.get(f"{E}/no-such-thing", headers=staff), 404)


def test_another_campus_is_invisible(client, staff):
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus))
    app = apply(client, staff, new_applicant(client, staff, campus), cohort)
    elsewhere = token(["admissions"], ["other-campus"])
    problem(client.get(f"{E}/cohorts/{cohort}", headers=elsewhere), 404)
    problem(client.get(f"{E}/applications/{app['id']}", headers=elsewhere), 404)
    problem(client.post(f"{E}/cohorts/{cohort}/selection", headers=elsewhere), 404)
    problem(client.get(f"{E}/applicants/{app['applicant_id']}", headers=elsewhere), 404)
    listed = client.get(f"{E}/applications", params={"cohort_id": cohort}, headers=elsewhere).json()
    assert listed["total"] == 0
    body = problem(
        client.post(
            f"{E}/programmes",
            json={
                "code": f"X{uuid.uuid4().hex[:6]}",
                "title": "t",
                "campus": campus,
                "track": "other",
                "total_hours": 10,
            },
            headers=elsewhere,
        ),
        422,
    )
    assert body["errors"][0]["rule"] == "reference.campus"


def test_business_rule_refusals_name_the_rule(client, staff):
    campus = new_campus(client, staff)
    programme = new_programme(client, staff, campus)
    closed = new_cohort(client, staff, programme, opens_days_ago=0, start_in_days=30)
    # move the window: a cohort whose applications opened yesterday and closed yesterday
    today = date.today()
    r = client.post(
        f"{E}/cohorts",
        json={
            "programme_id": programme,
            "label": "past",
            "capacity": 5,
            "application_opens": str(today - timedelta(10)),
            "application_closes": str(today - timedelta(1)),
            "start_date": str(today + timedelta(3)),
            "end_date": str(today + timedelta(40)),
        },
        headers=staff,
    )
    past = r.json()["id"]
    person = new_applicant(client, staff, campus)
    body = problem(
        client.post(f"{E}/applications", json={"applicant_id": person, "cohort_id": past}, headers=staff), 422
    )
    assert body["code"] == "business-rule-violation"
    assert body["errors"][0]["rule"] == "application.window-closed"
    apply(client, staff, person, closed)
    assert (
        problem(
            client.post(f"{E}/applications", json={"applicant_id": person, "cohort_id": closed}, headers=staff), 409
        )["code"]
        == "application-exists"
    )
    client.post(f"{E}/cohorts/{closed}/selection", headers=staff)
    assert (
        problem(client.post(f"{E}/cohorts/{closed}/selection", headers=staff), 409)["errors"][0]["rule"]
        == "selection.already-run"
    )
    late = new_applicant(client, staff, campus)
    assert (
        problem(client.post(f"{E}/applications", json={"applicant_id": late, "cohort_id": closed}, headers=staff), 422)[
            "errors"
        ][0]["rule"]
        == "application.selection-done"
    )


def test_idempotency_key_reused_with_another_body_is_422(client, staff):
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus), capacity=2)
    a = apply(client, staff, new_applicant(client, staff, campus), cohort)
    b = apply(client, staff, new_applicant(client, staff, campus), cohort)
    client.post(f"{E}/cohorts/{cohort}/selection", headers=staff)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    assert client.post(f"{E}/applications/{a['id']}/accept", headers={**staff, **key}).status_code == 200
    body = problem(client.post(f"{E}/applications/{b['id']}/accept", headers={**staff, **key}), 422)
    assert body["code"] == "idempotency-key-reused"
    problem(client.post(f"{E}/applications/{b['id']}/accept", headers={**staff, "Idempotency-Key": "bad key"}), 422)


def test_overlapping_enrollment_is_refused(client, staff):
    campus = new_campus(client, staff)
    programme = new_programme(client, staff, campus)
    first = new_cohort(client, staff, programme, capacity=1)
    second = new_cohort(client, staff, programme, capacity=1, start_in_days=12)
    person = new_applicant(client, staff, campus)
    app = apply(client, staff, person, first)
    client.post(f"{E}/cohorts/{first}/selection", headers=staff)
    assert client.post(f"{E}/applications/{app['id']}/accept", headers=staff).status_code == 200
    second_app = apply(client, staff, person, second)
    assert second_app["status"] == "ineligible"
    assert [r["rule"] for r in second_app["reasons"]] == ["enrollment.overlap"]


def test_imported_rows_follow_the_same_input_rules(client, staff):
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus))
    rows = [
        "campus,name,birth_date,residency_status,score",
        f"{campus},Lee Ok,1996-02-03,city_resident,70",
        "no-such-campus,Han Bit,1996-02-03,city_resident,70",  # refused: unknown campus
        f"{campus},Seo 960203-2345678,1996-02-03,city_resident,70",  # refused: a resident registration number
        f"{campus},Nul\x00Kim,1996-02-03,city_resident,70",
    ]  # refused: a NUL byte
    r = client.post(
        f"{E}/applications/import",
        data={"cohort_id": cohort},
        files={"file": ("a.csv", "\n".join(rows).encode(), "text/csv")},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    by_row = {row["row"]: row for row in r.json()["report"]}
    assert [by_row[n]["status"] for n in (2, 3, 4, 5)] == ["imported", "refused", "refused", "refused"]
    assert by_row[3]["errors"][0]["rule"] == "reference.campus"
    assert by_row[4]["errors"][0]["rule"] == "personal-data.resident-registration-number"
    assert by_row[5]["errors"][0]["rule"] == "text.control-character"
