"""Capacity holds under concurrency on PostgreSQL: 50 concurrent seat requests."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import serving, token

CAPACITY = 10


@pytest.fixture(scope="module")
def base_url(kafka, databases):
    with serving(
        "enrollment",
        database_url=databases.new("enrconc"),
        kafka_bootstrap_servers=kafka,
        consumer_enabled=False,
        db_pool_size=30,
        db_max_overflow=30,
    ) as url:
        yield url


def test_fifty_concurrent_accepts_and_declines_never_exceed_capacity(base_url):
    staff = token(["admissions"], ["*"])
    with httpx.Client(base_url=base_url, timeout=60) as c:
        campus = new_campus(c, staff)
        cohort = new_cohort(c, staff, new_programme(c, staff, campus), capacity=CAPACITY)
        apps = [apply(c, staff, new_applicant(c, staff, campus), cohort, score=100 - i) for i in range(50)]
        assert c.post(f"{E}/cohorts/{cohort}/selection", headers=staff).json()["selected"] == CAPACITY
    selected, waitlisted = apps[:CAPACITY], apps[CAPACITY:]

    # 10 declines (each promotes the next waitlisted) race 40 accepts: 5 by the selected, 35 by waitlisted
    # applicants who may or may not have been promoted yet, each with its own idempotency key.
    requests = (
        [("decline", a["id"]) for a in selected[:5]]
        + [("accept", a["id"]) for a in selected[5:]]
        + [("decline", a["id"]) for a in waitlisted[:5]]
        + [("accept", a["id"]) for a in waitlisted[5:]]
    )
    assert len(requests) == 50

    def send(req: tuple[str, str]) -> int:
        action, app_id = req
        with httpx.Client(base_url=base_url, timeout=60) as c:
            headers = {**staff, "Idempotency-Key": str(uuid.uuid4())}
            return c.post(f"{E}/applications/{app_id}/{action}", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(send, requests))
    assert set(statuses) <= {200, 409}, statuses
    assert 500 not in statuses

    with httpx.Client(base_url=base_url, timeout=60) as c:
        stats = c.get(f"{E}/cohorts/{cohort}/stats", headers=staff).json()
        listed = c.get(f"{E}/applications", params={"cohort_id": cohort, "limit": 100}, headers=staff).json()
        enrollments = c.get(f"{E}/enrollments", params={"cohort_id": cohort, "limit": 100}, headers=staff).json()
    by_status: dict[str, int] = {}
    for a in listed["items"]:
        by_status[a["status"]] = by_status.get(a["status"], 0) + 1
    assert stats["seats_taken"] <= CAPACITY
    assert by_status.get("accepted", 0) == enrollments["total"] <= CAPACITY
    # every freed seat was offered again: the seats stay full while anyone is still waiting
    assert stats["seats_taken"] == CAPACITY
    assert by_status["accepted"] >= 5
    # each successful decline offered its seat to the next on the waitlist, in waitlist order
    declines_ok = sum(1 for (action, _), status in zip(requests, statuses) if action == "decline" and status == 200)
    assert declines_ok >= 5
    promoted = {
        a["id"] for a in listed["items"] if a["status"] != "waitlisted" and a["id"] in {w["id"] for w in waitlisted}
    }
    assert promoted == {w["id"] for w in waitlisted[:declines_ok]}


def test_accept_and_decline_of_one_offer_at_once_end_one_way(base_url):
    """The accept's enrollment row checks its cohort key while a decline holds the cohort: no deadlock."""
    staff = token(["admissions"], ["*"])
    with httpx.Client(base_url=base_url, timeout=60) as c:
        campus = new_campus(c, staff)
        cohort = new_cohort(c, staff, new_programme(c, staff, campus), capacity=CAPACITY)
        apps = [apply(c, staff, new_applicant(c, staff, campus), cohort, score=100 - i) for i in range(CAPACITY)]
        assert c.post(f"{E}/cohorts/{cohort}/selection", headers=staff).json()["selected"] == CAPACITY

    def send(req: tuple[str, str]) -> int:
        action, app_id = req
        with httpx.Client(base_url=base_url, timeout=60) as client:
            headers = {**staff, "Idempotency-Key": str(uuid.uuid4())}
            return client.post(f"{E}/applications/{app_id}/{action}", headers=headers).status_code

    requests = [(action, a["id"]) for a in apps for action in ("accept", "decline")]
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        statuses = list(pool.map(send, requests))
    assert set(statuses) <= {200, 409}, statuses
    for i in range(0, len(statuses), 2):  # each offer was either taken or declined, not both, not neither
        assert sorted(statuses[i : i + 2]) == [200, 409], (requests[i], statuses[i : i + 2])
