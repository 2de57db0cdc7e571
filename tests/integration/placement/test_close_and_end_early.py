"""A posting closed takes no new internship; an internship ended early is paid for the days worked and is never
converted. On PostgreSQL through the real app, graduates arriving by trainee.completed on the broker."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.placement.domain.calendar import add_months
from tests.integration.placement.test_internships_and_bad_input import STAFF, employer_and_posting, new_graduate
from tests.support import running_service, token

P = "/placement/v1"


@pytest.fixture(scope="module")
def svc(kafka, databases):
    with running_service("placement", database_url=databases.new("plc_close"), kafka_bootstrap_servers=kafka) as c:
        yield c


def campus() -> str:
    return f"w{uuid.uuid4().hex[:8]}"


def rules(r) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["rule"] for e in r.json()["errors"]]


def test_a_closed_posting_takes_no_new_match(svc, outside):
    c = campus()
    graduate = new_graduate(svc, outside, c)
    _, posting = employer_and_posting(svc, c)
    assert [m["graduate_id"] for m in svc.get(f"{P}/postings/{posting}/matches", headers=STAFF).json()] == [graduate]

    elsewhere = token(["placement"], ["elsewhere"])
    assert svc.post(f"{P}/postings/{posting}/close", headers=elsewhere, json={}).status_code == 404
    closed = svc.post(f"{P}/postings/{posting}/close", headers=STAFF, json={"reason": "both openings filled"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("closed", "both openings filled")
    again = svc.post(f"{P}/postings/{posting}/close", headers=STAFF)  # no body: the reason is optional
    assert again.status_code == 200 and again.json() == closed.json()

    listed = svc.get(f"{P}/postings", headers=STAFF, params={"campus": c}).json()["items"]
    assert [(p["id"], p["status"]) for p in listed] == [(posting, "closed")]
    assert svc.get(f"{P}/postings", headers=STAFF, params={"campus": c, "status": "open"}).json()["total"] == 0

    matches = svc.get(f"{P}/postings/{posting}/matches", headers=STAFF)
    assert (matches.status_code, rules(matches)) == (409, ["posting.closed"])
    start = svc.post(
        f"{P}/internships",
        headers=STAFF,
        json={"posting_id": posting, "graduate_id": graduate, "start_date": date.today().isoformat()},
    )
    assert (start.status_code, rules(start)) == (409, ["posting.closed"])
    assert svc.get(f"{P}/internships", headers=STAFF, params={"graduate_id": graduate}).json()["total"] == 0


def test_an_internship_ended_early_is_paid_for_the_days_worked_and_never_converted(svc, outside):
    c = campus()
    graduate = new_graduate(svc, outside, c)
    _, posting = employer_and_posting(svc, c)
    today = date.today()
    start = add_months(today, -1) - timedelta(days=10)  # one internship month in full, then 11 days
    r = svc.post(
        f"{P}/internships",
        headers=STAFF,
        json={"posting_id": posting, "graduate_id": graduate, "start_date": str(start)},
    )
    assert r.status_code == 201, r.text
    internship = r.json()
    assert internship["total_pay"] == 7_170_372

    future = svc.post(
        f"{P}/internships/{internship['id']}/end",
        headers=STAFF,
        json={"date": str(today + timedelta(days=1)), "reason": "moved"},
    )
    assert (future.status_code, rules(future)) == (422, ["date.future"])
    no_reason = svc.post(f"{P}/internships/{internship['id']}/end", headers=STAFF, json={"date": str(today)})
    assert no_reason.status_code == 422 and "body.reason" in {e["field"] for e in no_reason.json()["errors"]}

    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"date": str(today), "reason": "the intern moved to another city"}
    ended = svc.post(f"{P}/internships/{internship['id']}/end", headers={**STAFF, **key}, json=body)
    assert ended.status_code == 200, ended.text
    out = ended.json()
    second_month = add_months(start, 1)
    days_in_month = (add_months(start, 2) - second_month).days
    worked = (today - second_month).days + 1
    assert (out["status"], out["ended_on"], out["end_reason"]) == ("ended_early", str(today), body["reason"])
    assert out["total_pay"] == 2_390_124 + 2_390_124 * worked // days_in_month
    assert out["end_date"] == internship["end_date"]  # the planned end stays
    assert svc.get(f"{P}/internships/{internship['id']}", headers=STAFF).json()["total_pay"] == out["total_pay"]
    replay = svc.post(f"{P}/internships/{internship['id']}/end", headers={**STAFF, **key}, json=body)
    assert replay.status_code == 200 and replay.json() == out

    twice = svc.post(f"{P}/internships/{internship['id']}/end", headers=STAFF, json=body)
    assert (twice.status_code, rules(twice)) == (409, ["internship.not-active"])
    convert = svc.post(f"{P}/internships/{internship['id']}/convert", headers=STAFF, json={"hire_date": str(today)})
    assert (convert.status_code, rules(convert)) == (409, ["internship.ended-early"])
    assert svc.get(f"{P}/incentives", headers=STAFF, params={"campus": c}).json()["total"] == 0
    ended_list = svc.get(f"{P}/internships", headers=STAFF, params={"campus": c, "status": "ended_early"}).json()
    assert [i["id"] for i in ended_list["items"]] == [internship["id"]]
    # free again: a match for the posting, and another internship may start
    assert graduate in [m["graduate_id"] for m in svc.get(f"{P}/postings/{posting}/matches", headers=STAFF).json()]
