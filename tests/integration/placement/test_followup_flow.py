"""Events -> graduates and follow-ups -> worklist, contacts, outcomes -> outcome.recorded and the report.

Real broker, real PostgreSQL. Attendance and certification are played by a Kafka producer.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from shared import events
from shared.events import topic_for
from tests.support import EventReader, running_service, token, wait_until

STAFF = token(["placement"], ["*"], sub="officer-lee")


@pytest.fixture(scope="module")
def svc(kafka, databases):
    with running_service("placement", database_url=databases.new("plc_flow"), kafka_bootstrap_servers=kafka) as c:
        yield c


@pytest.fixture(scope="module")
def placement_events(kafka):
    reader = EventReader(kafka, topic_for("placement"))
    yield reader
    reader.close()


def completed(
    campus: str,
    done: date,
    trainee: uuid.UUID | None = None,
    cohort: uuid.UUID | None = None,
    programme: str = "WU-DATA-2024",
    quals: list[str] | None = None,
) -> dict:
    return dict(
        trainee_id=str(trainee or uuid.uuid4()),
        cohort_id=str(cohort or uuid.uuid4()),
        campus=campus,
        name="Park Jiyoung",
        programme_code=programme,
        qualification_codes=quals or ["BIGDATA-ENG"],
        completion_date=done.isoformat(),
        final_rate=0.93,
    )


def graduate(svc, trainee_id, headers=STAFF):
    return svc.get(f"/placement/v1/graduates/{trainee_id}", headers=headers)


def wait_graduate(svc, trainee_id):
    return wait_until(lambda: (r := graduate(svc, trainee_id)).status_code == 200 and r.json(), timeout=40)


def campus() -> str:
    return f"c{uuid.uuid4().hex[:8]}"


def test_completion_schedules_follow_ups_at_1_3_6_12_months(svc, outside):
    data = completed(campus(), date(2024, 7, 31))
    outside.send(events.TRAINEE_COMPLETED, data)
    g = wait_graduate(svc, data["trainee_id"])
    assert [(f["months"], f["due_date"]) for f in g["followups"]] == [
        (1, "2024-08-31"),
        (3, "2024-10-31"),
        (6, "2025-01-31"),
        (12, "2025-07-31"),
    ]
    assert g["completion_date"] == "2024-07-31" and g["early_employment"] is False


def test_redelivered_and_repeated_completion_make_no_duplicate_follow_ups(svc, outside):
    c = campus()
    data = completed(c, date(2024, 3, 15))
    first = outside.send(events.TRAINEE_COMPLETED, data)
    outside.send(events.TRAINEE_COMPLETED, data, event=first)  # the same event delivered again
    outside.send(events.TRAINEE_COMPLETED, data)  # the same fact under a new event id
    marker = completed(c, date(2024, 3, 15))  # sent last on another key: once it is in, the others were handled
    outside.send(events.TRAINEE_COMPLETED, marker)
    wait_graduate(svc, marker["trainee_id"])
    g = wait_graduate(svc, data["trainee_id"])
    assert len(g["followups"]) == 4
    page = svc.get(
        "/placement/v1/followups", params={"campus": c, "status": "overdue", "on": "2026-01-01"}, headers=STAFF
    ).json()
    assert page["total"] == 8  # 4 each for two graduates, not 12


def test_qualification_arriving_before_the_graduate_is_kept_and_attached(svc, outside):
    trainee = uuid.uuid4()
    outside.send(
        events.QUALIFICATION_OBTAINED,
        dict(trainee_id=str(trainee), qualification_code="BIGDATA-ENG", grade="engineer", date="2024-05-10"),
    )
    # Different keys may arrive in any order: let the qualification land first, then complete.
    outside.send(events.TRAINEE_COMPLETED, completed(campus(), date(2024, 4, 30), trainee=trainee))
    g = wait_graduate(svc, trainee)
    assert g["first_qualification"] == "2024-05-10"
    assert [q["qualification_code"] for q in g["qualifications"]] == ["BIGDATA-ENG"]


def test_early_employment_withdrawal_counts_as_an_employed_completer(svc, outside):
    c, trainee, other = campus(), uuid.uuid4(), uuid.uuid4()
    base = dict(enrollment_id=str(uuid.uuid4()), cohort_id=str(uuid.uuid4()), campus=c, programme_code="JB-WELD")
    outside.send(events.TRAINEE_WITHDRAWN, dict(base, trainee_id=str(other), date="2024-05-02", reason="personal"))
    outside.send(
        events.TRAINEE_WITHDRAWN,
        dict(base, trainee_id=str(trainee), date="2024-05-02", reason="early_employment", early_employment=True),
    )
    g = wait_graduate(svc, trainee)
    assert g["early_employment"] is True and g["completion_date"] == "2024-05-02"
    assert [(o["category"], o["source"], o["as_of"]) for o in g["outcomes"]] == [
        ("employed", "early_employment", "2024-05-02")
    ]
    assert len(g["followups"]) == 4
    assert graduate(svc, other).status_code == 404  # a withdrawal for another reason is not followed
    report = svc.get(
        "/placement/v1/reports/employment", params={"campus": c, "as_of": "2024-06-01"}, headers=STAFF
    ).json()
    assert report["total"]["employment_rate"] == {"numerator": 1, "denominator": 1, "rate": 1.0, "percent": 100}


def test_worklist_by_campus_officer_and_status_then_contact_and_outcome(svc, outside, placement_events):
    c = campus()
    mine, theirs = completed(c, date(2024, 1, 31)), completed(c, date(2024, 1, 31))
    for d in (mine, theirs):
        outside.send(events.TRAINEE_COMPLETED, d)
    for d in (mine, theirs):
        wait_graduate(svc, d["trainee_id"])
    r = svc.put(f"/placement/v1/graduates/{mine['trainee_id']}/officer", json={"officer": "officer-lee"}, headers=STAFF)
    assert r.status_code == 200 and r.json()["officer"] == "officer-lee"

    # 1-month follow-up due 2024-02-29: in the list from 02-22 (lead 7 days), overdue after 03-14 (grace 14).
    def wl(**params):
        return svc.get("/placement/v1/followups", params={"campus": c, **params}, headers=STAFF).json()

    assert wl(on="2024-02-21")["total"] == 0
    due = wl(on="2024-02-22")
    assert due["total"] == 2 and {i["status"] for i in due["items"]} == {"due"}
    assert wl(on="2024-03-15", status="overdue")["total"] == 2
    me = wl(on="2024-03-15", officer="me")
    assert me["total"] == 1 and me["items"][0]["graduate_id"] == mine["trainee_id"]
    assert wl(on="2024-03-15", unassigned="true")["items"][0]["graduate_id"] == theirs["trainee_id"]

    fid = me["items"][0]["id"]
    r = svc.post(
        f"/placement/v1/followups/{fid}/contacts",
        headers=STAFF,
        json={"attempted_at": "2024-03-01T10:00:00+09:00", "channel": "phone", "result": "no_answer"},
    )
    assert r.status_code == 201 and r.json()["officer"] == "officer-lee"
    svc.post(
        f"/placement/v1/followups/{fid}/contacts",
        headers=STAFF,
        json={"attempted_at": "2024-03-02T10:00:00+09:00", "channel": "sms", "result": "reached"},
    )
    log = svc.get(f"/placement/v1/followups/{fid}/contacts", headers=STAFF).json()
    assert [(a["channel"], a["result"]) for a in log] == [("phone", "no_answer"), ("sms", "reached")]

    r = svc.post(
        "/placement/v1/outcomes",
        headers=STAFF,
        json={
            "graduate_id": mine["trainee_id"],
            "category": "employed",
            "as_of": "2024-03-02",
            "employment": {
                "employer_name": "Hanbit Robotics",
                "start_date": "2024-02-19",
                "employment_type": "regular",
                "insured": True,
                "monthly_wage": 2_600_000,
            },
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["closed_followups"] == [1] and r.json()["months_after_completion"] == 1
    assert wl(on="2024-03-15", officer="me")["total"] == 0
    assert wl(on="2024-03-15", status="done")["total"] == 1
    placement_events.wait_for(
        lambda evs: any(e.type == events.OUTCOME_RECORDED and e.data["trainee_id"] == mine["trainee_id"] for e in evs)
    )
    ev = [e for e in placement_events.of_type("outcome.recorded.v1") if e.data["trainee_id"] == mine["trainee_id"]][0]
    assert ev.data["outcome"] == "employed" and ev.data["as_of"] == "2024-03-02"
    assert ev.data["months_after_completion"] == 1 and ev.subject == mine["trainee_id"]


def test_recording_outcomes_moves_the_rate_exactly_as_defined(svc, outside):
    c = campus()
    grads = [completed(c, date(2024, 1, 31)) for _ in range(4)]
    for d in grads:
        outside.send(events.TRAINEE_COMPLETED, d)
    for d in grads:
        wait_graduate(svc, d["trainee_id"])

    def rate():
        r = svc.get("/placement/v1/reports/employment", params={"campus": c, "as_of": "2024-12-31"}, headers=STAFF)
        return r.json()["total"]["employment_rate"]

    def record(i, category, as_of="2024-06-30", **emp):
        body = {"graduate_id": grads[i]["trainee_id"], "category": category, "as_of": as_of}
        if emp:
            body["employment"] = emp
        r = svc.post("/placement/v1/outcomes", json=body, headers=STAFF)
        assert r.status_code == 201, r.text

    assert (rate()["numerator"], rate()["denominator"]) == (0, 4)  # no outcome yet: still targets
    record(
        0,
        "employed",
        employer_name="A",
        start_date="2024-03-01",
        employment_type="contract",
        insured=True,
        monthly_wage=2_400_000,
    )
    assert (rate()["numerator"], rate()["denominator"]) == (1, 4)
    record(1, "military_service")
    assert (rate()["numerator"], rate()["denominator"]) == (1, 3)
    record(2, "self_employed")
    assert rate() == {"numerator": 2, "denominator": 3, "rate": 0.666667, "percent": 67}
    record(0, "seeking_work", as_of="2024-11-30")  # lost the job later: the latest outcome counts
    assert (rate()["numerator"], rate()["denominator"]) == (1, 3)
