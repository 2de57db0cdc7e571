"""A full admissions round through HTTP, PostgreSQL, the outbox and the real broker."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from shared.events import CONTENT_TYPE
from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import EventReader, running_service, token


@pytest.fixture(scope="module")
def client(kafka, databases):
    with running_service("enrollment", database_url=databases.new("enr"), kafka_bootstrap_servers=kafka) as c:
        yield c


@pytest.fixture()
def staff():
    return token(["admissions"], ["*"])


def test_a_full_round_puts_the_four_event_types_on_the_topic(client, kafka, staff):
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus), capacity=3)
    people = [
        new_applicant(client, staff, campus, priority_categories=["disabled"] if i == 0 else []) for i in range(5)
    ]
    outsider = new_applicant(client, staff, campus, residency_status="non_resident")
    for i, person in enumerate(people):
        apply(client, staff, person, cohort, score=90 - i * 10)  # 90, 80, 70, 60, 50
    ineligible = apply(client, staff, outsider, cohort, score=99)
    assert ineligible["status"] == "ineligible"
    assert [r["rule"] for r in ineligible["reasons"]] == ["eligibility.residency"]

    selection_cid = f"selection-{cohort}"
    r = client.post(f"{E}/cohorts/{cohort}/selection", headers={**staff, "X-Correlation-ID": selection_cid})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "cohort_id": cohort,
        "capacity": 3,
        "priority_quota": 1,
        "selected": 3,
        "selected_within_capacity": 3,
        "selected_above_capacity": 0,
        "priority_selected": 1,
        "above_capacity": 0,
        "waitlisted": 2,
    }
    apps = {
        a["applicant_id"]: a
        for a in client.get(f"{E}/applications", params={"cohort_id": cohort, "limit": 50}, headers=staff).json()[
            "items"
        ]
    }
    # the person's id as the other services name it, on every answer that carries an applicant
    assert all(a["trainee_id"] == a["applicant_id"] for a in apps.values())
    assert client.get(f"{E}/applicants/{people[0]}", headers=staff).json()["trainee_id"] == people[0]
    # the priority applicant (score 90) would win anyway; the quota is met, then 80 and 70 by score
    assert [apps[p]["status"] for p in people] == ["selected", "selected", "selected", "waitlisted", "waitlisted"]
    assert apps[people[3]]["waitlist_position"] == 1

    accepted = client.post(f"{E}/applications/{apps[people[0]]['id']}/accept", headers=staff)
    assert accepted.status_code == 200, accepted.text
    declined = client.post(f"{E}/applications/{apps[people[1]]['id']}/decline", headers=staff)
    assert declined.json()["status"] == "declined"
    promoted = client.get(f"{E}/applications/{apps[people[3]]['id']}", headers=staff).json()
    assert promoted["status"] == "selected"
    assert promoted["reasons"][0]["rule"] == "selection.promoted"

    enrollment_id = accepted.json()["enrollment_id"]
    today = datetime.now(ZoneInfo("Asia/Seoul")).date()
    ahead = client.post(
        f"{E}/enrollments/{enrollment_id}/withdraw",
        json={"date": str(today + timedelta(days=20)), "reason": "early_employment"},  # a job starting later
        headers=staff,
    )
    assert ahead.status_code == 422 and ahead.headers["content-type"].startswith("application/problem+json")
    assert [(e["rule"], e["field"]) for e in ahead.json()["errors"]] == [("withdrawal.date-in-future", "date")]
    assert client.get(f"{E}/enrollments/{enrollment_id}", headers=staff).json()["status"] == "enrolled"
    r = client.post(
        f"{E}/enrollments/{enrollment_id}/withdraw",
        json={"date": str(today), "reason": "personal"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn" and r.json()["trainee_id"] == people[0]
    # withdrawn before the start: the next on the waitlist gets the seat
    assert client.get(f"{E}/applications/{apps[people[4]]['id']}", headers=staff).json()["status"] == "selected"

    stats = client.get(f"{E}/cohorts/{cohort}/stats", headers=staff).json()
    assert stats["applications"] == 6 and stats["ineligible"] == 1
    assert stats["competition_ratio"] == 2.0
    assert stats["seats_taken"] == 3 and stats["withdrawn"] == 1 and stats["declined"] == 1

    reader = EventReader(kafka, "trainingops.enrollment.events")
    try:
        mine = lambda evs: [
            e
            for e in evs
            if e.data.get("cohort_id") == cohort  # noqa: E731
            or e.data.get("cohort", {}).get("cohort_id") == cohort
        ]
        reader.wait_for(lambda evs: any(e.type.endswith("trainee.withdrawn.v1") for e in mine(evs)))
        events = mine(reader.events)
        types = {e.type for e in events}
        assert types == {
            "trainingops.enrollment.cohort.published.v1",
            "trainingops.enrollment.application.decided.v1",
            "trainingops.enrollment.trainee.enrolled.v1",
            "trainingops.enrollment.trainee.withdrawn.v1",
        }
        assert sum(1 for e in events if e.type.endswith("trainee.withdrawn.v1")) == 1  # not the refused one
        published = next(e for e in events if e.type.endswith("cohort.published.v1"))
        assert published.subject == cohort and published.source == "/services/enrollment"
        assert published.data["completion_threshold"] == 0.8 and len(published.data["sessions"]) > 0
        enrolled = next(e for e in events if e.type.endswith("trainee.enrolled.v1"))
        assert enrolled.subject == people[0] and enrolled.data["cohort_id"] == cohort
        # the slim form: the cohort's keys and plan version; the plan travels on cohort.published
        assert enrolled.data["plan_version"] == published.data["plan_version"] == 1
        assert "cohort" not in enrolled.data and enrolled.data["campus"] == published.data["campus"]
        assert enrolled.correlationid  # carried from the HTTP request
        # selection builds its events on a worker thread: they still carry the request's correlation id
        decided = [
            e
            for e in events
            if e.type.endswith("application.decided.v1")
            and e.data["decision"] in ("selected", "waitlisted")
            and not e.data["reasons"][0]["code"].endswith("promoted")
        ]
        assert len(decided) == 5 and {e.correlationid for e in decided} == {selection_cid}
        for event, key, headers in zip(reader.events, reader.keys, reader.raw_headers):
            if event in events:
                expected = (
                    event.data["cohort_id"] if event.type.endswith("cohort.published.v1") else event.data["trainee_id"]
                )
                assert key == expected
                assert ("content-type", CONTENT_TYPE.encode()) in headers
        assert len({e.id for e in events}) == len(events)  # nothing twice
    finally:
        reader.close()


def test_accept_is_idempotent_with_a_key(client, staff):
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus), capacity=1)
    app = apply(client, staff, new_applicant(client, staff, campus), cohort)
    client.post(f"{E}/cohorts/{cohort}/selection", headers=staff)
    key = {"Idempotency-Key": f"accept-{uuid.uuid4()}"}
    first = client.post(f"{E}/applications/{app['id']}/accept", headers={**staff, **key})
    again = client.post(f"{E}/applications/{app['id']}/accept", headers={**staff, **key})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other_key = client.post(
        f"{E}/applications/{app['id']}/accept", headers={**staff, "Idempotency-Key": f"other-{uuid.uuid4()}"}
    )
    assert other_key.status_code == 409
    assert other_key.json()["errors"][0]["rule"] == "seat.already-accepted"
    enrollments = client.get(f"{E}/enrollments", params={"cohort_id": cohort}, headers=staff).json()
    assert enrollments["total"] == 1


def test_leaving_care_applicants_are_selected_above_capacity(client, staff):
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus), capacity=1)
    regular = [new_applicant(client, staff, campus) for _ in range(2)]
    care = new_applicant(client, staff, campus, leaving_care=True, birth_date="2005-01-01")
    for i, p in enumerate(regular + [care]):
        apply(client, staff, p, cohort, score=50 - i)
    result = client.post(f"{E}/cohorts/{cohort}/selection", headers=staff).json()
    assert result["above_capacity"] == 1 and result["waitlisted"] == 1
    stats = client.get(f"{E}/cohorts/{cohort}/stats", headers=staff).json()
    assert stats["seats_taken"] == 1 and stats["above_capacity"] == 1
    # the selection's answer and the stats count the seats the same way, under the same names
    counts = ("selected", "selected_within_capacity", "selected_above_capacity", "priority_selected", "waitlisted")
    assert [result[k] for k in counts] == [stats[k] for k in counts] == [2, 1, 1, 0, 1]


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode()


def test_bulk_import_reports_every_row(client, staff):
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus, max_age=39))
    header = ["name", "birth_date", "residency_status", "gender", "priority_categories", "score"]
    rows = [
        header,
        ["Lee", "1996-02-03", "city_resident", "female", "single_parent;disabled", "77"],
        ["Park", "1970-01-01", "city_resident", "male", "", "60"],  # too old: kept, ineligible
        ["Choi", "not-a-date", "city_resident", "", "", "50"],  # refused: bad date
        ["Jung", "1999-09-09", "martian", "", "", "50"],  # refused: unknown residency
        ["Kang", "2000-01-01", "city_resident", "", "", "150"],
    ]  # refused: score out of range
    r = client.post(
        f"{E}/applications/import",
        data={"cohort_id": cohort},
        files={"file": ("applications.csv", _csv(rows), "text/csv")},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["imported"], report["refused"]) == (5, 2, 3)
    by_row = {row["row"]: row for row in report["report"]}
    assert by_row[2]["application_status"] == "submitted"
    assert by_row[2]["trainee_id"] == by_row[2]["applicant_id"] and by_row[4]["trainee_id"] is None
    assert by_row[3]["application_status"] == "ineligible"
    assert by_row[3]["errors"][0]["rule"] == "eligibility.max-age"
    assert by_row[4]["status"] == "refused" and by_row[4]["errors"][0]["field"] == "birth_date"
    assert by_row[5]["errors"][0]["field"] == "residency_status"
    assert by_row[6]["errors"][0]["field"] == "score"
    assert client.get(f"{E}/applications", params={"cohort_id": cohort}, headers=staff).json()["total"] == 2

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    ws.append(["Yoon", "1998-07-07", "marriage_immigrant", "female", "", 88])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        f"{E}/applications/import",
        data={"cohort_id": cohort},
        files={
            "file": (
                "applications.xlsx",
                buf.getvalue(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        },
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 1 and r.json()["report"][0]["application_status"] == "submitted"


def test_a_large_selection_publishes_every_decision_once_in_waitlist_order(client, kafka, staff):
    """Sixty decisions: the outbox's one-statement path and the events built on a worker thread."""
    campus = new_campus(client, staff)
    cohort = new_cohort(client, staff, new_programme(client, staff, campus), capacity=10)
    apps = [apply(client, staff, new_applicant(client, staff, campus), cohort, score=i % 37) for i in range(60)]
    cid = f"large-selection-{cohort}"
    r = client.post(f"{E}/cohorts/{cohort}/selection", headers={**staff, "X-Correlation-ID": cid})
    assert r.status_code == 200 and r.json()["waitlisted"] == 50, r.text
    listed = client.get(f"{E}/applications", params={"cohort_id": cohort, "limit": 100}, headers=staff).json()
    decided = {a["id"]: (a["status"], a["waitlist_position"]) for a in listed["items"]}
    assert set(decided) == {a["id"] for a in apps}

    reader = EventReader(kafka, "trainingops.enrollment.events")
    try:
        mine = lambda evs: [
            e
            for e in evs
            if e.type.endswith("application.decided.v1")  # noqa: E731
            and e.data["cohort_id"] == cohort
        ]
        reader.wait_for(lambda evs: len(mine(evs)) >= 60)
        events = mine(reader.events)
    finally:
        reader.close()
    assert len(events) == 60 and len({e.id for e in events}) == 60
    assert {e.correlationid for e in events} == {cid}
    assert {e.data["application_id"]: (e.data["decision"], e.data["waitlist_position"]) for e in events} == decided
    # every waitlist position given once (the events are keyed by trainee, so partitions interleave them)
    waitlisted = [e.data["waitlist_position"] for e in events if e.data["decision"] == "waitlisted"]
    assert sorted(waitlisted) == list(range(1, 51))
