"""50 concurrent pay requests on PostgreSQL: one payout, one claim.paid, whatever the keys."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from shared import events
from tests.integration.certification.helpers import C, approved_claim, eligible_trainee
from tests.support import EventReader, running_service, token


@pytest.fixture(scope="module")
def cert(kafka, databases):
    with running_service("certification", database_url=databases.new("cert_pay"), kafka_bootstrap_servers=kafka) as c:
        yield c


def hammer(cert, claim_id: str, headers_for: list[dict[str, str]]) -> list:
    with ThreadPoolExecutor(max_workers=len(headers_for)) as pool:
        return list(pool.map(lambda h: cert.post(f"{C}/claims/{claim_id}/pay", headers=h), headers_for))


def payouts_of(cert, finance, campus: str) -> list[dict]:
    batches = cert.get(f"{C}/payouts", params={"campus": campus}, headers=finance).json()["items"]
    return [p for b in batches for p in cert.get(f"{C}/payouts/{b['id']}", headers=finance).json()["payouts"]]


def paid_events(kafka: str, claim_id: str) -> list[events.CloudEvent]:
    reader = EventReader(kafka, events.topic_for("certification"))
    try:
        reader.wait_for(lambda evs: any(e.type == events.CLAIM_PAID and e.data["claim_id"] == claim_id for e in evs))
        time.sleep(1.0)  # anything published twice would arrive meanwhile
        reader.poll()
        return [e for e in reader.events if e.type == events.CLAIM_PAID and e.data["claim_id"] == claim_id]
    finally:
        reader.close()


@pytest.mark.parametrize("keys", ["same", "different", "mixed"])
def test_fifty_concurrent_pays_make_one_payout(cert, kafka, keys):
    finance = token(["finance"], ["*"], sub=f"finance-{uuid.uuid4().hex[:6]}")
    t = eligible_trainee(cert, kafka, finance)
    claim = approved_claim(cert, finance, t["trainee"], t["code"])
    shared_key = f"pay-{uuid.uuid4()}"
    headers = []
    for i in range(50):
        same = keys == "same" or (keys == "mixed" and i % 2 == 0)
        headers.append({**finance, "Idempotency-Key": shared_key if same else f"pay-{uuid.uuid4()}"})

    responses = hammer(cert, claim["id"], headers)

    assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses if r.status_code >= 500]
    ok = [r.json() for r in responses if r.status_code == 200]
    assert len({p["id"] for p in ok}) == 1  # one payout, whichever request won
    payout = ok[0]
    assert all(p == payout for p in ok)  # replays return the same payout
    if keys == "same":
        assert len(ok) == 50
    if keys == "different":
        assert len(ok) == 1
    for r in responses:
        if r.status_code == 409:
            body = r.json()
            assert body["code"] in ("claim.already-paid", "idempotency-key-in-progress"), body
            if body["code"] == "claim.already-paid":
                assert body["payout_reference"] == payout["reference"]
    assert [p["id"] for p in payouts_of(cert, finance, t["campus"])] == [payout["id"]]
    assert cert.get(f"{C}/claims/{claim['id']}", headers=finance).json()["status"] == "paid"
    published = paid_events(kafka, claim["id"])
    assert len(published) == 1 and published[0].data["payout_reference"] == payout["reference"]


def test_batch_pay_pays_each_approved_claim_once_and_exports(cert, kafka):
    finance = token(["finance"], ["*"])
    t = eligible_trainee(cert, kafka, finance)
    claims = [
        approved_claim(cert, finance, t["trainee"], t["code"], exam_date=str(date.today() - timedelta(days=d)))
        for d in (3, 10, 20)
    ]
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    body = {"campus": t["campus"]}
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(
            pool.map(lambda _: cert.post(f"{C}/payouts", json=body, headers={**finance, **key}), range(10))
        )
    assert {r.status_code for r in responses} == {201}
    batch = responses[0].json()
    assert all(r.json() == batch for r in responses)
    assert batch["payout_count"] == 3 and batch["total_amount"] == 3 * 14_500
    assert sorted(p["claim_id"] for p in batch["payouts"]) == sorted(c["id"] for c in claims)
    again = cert.post(f"{C}/payouts", json=body, headers={**finance, "Idempotency-Key": f"b-{uuid.uuid4()}"})
    assert again.status_code == 409 and again.json()["errors"][0]["rule"] == "payout.nothing-to-pay"
    single = cert.post(f"{C}/claims/{claims[0]['id']}/pay", headers=finance)
    assert single.status_code == 409 and single.json()["code"] == "claim.already-paid"
    for claim in claims:
        assert len(paid_events(kafka, claim["id"])) == 1
