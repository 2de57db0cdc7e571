"""Attendance end to end on the real broker and PostgreSQL: events in, HTTP, marks, warnings, completion out."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from openpyxl import load_workbook

from tests.integration.attendance.helpers import SEOUL, local, snapshot, today, weekdays
from tests.support import running_service, token, wait_until

API = "/attendance/v1"


@pytest.fixture(scope="module")
def svc(kafka, databases):
    with running_service(
        "attendance", database_url=databases.new("att"), kafka_bootstrap_servers=kafka, closer_interval_s=1.0
    ) as client:
        yield client


def campus() -> str:
    return f"c{uuid.uuid4().hex[:8]}"


def staff(code: str, role: str = "instructor") -> dict[str, str]:
    return token([role], [code])


def roster_of(svc, snap, headers):
    r = svc.get(f"{API}/cohorts/{snap.cohort_id}/roster", headers=headers)
    return r.json() if r.status_code == 200 else []


def sessions_of(svc, snap, headers):
    return svc.get(f"{API}/cohorts/{snap.cohort_id}/sessions", headers=headers).json()


def wait_roster(svc, snap, headers, n):
    return wait_until(lambda: len(roster_of(svc, snap, headers)) == n and roster_of(svc, snap, headers))


def test_roster_from_events_in_any_order(svc, enrollment):
    code = campus()
    snap = snapshot(code, today() - timedelta(days=14), today() + timedelta(days=30))
    h = staff(code)
    a = enrollment.enroll(snap, name="Lee Jiwoo")  # enrolled (with the snapshot) before cohort.published
    enrollment.publish(snap)
    b = enrollment.enroll(snap, name="Park Sora")
    rows = wait_roster(svc, snap, h, 2)
    assert {r["trainee_id"] for r in rows} == {str(a), str(b)}
    assert len(sessions_of(svc, snap, h)) == len(snap.sessions)
    cohort = svc.get(f"{API}/cohorts/{snap.cohort_id}", headers=h).json()
    assert (cohort["roster_size"], cohort["completion_threshold"]) == (2, 0.8)
    # staff of another campus do not see it
    assert svc.get(f"{API}/cohorts/{snap.cohort_id}/roster", headers=staff("elsewhere")).status_code == 404


def test_marks_from_times_and_bad_input(svc, enrollment):
    code = campus()
    start = today() - timedelta(days=14)
    snap = snapshot(code, start, today() + timedelta(days=30))
    h = staff(code)
    trainee = enrollment.enroll(snap)
    wait_roster(svc, snap, h, 1)
    sessions = sessions_of(svc, snap, h)
    past = [s for s in sessions if s["date"] < today().isoformat()]
    s1, s2, s3, s4 = past[:4]

    def punch(s, kind, hh, mm=0, who=trainee):
        d = s["date"]
        return svc.post(
            f"{API}/sessions/{s['id']}/check-ins",
            headers=h,
            json={"trainee_id": str(who), "kind": kind, "method": "card", "at": f"{d}T{hh:02d}:{mm:02d}:00+09:00"},
        )

    assert punch(s1, "in", 9, 10).json()["mark"] == "present"  # within the 10-minute grace
    assert punch(s1, "in", 9, 10).status_code == 200  # a duplicate is harmless
    assert punch(s2, "in", 9, 11).json()["mark"] == "late"
    assert punch(s3, "in", 9).json()["mark"] == "present"
    assert punch(s3, "out", 11).json()["mark"] == "absent"  # no return yet: 7 of 8 hours missed so far
    r = punch(s3, "in", 12)
    assert r.json()["mark"] == "out" and len(r.json()["punches"]) == 3
    assert punch(s4, "in", 13).json()["mark"] == "absent"  # half of the 8 hours missed

    # bad input: each a problem naming the cause
    stranger = punch(s1, "in", 9, who=uuid.uuid4())
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["rule"] == "roster.not-on-roster"
    assert stranger.headers["content-type"].startswith("application/problem+json")
    late_night = punch(s1, "in", 21)
    assert late_night.status_code == 422 and late_night.json()["errors"][0]["rule"] == "check-in.outside-window"
    other_campus = svc.post(
        f"{API}/sessions/{s1['id']}/check-ins",
        headers=staff("elsewhere"),
        json={"trainee_id": str(trainee), "kind": "in"},
    )
    assert other_campus.status_code == 404
    me = token(["trainee"], [], sub=str(trainee))
    mine_past = svc.post(f"{API}/sessions/{s1['id']}/check-ins", headers=me, json={"trainee_id": str(trainee)})
    assert mine_past.status_code == 422 and mine_past.json()["errors"][0]["rule"] == "check-in.outside-window"
    someone_else = svc.post(f"{API}/sessions/{s1['id']}/check-ins", headers=me, json={"trainee_id": str(uuid.uuid4())})
    assert someone_else.status_code == 403 and someone_else.json()["code"] == "check-in-self-only"
    bad_reason = svc.put(
        f"{API}/sessions/{s4['id']}/marks/{trainee}",
        headers=h,
        json={"mark": "excused", "reason": "holiday", "reason_code": "holiday", "evidence_ref": "x"},
    )
    assert bad_reason.status_code == 422 and bad_reason.json()["errors"][0]["rule"] == "excuse.reason-code"
    no_evidence = svc.put(
        f"{API}/sessions/{s4['id']}/marks/{trainee}",
        headers=h,
        json={"mark": "excused", "reason": "drill", "reason_code": "reserve_forces"},
    )
    assert no_evidence.json()["errors"][0]["rule"] == "excuse.evidence"
    garbage = svc.post(f"{API}/sessions/{s1['id']}/check-ins", headers=h, json={"trainee_id": "not-a-uuid"})
    assert garbage.status_code == 422 and garbage.json()["code"] == "validation-error"

    # an excuse, then a correction: the history keeps who, when, why and the previous value
    ok = svc.put(
        f"{API}/sessions/{s4['id']}/marks/{trainee}",
        headers=h,
        json={
            "mark": "excused",
            "reason": "reserve-forces drill",
            "reason_code": "reserve_forces",
            "evidence_ref": "MND-2027-0042",
        },
    )
    assert ok.status_code == 200 and ok.json()["mark"] == "excused"
    svc.put(
        f"{API}/sessions/{s4['id']}/marks/{trainee}",
        headers=h,
        json={"mark": "present", "reason": "the drill was cancelled"},
    )
    detail = svc.get(f"{API}/sessions/{s4['id']}/marks/{trainee}", headers=me).json()
    assert [(c["previous_mark"], c["new_mark"]) for c in detail["history"]] == [
        ("absent", "excused"),
        ("excused", "present"),
    ]
    assert detail["history"][0]["evidence_ref"] == "MND-2027-0042" and detail["history"][1]["changed_by"]

    roster = svc.get(f"{API}/sessions/{s2['id']}/roster", headers=h).json()
    assert roster["rows"][0]["mark"] == "late"


def test_a_session_ahead_takes_only_an_excuse_planned_in_advance(svc, enrollment):
    code = campus()
    start = today() - timedelta(days=7)
    snap = snapshot(code, start, today() + timedelta(days=30))
    h = staff(code)
    trainee = enrollment.enroll(snap)
    wait_roster(svc, snap, h, 1)
    ahead = [s for s in sessions_of(svc, snap, h) if s["date"] > today().isoformat()][-1]  # weeks ahead
    url = f"{API}/sessions/{ahead['id']}/marks/{trainee}"
    refused = svc.put(url, headers=h, json={"mark": "absent", "reason": "announced a trip"})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [(e["rule"], e["field"]) for e in refused.json()["errors"]] == [("mark.session-not-started", "mark")]
    assert svc.get(url, headers=h).json()["source"] == "none"  # nothing stored
    notice = {"mark": "excused", "reason": "reserve-forces notice", "reason_code": "reserve_forces"}
    assert svc.put(url, headers=h, json={**notice, "evidence_ref": "MND-2027-0042"}).json()["mark"] == "excused"
    detail = svc.get(url, headers=h).json()
    assert (detail["evidence_ref"], [c["new_mark"] for c in detail["history"]]) == ("MND-2027-0042", ["excused"])


def test_trainee_checks_in_only_during_its_session(svc, enrollment):
    code = campus()
    now = datetime.now(SEOUL).replace(tzinfo=None)
    begin = (
        max(now - timedelta(minutes=5), datetime.combine(now.date(), time(0, 0)))
        .time()
        .replace(second=0, microsecond=0)
    )
    snap = snapshot(
        code,
        today(),
        today() + timedelta(days=7),
        days=[today()],
        slot=(begin, time(23, 59)),
        hours=8.0 if now.hour < 15 else 1.0,
    )
    trainee = enrollment.enroll(snap)
    wait_roster(svc, snap, staff(code), 1)
    [s] = sessions_of(svc, snap, staff(code))
    me = token(["trainee"], [], sub=str(trainee))
    shown = svc.get(f"{API}/sessions/{s['id']}/qr-code", headers=staff(code)).json()["code"]
    r = svc.post(
        f"{API}/sessions/{s['id']}/check-ins",
        headers=me,
        json={"trainee_id": str(trainee), "method": "qr", "at": "2000-01-01T09:00:00+09:00", "code": shown},
    )
    assert r.status_code == 200 and r.json()["mark"] == "present"  # arrived within the grace
    assert r.json()["punches"][0]["at"][:10] == today().isoformat()  # a trainee cannot choose the time
    stranger = token(["trainee"], [], sub=str(uuid.uuid4()))
    assert svc.post(
        f"{API}/sessions/{s['id']}/check-ins", headers=stranger, json={"trainee_id": str(trainee)}
    ).status_code in (403, 404)


def test_bulk_marks_rate_allowance_and_sheet(svc, enrollment):
    code = campus()
    start = today() - timedelta(days=60)
    end = today() - timedelta(days=1)
    # a cohort that ended yesterday would be closed by the background job: keep it open with a later end date
    snap = snapshot(code, start, today() + timedelta(days=60), days=weekdays(start, end))
    h = staff(code)
    trainees = [enrollment.enroll(snap, name=f"T{i}") for i in range(3)]
    wait_roster(svc, snap, h, 3)
    sessions = sessions_of(svc, snap, h)
    month = sessions[0]["date"][:7]
    first_month = [s for s in sessions if s["date"].startswith(month)]
    good, lates, bad = trainees
    for i, s in enumerate(sessions):
        items = [
            {"trainee_id": str(good), "kind": "in", "at": local_date(s, 8, 55)},
            {"trainee_id": str(good), "kind": "out", "at": local_date(s, 18)},
            {"trainee_id": str(lates), "kind": "in", "at": local_date(s, 9, 30 if i < 3 else 9)},
        ]
        if i % 2 == 0:
            items.append({"trainee_id": str(bad), "kind": "in", "at": local_date(s, 9)})
        rep = svc.post(f"{API}/sessions/{s['id']}/check-ins/bulk", headers=h, json={"items": items}).json()
        assert rep["refused"] == 0 and rep["accepted"] == len(items)
    again = svc.post(
        f"{API}/sessions/{sessions[0]['id']}/check-ins/bulk",
        headers=h,
        json={
            "items": [
                {"trainee_id": str(good), "kind": "in", "at": local_date(sessions[0], 8, 55)},
                {"trainee_id": str(uuid.uuid4()), "kind": "in"},
            ]
        },
    ).json()
    assert (again["duplicates"], again["refused"], again["rows"][1]["rule"]) == (1, 1, "roster.not-on-roster")

    [g] = svc.get(f"{API}/trainees/{good}/attendance", headers=h).json()
    assert (g["current_rate"], g["attended_days"], g["at_risk"]) == (1.0, len(sessions), False)
    [late] = svc.get(f"{API}/trainees/{lates}/attendance", headers=h).json()
    assert (late["lates_early_leaves_outs"], late["converted_absences"], late["attended_days"]) == (
        3,
        1,
        len(sessions) - 1,
    )
    [b] = svc.get(f"{API}/trainees/{bad}/attendance", headers=h).json()
    assert b["at_risk"] and b["current_rate"] < 0.8
    m = g["months"][0]
    assert m["month"] == month and m["allowance_krw"] == min(len(first_month) * 5_800, 116_000)
    assert b["months"][0]["allowance_krw"] == 0  # about 50%: a month below 80% pays nothing

    sheet = svc.get(f"{API}/cohorts/{snap.cohort_id}/sheet", headers=h, params={"month": month}).json()
    assert len(sheet["rows"]) == 3 and len(sheet["dates"]) == len(first_month)
    xlsx = svc.get(f"{API}/cohorts/{snap.cohort_id}/sheet", headers=h, params={"month": month, "format": "xlsx"})
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][-1] == "allowance_krw" and len(rows) == 4
    assert svc.get(f"{API}/cohorts/{snap.cohort_id}/sheet", headers=h, params={"month": "2027-13"}).status_code == 422

    # unrecorded sessions are absences: the background sweep (every second here) flags the trainee
    risky = wait_until(
        lambda: (page := svc.get(f"{API}/at-risk", headers=h, params={"campus": code}).json())["total"] == 1 and page
    )
    assert [r["trainee_id"] for r in risky["items"]] == [str(bad)]
    assert svc.get(f"{API}/at-risk", headers=staff("elsewhere")).json()["total"] == 0


def local_date(s, hh, mm=0):
    from datetime import date

    return local(date.fromisoformat(s["date"]), hh, mm)


def test_at_risk_once_per_crossing(svc, enrollment, out):
    code = campus()
    start = today() - timedelta(days=30)
    days = weekdays(start, today() + timedelta(days=30))
    snap = snapshot(code, start, today() + timedelta(days=40), days=days)
    h = staff(code)
    trainee = enrollment.enroll(snap)
    wait_roster(svc, snap, h, 1)
    past = [s for s in sessions_of(svc, snap, h) if s["date"] < today().isoformat()]
    for s in past:  # all present (on the way, the unrecorded past sessions may warn once)
        svc.post(
            f"{API}/sessions/{s['id']}/check-ins/bulk",
            headers=h,
            json={"items": [{"trainee_id": str(trainee), "kind": "in", "at": local_date(s, 9)}]},
        )
    [st] = svc.get(f"{API}/trainees/{trainee}/attendance", headers=h).json()
    assert not st["at_risk"] and st["current_rate"] == 1.0
    import time as _t

    # Only warnings made from here on count: one the bulk above made may still be on its way to the topic
    # (waiting a fixed time for it, then counting, failed when the relay took longer).
    since = datetime.now(UTC)

    def mine(events):  # noqa: ANN001, ANN202
        return [
            e
            for e in events
            if e.type.endswith("at_risk.v1") and e.data["trainee_id"] == str(trainee) and e.time >= since
        ]

    for s in past[:4]:  # four absences: below the threshold
        assert (
            svc.put(
                f"{API}/sessions/{s['id']}/marks/{trainee}",
                headers=h,
                json={"mark": "absent", "reason": "did not come"},
            ).status_code
            == 200
        )
    for s in past[4:7]:  # more absences: still at risk, no second warning
        svc.put(f"{API}/sessions/{s['id']}/marks/{trainee}", headers=h, json={"mark": "absent", "reason": "no show"})
    out.wait_for(lambda evs: len(mine(evs)) >= 1)
    for s in past[:7]:  # excused: climbs back above, re-armed
        svc.put(
            f"{API}/sessions/{s['id']}/marks/{trainee}",
            headers=h,
            json={"mark": "excused", "reason": "interview", "reason_code": "job_interview", "evidence_ref": "E-1"},
        )
    [st] = svc.get(f"{API}/trainees/{trainee}/attendance", headers=h).json()
    assert not st["at_risk"]
    for s in past[:7]:  # falls again: a second crossing, a second warning
        svc.put(f"{API}/sessions/{s['id']}/marks/{trainee}", headers=h, json={"mark": "absent", "reason": "wrong"})
    out.wait_for(lambda evs: len(mine(evs)) >= 2)
    _t.sleep(2)
    out.poll()
    warnings = mine(out.events)
    assert len(warnings) == 2  # once per crossing: not on every further absence
    assert warnings[0].data["threshold"] == 0.8 and warnings[0].data["current_rate"] < 0.8
    assert warnings[0].data["campus"] == code


def test_cohort_end_decides_completion_once(svc, enrollment, out):
    code = campus()
    start = today() - timedelta(days=21)
    snap = snapshot(code, start, today() + timedelta(days=5), days=weekdays(start, today() - timedelta(days=1)))
    h = staff(code)
    done, failed, left = (enrollment.enroll(snap, name=n) for n in ("Done", "Failed", "Left"))
    wait_roster(svc, snap, h, 3)
    sessions = sessions_of(svc, snap, h)
    for i, s in enumerate(sessions):
        items = [{"trainee_id": str(done), "kind": "in", "at": local_date(s, 9)}]
        if i < len(sessions) // 2:
            items.append({"trainee_id": str(failed), "kind": "in", "at": local_date(s, 9)})
        svc.post(f"{API}/sessions/{s['id']}/check-ins/bulk", headers=h, json={"items": items})
    enrollment.withdraw(snap, left, today() - timedelta(days=3))
    wait_until(lambda: any(r["status"] == "withdrawn" for r in roster_of(svc, snap, h)))
    r = svc.post(f"{API}/cohorts/{snap.cohort_id}/close", headers=h)
    assert r.status_code == 200 and (r.json()["completed"], r.json()["not_completed"]) == (1, 2)
    again = svc.post(f"{API}/cohorts/{snap.cohort_id}/close", headers=h)
    assert again.status_code == 409 and again.json()["errors"][0]["rule"] == "cohort.already-closed"
    closed = svc.post(
        f"{API}/sessions/{sessions[0]['id']}/check-ins",
        headers=h,
        json={"trainee_id": str(done), "at": local_date(sessions[0], 9)},
    )
    assert closed.status_code == 409 and closed.json()["errors"][0]["rule"] == "cohort.closed"

    mine = lambda evs: [
        e
        for e in evs
        if e.data.get("cohort_id") == str(snap.cohort_id)  # noqa: E731
        and "completed" in e.type
    ]
    out.wait_for(lambda evs: len(mine(evs)) >= 3)
    by_trainee = {e.data["trainee_id"]: e for e in mine(out.events)}
    assert by_trainee[str(done)].type.endswith("trainee.completed.v1")
    assert by_trainee[str(done)].data["final_rate"] == 1.0 and by_trainee[str(done)].data["name"] == "Done"
    assert by_trainee[str(done)].data["qualification_codes"] == ["WELD-CRAFTSMAN"]
    assert by_trainee[str(failed)].data["reason"] == "below_threshold"
    assert by_trainee[str(left)].data["reason"] == "withdrawn"
    assert len(mine(out.events)) == 3


def test_background_job_closes_ended_cohorts(svc, enrollment, out):
    code = campus()
    start = today() - timedelta(days=20)
    snap = snapshot(code, start, today() - timedelta(days=1))
    trainee = enrollment.enroll(snap)
    mine = lambda evs: [
        e
        for e in evs
        if e.data.get("cohort_id") == str(snap.cohort_id)  # noqa: E731
        and "completed" in e.type
    ]
    out.wait_for(lambda evs: len(mine(evs)) >= 1, timeout=30)
    [event] = mine(out.events)
    assert event.type.endswith("not_completed.v1") and event.data["trainee_id"] == str(trainee)
    assert event.data["final_rate"] == 0.0
    cohort = svc.get(f"{API}/cohorts/{snap.cohort_id}", headers=staff(code)).json()
    assert cohort["closed_on"] == snap.end_date.isoformat()


def test_redelivered_events_have_no_second_effect(svc, kafka, enrollment):
    code = campus()
    snap = snapshot(code, today() - timedelta(days=7), today() + timedelta(days=30))
    h = staff(code)
    enrollment.publish(snap)
    a = enrollment.enroll(snap)
    b = enrollment.enroll(snap)
    enrollment.withdraw(snap, b, today())
    # a's enrollment and b's withdrawal travel on different keys (partitions): wait for both
    wait_until(
        lambda: (
            sorted((r["trainee_id"], r["status"]) for r in roster_of(svc, snap, h))
            == sorted([(str(a), "active"), (str(b), "withdrawn")])
        )
    )
    before = (roster_of(svc, snap, h), sessions_of(svc, snap, h))

    def duplicates() -> float:
        text = svc.get("/metrics").text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("trainingops_events_consumed_total") and 'result="duplicate"' in line
        )

    seen = duplicates()
    n = enrollment.redeliver_all()
    wait_until(lambda: duplicates() >= seen + n)
    assert (roster_of(svc, snap, h), sessions_of(svc, snap, h)) == before
    assert {r["trainee_id"] for r in before[0]} == {str(a), str(b)}


def test_a_card_tapped_many_times_at_once_makes_one_mark(svc, enrollment):
    """Concurrent first check-ins of one trainee (FOR UPDATE locks no row that is not there yet)."""
    from concurrent.futures import ThreadPoolExecutor

    code = campus()
    snap = snapshot(code, today() - timedelta(days=7), today() + timedelta(days=30))
    h = staff(code)
    trainee = enrollment.enroll(snap)
    wait_roster(svc, snap, h, 1)
    s = next(x for x in sessions_of(svc, snap, h) if x["date"] < today().isoformat())
    day = datetime.fromisoformat(s["date"]).date()
    taps = [{"trainee_id": str(trainee), "kind": "in", "method": "card", "at": local(day, 8, 55)}] * 6 + [
        {"trainee_id": str(trainee), "kind": "out", "method": "card", "at": local(day, 18, 5)}
    ] * 6
    with ThreadPoolExecutor(len(taps)) as pool:
        statuses = list(
            pool.map(
                lambda body: svc.post(f"{API}/sessions/{s['id']}/check-ins", headers=h, json=body).status_code, taps
            )
        )
    assert statuses == [200] * len(taps)
    mark = svc.get(f"{API}/sessions/{s['id']}/marks/{trainee}", headers=h).json()
    assert mark["mark"] == "present"
    assert sorted(p["kind"] for p in mark["punches"]) == ["in", "out"]  # each reading once


def test_two_kiosks_sending_the_same_trainees_at_once_both_count(svc, enrollment):
    """Overlapping bulk batches, neither finding a mark yet: both are taken, every reading once."""
    from concurrent.futures import ThreadPoolExecutor

    code = campus()
    snap = snapshot(code, today() - timedelta(days=7), today() + timedelta(days=30))
    h = staff(code)
    trainees = [enrollment.enroll(snap) for _ in range(30)]
    wait_roster(svc, snap, h, 30)
    s = next(x for x in sessions_of(svc, snap, h) if x["date"] < today().isoformat())
    day = datetime.fromisoformat(s["date"]).date()
    arrivals = {
        "items": [{"trainee_id": str(t), "kind": "in", "method": "card", "at": local(day, 8, 50)} for t in trainees]
    }
    departures = {
        "items": [{"trainee_id": str(t), "kind": "out", "method": "card", "at": local(day, 18, 10)} for t in trainees]
    }
    batches = [arrivals, departures] * 3
    with ThreadPoolExecutor(len(batches)) as pool:
        reports = list(
            pool.map(lambda body: svc.post(f"{API}/sessions/{s['id']}/check-ins/bulk", headers=h, json=body), batches)
        )
    assert [r.status_code for r in reports] == [200] * len(batches), [r.text[:200] for r in reports]
    assert sum(r.json()["accepted"] for r in reports) == 60  # each reading taken once, the rest duplicates
    for t in trainees[:5]:
        mark = svc.get(f"{API}/sessions/{s['id']}/marks/{t}", headers=h).json()
        assert mark["mark"] == "present" and sorted(p["kind"] for p in mark["punches"]) == ["in", "out"]
