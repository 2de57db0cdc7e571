"""Rotating QR check-in on the real broker and PostgreSQL: the kiosk's code, a trainee's check-in with it, and
each refusal named (expired, another session's, malformed, missing)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from datetime import time as clock

import pytest

from services.attendance.domain import qr
from services.attendance.settings import LOCAL_QR_SECRET
from tests.integration.attendance.helpers import SEOUL, snapshot, today
from tests.support import running_service, token, wait_until

API = "/attendance/v1"
SECRET = "integration-qr-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def svc(kafka, databases):
    with running_service(
        "attendance", database_url=databases.new("att_qr"), kafka_bootstrap_servers=kafka, qr_secret=SECRET
    ) as client:
        yield client


def now_slot() -> tuple[clock, clock]:
    """A session running now (today, from a few minutes ago to the end of the day)."""
    now = datetime.now(SEOUL).replace(tzinfo=None)
    begin = max(now - timedelta(minutes=5), datetime.combine(now.date(), clock(0, 0))).time()
    return begin.replace(second=0, microsecond=0), clock(23, 59)


def two_sessions_now(svc, enrollment):
    """Two cohorts of one campus, each with a session now; a trainee on the first."""
    campus = f"q{uuid.uuid4().hex[:8]}"
    staff = token(["instructor"], [campus])
    snaps = [
        snapshot(campus, today(), today() + timedelta(days=7), days=[today()], slot=now_slot(), hours=1.0)
        for _ in range(2)
    ]
    trainee = enrollment.enroll(snaps[0])
    enrollment.enroll(snaps[1])
    sessions = []
    for snap in snaps:
        got = wait_until(
            lambda: (
                svc.get(f"{API}/cohorts/{snap.cohort_id}/sessions", headers=staff).json()
                if svc.get(f"{API}/cohorts/{snap.cohort_id}/roster", headers=staff).status_code == 200
                and svc.get(f"{API}/cohorts/{snap.cohort_id}/roster", headers=staff).json()
                else None
            )
        )
        sessions.append(got[0])
    return campus, staff, trainee, sessions


def test_kiosk_code_checks_a_trainee_in_and_each_bad_code_is_named(svc, enrollment):
    campus, staff, trainee, (mine, theirs) = two_sessions_now(svc, enrollment)
    me = token(["trainee"], [], sub=str(trainee))

    shown = svc.get(f"{API}/sessions/{mine['id']}/qr-code", headers=staff)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["session_id"] == mine["id"] and len(body["code"]) == 8 and body["window_s"] == 30
    issued, refresh, until = (datetime.fromisoformat(body[k]) for k in ("issued_at", "refresh_at", "valid_until"))
    assert refresh - issued == timedelta(seconds=30) and until - refresh == timedelta(seconds=30)
    assert issued <= datetime.now(SEOUL) < refresh + timedelta(seconds=2)

    def check_in(code, session=mine, headers=me):
        payload = {"trainee_id": str(trainee), "method": "qr"}
        if code is not None:
            payload["code"] = code
        return svc.post(f"{API}/sessions/{session['id']}/check-ins", headers=headers, json=payload)

    def refused(response, rule):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        [error] = response.json()["errors"]
        assert (error["rule"], error["field"]) == (rule, "code")
        return error["message"]

    # refusals first: nothing is recorded by them
    policy = qr.QrPolicy(secret=SECRET.encode())
    stale = qr.code_for(policy, uuid.UUID(mine["id"]), policy.window(time.time()) - 4)  # two minutes old
    assert "expired" in refused(check_in(stale), "check-in.code-expired")
    other = svc.get(f"{API}/sessions/{theirs['id']}/qr-code", headers=staff).json()["code"]
    assert "not shown for this session" in refused(check_in(other), "check-in.code-foreign-session")
    local_default = qr.code_for(
        qr.QrPolicy(secret=LOCAL_QR_SECRET.encode()), uuid.UUID(mine["id"]), policy.window(time.time())
    )
    refused(check_in(local_default), "check-in.code-foreign-session")  # made with another secret
    refused(check_in("12ab"), "check-in.code-malformed")
    refused(check_in(None), "check-in.code-required")
    mark = svc.get(f"{API}/sessions/{mine['id']}/marks/{trainee}", headers=me)
    assert mark.status_code == 404 or mark.json()["punches"] == [], "a refused code recorded nothing"

    ok = check_in(body["code"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["mark"] == "present" and ok.json()["punches"][0]["method"] == "qr"
    # a code of another session's cohort is not the trainee's session at all: 404, as before
    assert (
        svc.post(
            f"{API}/sessions/{theirs['id']}/check-ins", headers=me, json={"trainee_id": str(trainee), "code": other}
        ).status_code
        == 404
    )


def test_staff_entries_need_no_code_but_a_wrong_one_given_is_refused(svc, enrollment):
    campus, staff, trainee, (mine, _) = two_sessions_now(svc, enrollment)
    assert (
        svc.post(
            f"{API}/sessions/{mine['id']}/check-ins", headers=staff, json={"trainee_id": str(trainee), "method": "card"}
        ).status_code
        == 200
    )
    wrong = svc.post(
        f"{API}/sessions/{mine['id']}/check-ins",
        headers=staff,
        json={"trainee_id": str(trainee), "method": "qr", "code": "00000000"},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["rule"] in (
        "check-in.code-foreign-session",
        "check-in.code-expired",
    )


def test_only_staff_of_the_campus_read_the_code(svc, enrollment):
    campus, staff, trainee, (mine, _) = two_sessions_now(svc, enrollment)
    me = token(["trainee"], [], sub=str(trainee))
    assert svc.get(f"{API}/sessions/{mine['id']}/qr-code", headers=me).status_code == 403
    assert (
        svc.get(f"{API}/sessions/{mine['id']}/qr-code", headers=token(["instructor"], ["elsewhere"])).status_code == 404
    )
    assert svc.get(f"{API}/sessions/{uuid.uuid4()}/qr-code", headers=staff).status_code == 404


def test_a_trainee_reads_its_own_sessions_and_marks(svc, enrollment):
    campus, staff, trainee, (mine, _) = two_sessions_now(svc, enrollment)
    me = token(["trainee"], [], sub=str(trainee))
    [row] = svc.get(
        f"{API}/trainees/{trainee}/marks",
        headers=me,
        params={"date_from": today().isoformat(), "date_to": today().isoformat()},
    ).json()
    assert (row["session_id"], row["mark"], row["programme_title"]) == (mine["id"], None, "Special Welding")
    code = svc.get(f"{API}/sessions/{mine['id']}/qr-code", headers=staff).json()["code"]
    assert (
        svc.post(
            f"{API}/sessions/{mine['id']}/check-ins", headers=me, json={"trainee_id": str(trainee), "code": code}
        ).status_code
        == 200
    )
    [row] = svc.get(f"{API}/trainees/{trainee}/marks", headers=me).json()
    assert row["mark"] == "present" and row["check_in_at"]
    assert (
        svc.get(f"{API}/trainees/{trainee}/marks", headers=token(["trainee"], [], sub=str(uuid.uuid4()))).status_code
        == 404
    )
    assert svc.get(f"{API}/trainees/{trainee}/marks", headers=token(["instructor"], ["elsewhere"])).status_code == 404
    assert len(svc.get(f"{API}/trainees/{trainee}/marks", headers=staff).json()) == 1
    assert svc.get(f"{API}/trainees/{trainee}/marks", headers=me, params={"date_from": "nope"}).status_code == 422
