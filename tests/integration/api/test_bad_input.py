"""Bad input on all four services: NUL bytes, resident registration numbers, loose flags and dates, unknown
campuses. Each is a 422 problem naming the field (and why), never a 500, and nothing personal reaches a log."""

from __future__ import annotations

import contextlib
import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database
from shared.registry import NAMES as SERVICES
from tests.support import running_service, token

ADMIN = token(["campus_admin"], ["*"], sub="00000000-0000-4000-8000-000000000001")
RRN = "910307-2345678"


@pytest.fixture(scope="module")
def clients(kafka, databases):
    with contextlib.ExitStack() as stack:
        yield {
            s: stack.enter_context(
                running_service(
                    s,
                    database_url=databases.new(f"bad{s[:3]}"),
                    kafka_bootstrap_servers=kafka,
                    consumer_enabled=False,
                    relay_enabled=False,
                    **({"campuses": ["configured-campus"]} if s == "placement" else {}),
                )
            )
            for s in SERVICES
        }


def refused(r, field: str, rule: str | None = None) -> dict:
    assert r.status_code == 422, f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    named = {e.get("field"): e["rule"] for e in body["errors"]}
    assert field in named, body
    if rule:
        assert named[field] == rule, body
    return body


def _string_parameters(app):  # type: ignore[no-untyped-def]
    """(path template, where, name) of every string parameter of every GET operation in the OpenAPI."""
    for path, item in app.openapi()["paths"].items():
        op = item.get("get")
        if not op:
            continue
        for p in op.get("parameters", []):
            schema = p.get("schema", {})
            kinds = [schema] + schema.get("anyOf", [])
            if any(k.get("type") == "string" and not k.get("format") and "enum" not in k for k in kinds):
                yield path, p["in"], p["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_nul_byte_in_any_query_or_path_string_is_a_422_naming_it(clients, service):
    client = clients[service]
    checked = 0
    for path, where, name in _string_parameters(client.app):
        url = path
        for other in (seg[1:-1] for seg in path.split("/") if seg.startswith("{")):
            url = url.replace(
                "{" + other + "}", "bad%00code" if (where, other) == ("path", name) else str(uuid.uuid4())
            )
        params = {name: "x\x00"} if where == "query" else {}
        refused(client.get(url, params=params, headers=ADMIN), f"{where}.{name}", "text.control-character")
        checked += 1
    assert checked >= {"enrollment": 3, "attendance": 2, "certification": 4, "placement": 6}[service]


def test_the_reported_nul_requests_are_422(clients):
    e = clients["enrollment"]
    refused(e.get("/enrollment/v1/applications", params={"campus": "\x00"}, headers=ADMIN), "query.campus")
    refused(clients["certification"].get("/certification/v1/qualifications/%00", headers=ADMIN), "path.code")


def test_a_nul_byte_in_a_body_is_a_422_and_nothing_personal_is_logged(clients, caplog):
    applicant = {
        "campus": "jungbu",
        "name": "Kim Nul\u0000ja",
        "birth_date": "1987-11-23",
        "residency_status": "city_resident",
        "email": "nulja.kim@example.org",
        "phone": "010-5555-8123",
    }
    with caplog.at_level(logging.DEBUG):
        r = clients["enrollment"].post(
            "/enrollment/v1/applicants", json=applicant, headers=token(["admissions"], ["*"])
        )
    refused(r, "body.name", "text.control-character")
    logged = caplog.text + "".join(str(rec.__dict__) for rec in caplog.records)
    for value in ("Nul", "1987-11-23", "1987, 11, 23", "nulja.kim", "5555-8123"):
        assert value not in logged


def test_a_database_error_never_carries_its_parameters(databases):
    # (PostgreSQL's own message may still quote a value it could not use, e.g. 'invalid input syntax for type
    # integer: "..."': that is why no handler logs an error's message, only its type.)
    db = Database(databases.new("hideparams"))
    try:
        with pytest.raises(DBAPIError) as raised, db.engine.connect() as conn:
            conn.execute(text("SELECT :name, :birth, 1 / 0"), {"name": "Kim Minji", "birth": "1994-05-17"})
        assert "division by zero" in str(raised.value)
        assert "Kim Minji" not in str(raised.value) and "1994-05-17" not in str(raised.value)
    finally:
        db.dispose()


# -- resident registration numbers in free text -------------------------------------
def rrn_cases():  # type: ignore[no-untyped-def]
    sid, tid, other = (uuid.UUID(int=n) for n in (1, 2, 3))  # fixed: test ids must not change between workers
    return [
        (
            "enrollment",
            "post",
            "/enrollment/v1/applicants",
            {"campus": "jungbu", "name": f"Kim {RRN}", "birth_date": "1991-03-07", "residency_status": "city_resident"},
            "body.name",
        ),
        (
            "enrollment",
            "post",
            "/enrollment/v1/campuses",
            {"code": "c1", "name": "Jungbu", "city": f"RRN {RRN}"},
            "body.city",
        ),
        (
            "attendance",
            "put",
            f"/attendance/v1/sessions/{sid}/marks/{tid}",
            {"mark": "excused", "reason": "see 9103072345678", "reason_code": "illness"},
            "body.reason",
        ),
        (
            "certification",
            "put",
            "/certification/v1/qualifications/Q1",
            {"code": "Q1", "name": "Welding 910307 2345678", "grade": "craftsman"},
            "body.name",
        ),
        (
            "certification",
            "post",
            f"/certification/v1/claims/{other}/reject",
            {"reasons": [{"code": "evidence.unreadable", "message": f"slip shows {RRN}"}]},
            "body.reasons.0.message",
        ),
        (
            "placement",
            "post",
            f"/placement/v1/followups/{other}/contacts",
            {"channel": "phone", "result": "reached", "note": f"confirmed {RRN}"},
            "body.note",
        ),
        (
            "placement",
            "post",
            "/placement/v1/employers",
            {"campus": "configured-campus", "name": "Hanbit", "industry": f"owner {RRN}"},
            "body.industry",
        ),
    ]


@pytest.mark.parametrize("service,method,path,body,field", rrn_cases(), ids=[c[-1] + "@" + c[0] for c in rrn_cases()])
def test_free_text_holding_a_resident_registration_number_is_refused_saying_why(
    clients, service, method, path, body, field
):
    r = getattr(clients[service], method)(path, json=body, headers=ADMIN)
    problem = refused(r, field, "personal-data.resident-registration-number")
    message = next(e["message"] for e in problem["errors"] if e["field"] == field)
    assert "resident registration number" in message and "personal-data" in message


def test_phone_numbers_business_numbers_and_receipts_are_not_taken_for_one(clients):
    r = clients["placement"].post(
        "/placement/v1/employers",
        headers=ADMIN,
        json={
            "campus": "configured-campus",
            "name": "Hanbit Robotics 010-1234-5678",
            "business_number": "123-45-67890",
            "industry": "robotics, receipt QN-2027-0001234",
        },
    )
    assert r.status_code == 201, r.text


# -- strict flags and dates, sane bounds --------------------------------------------
def test_flags_and_dates_are_strict(clients):
    e, p = clients["enrollment"], clients["placement"]
    staff = token(["admissions"], ["*"])
    refused(e.get("/enrollment/v1/cohorts", params={"open_on": "0"}, headers=staff), "query.open_on")
    refused(e.get("/enrollment/v1/cohorts", params={"open_on": "20270104"}, headers=staff), "query.open_on")
    assert e.get("/enrollment/v1/cohorts", params={"open_on": "2027-01-04"}, headers=staff).status_code == 200
    applicant = {
        "campus": "jungbu",
        "name": "Kim Minji",
        "birth_date": "1994-05-17",
        "residency_status": "city_resident",
    }
    refused(
        e.post("/enrollment/v1/applicants", json={**applicant, "leaving_care": 0}, headers=staff), "body.leaving_care"
    )
    refused(
        e.post("/enrollment/v1/applicants", json={**applicant, "career_break": "yes"}, headers=staff),
        "body.career_break",
    )
    refused(e.post("/enrollment/v1/applicants", json={**applicant, "birth_date": 0}, headers=staff), "body.birth_date")
    refused(p.get("/placement/v1/followups", params={"unassigned": "1"}, headers=ADMIN), "query.unassigned")
    assert p.get("/placement/v1/followups", params={"unassigned": "true"}, headers=ADMIN).status_code == 200
    refused(
        p.post(
            f"/placement/v1/internships/{uuid.uuid4()}/convert",
            headers=ADMIN,
            json={"hire_date": "2026-06-01", "insured": 1},
        ),
        "body.insured",
    )


def test_dates_out_of_bounds_are_refused(clients):
    p = clients["placement"]
    body = {"graduate_id": str(uuid.uuid4()), "category": "seeking_work"}
    refused(
        p.post("/placement/v1/outcomes", json={**body, "as_of": "2199-12-31"}, headers=ADMIN),
        "body.as_of",
        "date.out-of-range",
    )
    from datetime import date, timedelta

    tomorrow = str(date.today() + timedelta(days=1))
    refused(
        p.post(
            f"/placement/v1/followups/{uuid.UUID(int=5)}/contacts",
            headers=ADMIN,
            json={"channel": "phone", "result": "reached", "attempted_at": f"{tomorrow}T10:00:00+09:00"},
        ),
        "body.attempted_at",
        "date.future",
    )
    refused(
        p.post(
            "/placement/v1/employers",
            headers=ADMIN,
            json={"campus": "configured-campus", "name": "Later Ltd", "joined_on": tomorrow},
        ),
        "body.joined_on",
        "date.future",
    )
    refused(
        p.post("/placement/v1/outcomes", json={**body, "as_of": "1899-12-31"}, headers=ADMIN),
        "body.as_of",
        "date.out-of-range",
    )
    # today is a date an outcome may have: the graduate is unknown, so it gets as far as the lookup
    assert p.post("/placement/v1/outcomes", json={**body, "as_of": str(date.today())}, headers=ADMIN).status_code == 404
    refused(
        clients["enrollment"].get("/enrollment/v1/cohorts", params={"open_on": "9999-01-01"}, headers=ADMIN),
        "query.open_on",
        "date.out-of-range",
    )


# -- references ---------------------------------------------------------------------
def test_an_applicant_on_an_unknown_campus_is_refused(clients):
    e = clients["enrollment"]
    staff = token(["admissions"], ["*"])
    applicant = {"name": "Kim Minji", "birth_date": "1994-05-17", "residency_status": "city_resident"}
    body = refused(
        e.post("/enrollment/v1/applicants", json={**applicant, "campus": "no-such-campus"}, headers=staff),
        "campus",
        "reference.campus",
    )
    assert body["code"] == "business-rule-violation"
    code = f"c{uuid.uuid4().hex[:8]}"
    assert e.post("/enrollment/v1/campuses", json={"code": code, "name": "Real"}, headers=staff).status_code == 201
    assert e.post("/enrollment/v1/applicants", json={**applicant, "campus": code}, headers=staff).status_code == 201


def test_an_employer_on_a_campus_placement_does_not_know_is_refused(clients):
    p = clients["placement"]
    employer = {"name": "Hanbit Robotics", "industry": "robotics"}
    body = refused(
        p.post("/placement/v1/employers", json={**employer, "campus": "no-such-campus"}, headers=ADMIN),
        "campus",
        "reference.campus",
    )
    assert "PLACEMENT_CAMPUSES" in body["errors"][0]["message"]
    assert (
        p.post("/placement/v1/employers", json={**employer, "campus": "configured-campus"}, headers=ADMIN).status_code
        == 201
    )


# -- what the OpenAPI documents is what is answered ------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_an_undeclared_method_is_a_405_whose_allow_lists_the_declared_ones(clients, service):
    client = clients[service]
    for path, item in client.app.openapi()["paths"].items():
        # exactly the path's own methods: /applications/import is not also GET /applications/{application_id},
        # nor /qualifications/import GET or PUT /qualifications/{code}
        declared = {m.upper() for m in item if m in ("get", "put", "post", "delete", "patch")}
        url = path
        for name in (seg[1:-1] for seg in path.split("/") if seg.startswith("{")):
            url = url.replace("{" + name + "}", str(uuid.UUID(int=7)) if name.endswith("_id") else "X1")
        r = client.request("OPTIONS", url, headers=ADMIN)
        assert r.status_code == 405, (path, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert set(r.headers.get("allow", "").replace(" ", "").split(",")) - {""} == declared, (path, r.headers)


def test_an_import_path_is_not_taken_for_an_id(clients):
    for service, path in (
        ("enrollment", "/enrollment/v1/applications/import"),
        ("certification", "/certification/v1/qualifications/import"),
    ):
        for method in ("GET", "PUT"):
            r = clients[service].request(method, path, headers=ADMIN)
            assert (r.status_code, r.headers.get("allow")) == (405, "POST"), (method, path, r.text)


def test_metrics_answer_the_content_type_they_document(clients):
    client = clients["attendance"]
    documented = set(client.app.openapi()["paths"]["/metrics"]["get"]["responses"]["200"]["content"])
    answered = client.get("/metrics").headers["content-type"].split(";")[0]
    assert any(c.split(";")[0] == answered for c in documented), (answered, documented)


def test_session_times_match_their_schema(clients):
    import re
    from datetime import date, timedelta

    e = clients["enrollment"]
    staff = token(["admissions"], ["*"])
    spec = e.app.openapi()["components"]["schemas"]["SessionOut"]["properties"]["start"]
    assert "format" not in spec  # OpenAPI's format: time is RFC 3339 full-time, with an offset
    code = f"c{uuid.uuid4().hex[:8]}"
    e.post("/enrollment/v1/campuses", json={"code": code, "name": "Times"}, headers=staff)
    programme = e.post(
        "/enrollment/v1/programmes",
        headers=staff,
        json={"code": f"P{uuid.uuid4().hex[:8]}", "title": "t", "campus": code, "track": "other", "total_hours": 100},
    ).json()
    today = date.today()
    cohort = e.post(
        "/enrollment/v1/cohorts",
        headers=staff,
        json={
            "programme_id": programme["id"],
            "label": "t",
            "capacity": 5,
            "application_opens": str(today),
            "application_closes": str(today + timedelta(3)),
            "start_date": str(today + timedelta(7)),
            "end_date": str(today + timedelta(20)),
            "timetable": {"start": "09:30", "end": "17:00"},
        },
    )
    assert cohort.status_code == 201, cohort.text
    sessions = e.get(f"/enrollment/v1/cohorts/{cohort.json()['id']}/sessions", headers=staff).json()
    assert sessions and {(s["start"], s["end"]) for s in sessions} == {("09:30:00", "17:00:00")}
    assert all(re.fullmatch(spec["pattern"], s["start"]) for s in sessions)
