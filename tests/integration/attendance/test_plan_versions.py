"""Plan versions on the real broker and PostgreSQL: a slim trainee.enrolled waits for its cohort's plan, the
earlier form is still applied, and a timetable change made in enrollment re-rates attendance."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from shared import events
from shared.events import topic_for
from tests.integration.attendance.helpers import Enrollment, snapshot, today
from tests.support import EventReader, running_service, token, wait_until

API = "/attendance/v1"


@pytest.fixture(scope="module")
def services(kafka, databases):
    with (
        running_service("enrollment", database_url=databases.new("enr"), kafka_bootstrap_servers=kafka) as enr,
        running_service("attendance", database_url=databases.new("att"), kafka_bootstrap_servers=kafka) as att,
    ):
        yield enr, att


@pytest.fixture
def outside(kafka):
    sender = Enrollment(kafka)
    yield sender
    sender.close()


def roster_of(att, cohort_id: str, headers: dict) -> list[dict]:
    r = att.get(f"{API}/cohorts/{cohort_id}/roster", headers=headers)
    return r.json() if r.status_code == 200 else []


def test_a_slim_enrollment_is_held_until_its_cohort_arrives_and_the_earlier_form_is_applied_as_before(
    services, outside
):
    _enr, att = services
    campus = f"pv{uuid.uuid4().hex[:6]}"
    staff = token(["instructor"], [campus])
    t = today()
    snap = snapshot(campus, t - timedelta(days=7), t + timedelta(days=20))
    early = uuid.uuid4()
    outside.send(
        events.TRAINEE_ENROLLED,
        events.TraineeEnrolled(
            trainee_id=early,
            enrollment_id=uuid.uuid4(),
            name="Held Trainee",
            birth_date=date(1994, 5, 17),
            cohort_id=snap.cohort_id,
            campus=campus,
            programme_code=snap.programme_code,
            plan_version=1,
            enrolled_on=snap.start_date,
        ),
    )
    old_form = outside.enroll(snapshot(campus, t - timedelta(days=7), t + timedelta(days=20)), name="Old Form")
    # the earlier form brings its own plan: applied at once, as before
    wait_until(lambda: att.get(f"{API}/trainees/{old_form}/attendance", headers=staff).status_code == 200)
    assert att.get(f"{API}/cohorts/{snap.cohort_id}", headers=staff).status_code == 404  # the slim one is held
    outside.publish(snap)
    [row] = wait_until(lambda: roster_of(att, str(snap.cohort_id), staff))
    assert (row["trainee_id"], row["name"]) == (str(early), "Held Trainee")


def test_a_session_cancelled_in_enrollment_leaves_attendance_s_plan_and_the_allowance(services, kafka):
    enr, att = services
    campus = f"tt{uuid.uuid4().hex[:6]}"
    admissions, staff = token(["admissions"], [campus]), token(["instructor"], [campus])
    assert (
        enr.post("/enrollment/v1/campuses", headers=admissions, json={"code": campus, "name": "C"}).status_code == 201
    )
    programme = enr.post(
        "/enrollment/v1/programmes",
        headers=admissions,
        json={"code": f"P-{campus}", "title": "Welding", "campus": campus, "track": "other", "total_hours": 300},
    ).json()
    t = today()
    start = t.replace(day=1) if t.day > 3 else t  # this month's sessions so far, and today's
    cohort = enr.post(
        "/enrollment/v1/cohorts",
        headers=admissions,
        json={
            "programme_id": programme["id"],
            "label": "tt",
            "capacity": 5,
            "application_opens": (start - timedelta(days=30)).isoformat(),
            "application_closes": (t + timedelta(days=1)).isoformat(),
            "start_date": start.isoformat(),
            "end_date": (t + timedelta(days=20)).isoformat(),
            "timetable": {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "09:00", "end": "18:00", "break_minutes": 60},
        },
    ).json()
    applicant = enr.post(
        "/enrollment/v1/applicants",
        headers=admissions,
        json={"campus": campus, "name": "Kim", "birth_date": "1994-05-17", "residency_status": "city_resident"},
    ).json()
    app = enr.post(
        "/enrollment/v1/applications",
        headers=admissions,
        json={"applicant_id": applicant["id"], "cohort_id": cohort["id"], "score": 80},
    ).json()
    assert enr.post(f"/enrollment/v1/cohorts/{cohort['id']}/selection", headers=admissions).status_code == 200
    accepted = enr.post(
        f"/enrollment/v1/applications/{app['id']}/accept",
        headers=admissions,
        json={"joined_on": start.isoformat()},  # there from the first day: every session so far is theirs
    )
    assert accepted.status_code == 200, accepted.text
    trainee = applicant["id"]
    wait_until(lambda: roster_of(att, cohort["id"], staff))
    sessions = att.get(f"{API}/cohorts/{cohort['id']}/sessions", headers=staff).json()
    upto_today = [s for s in sessions if s["date"] <= t.isoformat()]
    for s in upto_today:  # attended every day up to and including today (8 hours: a full day each)
        # today's session may not have started yet (marks wait for the start): an excuse entered ahead counts too
        mark = (
            {"mark": "present", "reason": "x"}
            if s["date"] < t.isoformat()
            else {"mark": "excused", "reason": "x", "reason_code": "reserve_forces", "evidence_ref": "MND-1"}
        )
        r = att.put(f"{API}/sessions/{s['id']}/marks/{trainee}", headers=staff, json=mark)
        assert r.status_code == 200, r.text

    def standing() -> dict:
        return att.get(f"{API}/trainees/{trainee}/attendance", headers=staff).json()[0]

    before = standing()
    month = next(m for m in before["months"] if m["month"] == t.isoformat()[:7])
    reader = EventReader(kafka, topic_for("enrollment"))
    changed = enr.post(
        f"/enrollment/v1/cohorts/{cohort['id']}/timetable-changes",
        headers=admissions,
        json={"kind": "cancel", "session_date": t.isoformat(), "reason": "campus closed"},
    )
    assert changed.status_code == 201, changed.text
    assert changed.json()["plan_version"] == 2
    sent = reader.wait_for(
        lambda evs: any(e.type == events.COHORT_RESCHEDULED and e.data["cohort_id"] == cohort["id"] for e in evs)
    )
    [rescheduled] = [e for e in sent if e.type == events.COHORT_RESCHEDULED and e.data["cohort_id"] == cohort["id"]]
    assert rescheduled.data["change"]["kind"] == "cancel" and rescheduled.data["reason"] == "campus closed"
    assert len(rescheduled.data["sessions"]) == len(sessions) - 1 and rescheduled.data["plan_version"] == 2
    after = wait_until(lambda: (s := standing())["scheduled_days"] == before["scheduled_days"] - 1 and s)
    assert after["attended_days"] == before["attended_days"] - 1
    month_after = next(m for m in after["months"] if m["month"] == t.isoformat()[:7])
    assert (month_after["attended_days"], month_after["allowance_krw"]) == (
        month["attended_days"] - 1,
        min((month["attended_days"] - 1) * 5_800, 116_000),
    )
    # the cancelled session takes no new marks
    today_session = next(s for s in sessions if s["date"] == t.isoformat())
    again = att.put(
        f"{API}/sessions/{today_session['id']}/marks/{trainee}",
        headers=staff,
        json={"mark": "excused", "reason": "x", "reason_code": "reserve_forces", "evidence_ref": "MND-2"},
    )  # an excuse, which may come before the start: only the cancellation refuses it
    assert again.status_code == 422 and "session.cancelled" in [e["rule"] for e in again.json()["errors"]]
