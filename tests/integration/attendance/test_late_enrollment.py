"""Enrollments that reach attendance late, on the real broker and PostgreSQL: an enrollment handled after its
cohort closed is decided at once and once; a trainee who joined after the start is measured from that day."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared import events
from tests.integration.attendance.helpers import local, snapshot, today, weekdays
from tests.support import running_service, token, wait_until

API = "/attendance/v1"


@pytest.fixture(scope="module")
def svc(kafka, databases):
    with running_service(
        "attendance", database_url=databases.new("att-late"), kafka_bootstrap_servers=kafka, closer_interval_s=1.0
    ) as client:
        yield client


def roster(svc, snap, headers) -> dict[str, dict]:
    r = svc.get(f"{API}/cohorts/{snap.cohort_id}/roster", headers=headers)
    return {row["trainee_id"]: row for row in r.json()} if r.status_code == 200 else {}


def decisions(evs: list[events.CloudEvent], snap, trainee: uuid.UUID) -> list[events.CloudEvent]:
    return [
        e
        for e in evs
        if e.type in (events.TRAINEE_COMPLETED, events.TRAINEE_NOT_COMPLETED)
        and e.data["cohort_id"] == str(snap.cohort_id)
        and e.data["trainee_id"] == str(trainee)
    ]


def duplicates(svc) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in svc.get("/metrics").text.splitlines()
        if line.startswith("trainingops_events_consumed_total") and 'result="duplicate"' in line
    )


def test_an_enrollment_reaching_a_closed_cohort_is_decided_once(svc, enrollment, out):
    code = f"c{uuid.uuid4().hex[:8]}"
    h = token(["instructor"], [code])
    end = today() - timedelta(days=3)
    snap = snapshot(code, end - timedelta(days=20), end)
    on_time = enrollment.enroll(snap, name="On Time")
    # the background job closes the ended cohort and decides the trainee on its roster
    out.wait_for(lambda evs: len(decisions(evs, snap, on_time)) == 1)
    assert svc.get(f"{API}/cohorts/{snap.cohort_id}", headers=h).json()["closed_on"] == end.isoformat()

    late = enrollment.enroll(snap, name="Late Lee", enrolled_on=today())  # accepted after the end
    out.wait_for(lambda evs: len(decisions(evs, snap, late)) == 1)
    [decision] = decisions(out.events, snap, late)
    assert decision.type == events.TRAINEE_NOT_COMPLETED
    assert (decision.data["date"], decision.data["final_rate"]) == (end.isoformat(), 0.0)
    rows = roster(svc, snap, h)
    assert (rows[str(late)]["outcome"], rows[str(late)]["late_decision"]) == ("not_completed", True)
    assert rows[str(late)]["decided_at"] is not None
    assert (rows[str(on_time)]["outcome"], rows[str(on_time)]["late_decision"]) == ("not_completed", False)
    [standing] = svc.get(f"{API}/trainees/{late}/attendance", headers=h).json()
    assert (standing["outcome"], standing["late_decision"], standing["scheduled_days"]) == ("not_completed", True, 0)
    refused = svc.post(f"{API}/cohorts/{snap.cohort_id}/close", headers=h)
    assert refused.status_code == 409 and refused.json()["errors"][0]["rule"] == "cohort.already-closed"

    # redelivery of both enrollments, then a new event for the late trainee: nothing is decided a second time
    seen = duplicates(svc)
    n = enrollment.redeliver_all()
    wait_until(lambda: duplicates(svc) >= seen + n)
    enrollment.enroll(snap, late, name="Lee Late", enrolled_on=today())
    wait_until(lambda: roster(svc, snap, h)[str(late)]["name"] == "Lee Late")
    sentinel = enrollment.enroll(snap, name="Sentinel", enrolled_on=today())  # its decision comes after any other
    out.wait_for(lambda evs: len(decisions(evs, snap, sentinel)) == 1)
    assert len(decisions(out.events, snap, late)) == 1 and len(decisions(out.events, snap, on_time)) == 1


def test_a_late_joiner_is_measured_from_the_join_date_and_not_marked_before_it(svc, enrollment):
    code = f"c{uuid.uuid4().hex[:8]}"
    h = token(["instructor"], [code])
    start = today() - timedelta(days=14)
    days = weekdays(start, today() - timedelta(days=1))
    snap = snapshot(code, start, today() + timedelta(days=20), days=days)
    joined = days[5]
    trainee = enrollment.enroll(snap, name="Joined Later", enrolled_on=joined)
    wait_until(lambda: str(trainee) in roster(svc, snap, h))
    sessions = svc.get(f"{API}/cohorts/{snap.cohort_id}/sessions", headers=h).json()
    by_date = {s["date"]: s for s in sessions}
    before = by_date[days[2].isoformat()]
    r = svc.post(
        f"{API}/sessions/{before['id']}/check-ins",
        headers=h,
        json={"trainee_id": str(trainee), "at": local(days[2], 9)},
    )
    assert r.status_code == 422 and [e["rule"] for e in r.json()["errors"]] == ["roster.before-joining"]
    r = svc.put(
        f"{API}/sessions/{before['id']}/marks/{trainee}",
        headers=h,
        json={"mark": "present", "reason": "entered late"},
    )
    assert r.status_code == 422 and [e["rule"] for e in r.json()["errors"]] == ["roster.before-joining"]
    for d in days[5:]:
        s = by_date[d.isoformat()]
        r = svc.post(
            f"{API}/sessions/{s['id']}/check-ins", headers=h, json={"trainee_id": str(trainee), "at": local(d, 9)}
        )
        assert r.status_code == 200, r.text
    [standing] = svc.get(f"{API}/trainees/{trainee}/attendance", headers=h).json()
    held = len(days) - 5
    assert (standing["held_days"], standing["attended_days"], standing["absences"]) == (held, held, 0)
    assert (standing["current_rate"], standing["at_risk"]) == (1.0, False)
    assert sum(m["scheduled_days"] for m in standing["months"]) == standing["scheduled_days"]
