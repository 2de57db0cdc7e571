"""The kernel's own rules: settings, tokens, envelopes, spreadsheets."""

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from shared import events
from shared.auth import Principal, TokenVerifier, mint_token
from shared.problems import Problem
from shared.settings import LOCAL_JWT_SECRET, ServiceSettings
from shared.spreadsheets import read_rows, write_csv, write_xlsx


def test_the_local_jwt_secret_is_refused_outside_local_runs():
    with pytest.raises(ValidationError, match="local JWT secret is refused"):
        ServiceSettings(environment="production")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        ServiceSettings(environment="production", jwt_secret="short")
    with pytest.raises(ValidationError, match="RS256 needs"):
        ServiceSettings(environment="production", jwt_algorithm="RS256")
    assert ServiceSettings(environment="production", jwt_secret="x" * 40).jwt_secret == "x" * 40
    assert ServiceSettings().jwt_secret == LOCAL_JWT_SECRET


def test_service_variables_win_over_platform_variables(monkeypatch):
    from services.enrollment.settings import Settings

    monkeypatch.setenv("TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS", "platform:9092")
    assert Settings().kafka_bootstrap_servers == "platform:9092"
    monkeypatch.setenv("ENROLLMENT_KAFKA_BOOTSTRAP_SERVERS", "own:9092")
    assert Settings().kafka_bootstrap_servers == "own:9092"
    monkeypatch.setenv("ENROLLMENT_PRIORITY_QUOTA_PERCENT", "40")
    assert Settings().priority_quota_percent == 40
    assert Settings().database_url.endswith("enrollment.db")


def test_tokens_carry_roles_and_campuses_and_are_checked():
    verifier = TokenVerifier(ServiceSettings())
    p = verifier.verify(mint_token("u1", ["finance"], ["jungbu", "dongbu"]))
    assert p == Principal("u1", frozenset({"finance"}), frozenset({"jungbu", "dongbu"}))
    assert p.sees_campus("jungbu") and not p.sees_campus("bukbu")
    assert p.campus_filter() == frozenset({"jungbu", "dongbu"})
    assert Principal("hq", frozenset({"auditor"}), frozenset({"*"})).campus_filter() is None
    with pytest.raises(Problem) as err:
        verifier.verify(mint_token("u1", ["wizard"]))
    assert err.value.status == 401
    with pytest.raises(Problem) as err:
        p.check_campus("bukbu", "cohort", "c1")
    assert err.value.status == 404


def test_events_are_cloudevents_keyed_by_trainee_or_cohort():
    trainee, cohort = uuid.uuid4(), uuid.uuid4()
    event, key = events.build_event(
        events.TRAINEE_WITHDRAWN,
        {
            "trainee_id": trainee,
            "enrollment_id": uuid.uuid4(),
            "cohort_id": cohort,
            "campus": "jungbu",
            "programme_code": "P",
            "date": date(2027, 2, 1),
            "reason": "early_employment",
            "early_employment": True,
        },
    )
    assert key == str(trainee) and event.subject == str(trainee)
    assert event.specversion == "1.0" and event.source == "/services/enrollment"
    again = events.CloudEvent.from_bytes(event.to_bytes())
    assert again == event and isinstance(again.parsed(), events.TraineeWithdrawn)
    published, key = events.build_event(
        events.COHORT_PUBLISHED,
        {
            "cohort_id": cohort,
            "programme_code": "P",
            "programme_title": "T",
            "campus": "c",
            "track": "other",
            "total_hours": 10,
            "completion_threshold": 0.8,
            "start_date": date(2027, 1, 1),
            "end_date": date(2027, 2, 1),
        },
    )
    assert key == str(cohort)
    with pytest.raises(ValidationError):
        events.build_event(events.CLAIM_PAID, {"claim_id": "not-a-uuid"})


def test_every_event_type_follows_the_naming_of_the_contract():
    for event_type, spec in events.EVENTS.items():
        assert event_type.startswith(f"trainingops.{spec.producer}.") and event_type.endswith(".v1")
        assert spec.topic == f"trainingops.{spec.producer}.events"


def test_spreadsheets_round_trip_csv_and_xlsx():
    csv_bytes = write_csv(["name", "amount"], [["김민지", 14500], ["Lee", None]])
    assert read_rows(csv_bytes, "x.csv") == [{"name": "김민지", "amount": "14500"}, {"name": "Lee", "amount": ""}]
    xlsx = write_xlsx({"Claims": (["name", "amount"], [["김민지", 14500]])})
    assert read_rows(xlsx, "x.xlsx") == [{"name": "김민지", "amount": "14500"}]
    with pytest.raises(Problem):
        read_rows(b"junk", "x.xlsx")
    with pytest.raises(Problem):
        read_rows(b"a,b", "x.pdf")


def test_spreadsheet_cells_are_safe():
    from shared.spreadsheets import safe_cell, safe_title

    assert safe_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("a\x00b\x1fc") == "abc"
    assert safe_cell(-5) == -5 and safe_cell("김민지") == "김민지"
    assert safe_title("a/b[c]:*?" + "x" * 40) == ("abc" + "x" * 40)[:31]
    assert read_rows(write_xlsx({"S\x01": (["h"], [["v\x02=1"]])}), "x.xlsx") == [{"h": "v=1"}]


def test_an_unexpected_error_is_a_problem_with_the_correlation_id():
    from fastapi import APIRouter
    from fastapi.testclient import TestClient
    from sqlalchemy import MetaData

    from shared.app import ServiceSpec, create_service_app

    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app = create_service_app(ServiceSpec("demo", "demo", "demo", MetaData(), [router]), ServiceSettings())
    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: no database needed here
    r = client.get("/demo/v1/boom", headers={"X-Correlation-ID": "req-42"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["correlation_id"] == "req-42" and r.json()["code"] == "internal-error"
    assert "a bug" not in r.text
    assert r.headers["x-correlation-id"] == "req-42"
