"""Bad input and every claim rule over HTTP: each refusal is a problem response naming its cause."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.integration.certification.helpers import C, approved_claim, claim_body, eligible_trainee, qualification
from tests.support import running_service, token

SAMPLE = Path(__file__).resolve().parents[3] / "services" / "certification" / "data" / "qualifications_sample.csv"


@pytest.fixture(scope="module")
def cert(kafka, databases):
    with running_service("certification", database_url=databases.new("cert_bad"), kafka_bootstrap_servers=kafka) as c:
        yield c


@pytest.fixture()
def finance():
    return token(["finance"], ["*"])


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def failed_fields(body: dict) -> set[str]:
    return {e.get("field", "").split(".")[-1] for e in body.get("errors", [])}


@pytest.mark.parametrize("amount", [-14_500, 0, 10_000_001, 10**15])
def test_negative_zero_or_absurd_amounts_are_refused(cert, kafka, finance, amount):
    t = eligible_trainee(cert, kafka, finance)
    body = problem(
        cert.post(f"{C}/claims", json=claim_body(t["trainee"], t["code"], amount_paid=amount), headers=finance), 422
    )
    assert body["code"] == "validation-error" and "amount_paid" in failed_fields(body)


@pytest.mark.parametrize(
    "field,value",
    [
        ("amount_paid", "14,500"),
        ("amount_paid", 14500.5),
        ("stage", "oral"),
        ("exam_date", "2026-02-30"),
        ("receipt_number", ""),
        ("trainee_id", "not-a-uuid"),
    ],
)
def test_malformed_fields_are_named(cert, finance, field, value):
    body = problem(
        cert.post(f"{C}/claims", json=claim_body(str(uuid.uuid4()), "X", **{field: value}), headers=finance), 422
    )
    assert field in failed_fields(body)


def test_exam_in_the_future_is_refused(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    body = problem(
        cert.post(
            f"{C}/claims",
            json=claim_body(t["trainee"], t["code"], exam_date=str(date.today() + timedelta(days=1))),
            headers=finance,
        ),
        422,
    )
    assert [e["rule"] for e in body["errors"]] == ["claim.exam-date.future"]


def test_unknown_qualification_is_named(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    body = problem(cert.post(f"{C}/claims", json=claim_body(t["trainee"], "NO-SUCH-QUAL"), headers=finance), 422)
    assert "claim.qualification.unknown" in [e["rule"] for e in body["errors"]]


def test_another_campus_trainee_is_not_found(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    other = token(["finance"], [f"c{uuid.uuid4().hex[:8]}"])
    assert (
        problem(cert.post(f"{C}/claims", json=claim_body(t["trainee"], t["code"]), headers=other), 404)["code"]
        == "not-found"
    )
    claim = approved_claim(cert, finance, t["trainee"], t["code"])
    for r in (
        cert.get(f"{C}/claims/{claim['id']}", headers=other),
        cert.post(f"{C}/claims/{claim['id']}/pay", headers=other),
    ):
        problem(r, 404)
    assert cert.get(f"{C}/claims", params={"trainee_id": t["trainee"]}, headers=other).json()["total"] == 0


def test_a_trainee_claiming_for_someone_else_is_refused(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    intruder = token(["trainee"], [], sub=str(uuid.uuid4()))
    body = problem(cert.post(f"{C}/claims", json=claim_body(t["trainee"], t["code"]), headers=intruder), 403)
    assert body["code"] == "claim.other-trainee"
    own = cert.post(
        f"{C}/claims", json=claim_body(t["trainee"], t["code"]), headers=token(["trainee"], [], sub=t["trainee"])
    )
    assert own.status_code == 201, own.text
    problem(cert.get(f"{C}/claims/{own.json()['id']}", headers=intruder), 404)
    assert cert.get(f"{C}/claims", headers=intruder).json()["total"] == 0


def test_every_failed_rule_is_named_in_one_refusal(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    first = cert.post(f"{C}/claims", json=claim_body(t["trainee"], t["code"], receipt_number="QN-1-A"), headers=finance)
    assert first.status_code == 201, first.text
    late = str(date.today() - timedelta(days=40))
    cert.post(f"{C}/claims", json=claim_body(t["trainee"], t["code"], exam_date=late), headers=finance)
    unlinked = qualification(cert, finance)  # in the catalogue, not linked to the programme
    body = problem(
        cert.post(
            f"{C}/claims",
            json=claim_body(t["trainee"], unlinked, receipt_number="qn1a", exam_date=late),
            headers=finance,
        ),
        422,
    )
    assert {e["rule"] for e in body["errors"]} == {
        "claim.qualification.not-linked",
        "claim.deadline",
        "claim.receipt-reused",
    }
    same = problem(
        cert.post(
            f"{C}/claims",
            json=claim_body(t["trainee"], t["code"], exam_date=first.json()["exam_date"]),
            headers=finance,
        ),
        422,
    )
    assert [e["rule"] for e in same["errors"]] == ["claim.duplicate"]


def test_a_stage_without_a_fee_and_the_fourth_attempt_are_refused(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    body = problem(
        cert.post(
            f"{C}/claims",
            json=claim_body(t["trainee"], t["code"], stage="practical", amount_paid=100_000),
            headers=finance,
        ),
        422,
    )
    assert [e["rule"] for e in body["errors"]] == ["claim.qualification.no-standard-fee"]
    for days in (2, 9, 16):
        approved_claim(cert, finance, t["trainee"], t["code"], exam_date=str(date.today() - timedelta(days=days)))
    fourth = problem(
        cert.post(
            f"{C}/claims",
            json=claim_body(t["trainee"], t["code"], exam_date=str(date.today() - timedelta(days=23))),
            headers=finance,
        ),
        422,
    )
    assert [e["rule"] for e in fourth["errors"]] == ["claim.attempts"]


def test_review_workflow_refusals(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    r = cert.post(f"{C}/claims", json=claim_body(t["trainee"], t["code"]), headers=finance)
    claim = r.json()
    assert (
        problem(cert.post(f"{C}/claims/{claim['id']}/pay", headers=finance), 409)["errors"][0]["rule"]
        == "claim.not-approved"
    )
    problem(cert.post(f"{C}/claims/{claim['id']}/reject", json={"reasons": []}, headers=finance), 422)
    rejected = cert.post(
        f"{C}/claims/{claim['id']}/reject",
        json={"reasons": [{"code": "evidence.unreadable", "message": "receipt unreadable"}]},
        headers=finance,
    )
    assert rejected.status_code == 200 and rejected.json()["reasons"][0]["rule"] == "evidence.unreadable"
    assert (
        problem(cert.post(f"{C}/claims/{claim['id']}/approve", headers=finance), 409)["errors"][0]["rule"]
        == "claim.already-decided"
    )
    # a rejected claim frees its receipt and exam for a corrected claim
    again = cert.post(
        f"{C}/claims",
        json=claim_body(t["trainee"], t["code"], receipt_number=claim["receipt_number"], exam_date=claim["exam_date"]),
        headers=finance,
    )
    assert again.status_code == 201, again.text
    problem(cert.post(f"{C}/claims/{uuid.uuid4()}/approve", headers=finance), 404)
    problem(cert.post(f"{C}/claims", json=claim_body(t["trainee"], t["code"]), headers={}), 401)
    problem(cert.post(f"{C}/claims/{claim['id']}/approve", headers=token(["instructor"], ["*"])), 403)
    reused = cert.post(f"{C}/claims/{again.json()['id']}/approve", headers={**finance})
    assert reused.status_code == 200


def test_sample_catalogue_imports_with_only_the_stated_fee(cert, finance):
    r = cert.post(
        f"{C}/qualifications/import", files={"file": ("q.csv", SAMPLE.read_bytes(), "text/csv")}, headers=finance
    )
    assert r.status_code == 200, r.text
    assert r.json()["refused"] == 0 and r.json()["imported"] >= 5
    items = cert.get(f"{C}/qualifications", params={"limit": 500}, headers=finance).json()["items"]
    sample = {q["code"]: q for q in items if q["code"] in SAMPLE.read_text()}
    assert {q["written_fee"] for q in sample.values() if q["grade"] == "craftsman"} == {14_500}
    assert {q["written_fee"] for q in sample.values() if q["grade"] != "craftsman"} == {None}
    assert {q["practical_fee"] for q in sample.values()} == {None}
    bad = (
        b"code,name,grade,written_fee,practical_fee\nX1,Bad,wizard,100,\nX2,Neg,craftsman,-5,\nX3,Txt,craftsman,abc,\n"
    )
    report = cert.post(f"{C}/qualifications/import", files={"file": ("q.csv", bad, "text/csv")}, headers=finance)
    assert report.json()["refused"] == 3
    problem(
        cert.post(f"{C}/qualifications/import", files={"file": ("q.txt", b"x", "text/plain")}, headers=finance), 400
    )


def test_results_refusals_and_import(cert, kafka, finance):
    t = eligible_trainee(cert, kafka, finance)
    future = problem(
        cert.post(
            f"{C}/results",
            json={
                "trainee_id": t["trainee"],
                "qualification_code": t["code"],
                "date": str(date.today() + timedelta(days=3)),
            },
            headers=finance,
        ),
        422,
    )
    assert [e["rule"] for e in future["errors"]] == ["result.date.future"]
    problem(
        cert.post(
            f"{C}/results",
            json={"trainee_id": str(uuid.uuid4()), "qualification_code": t["code"], "date": str(date.today())},
            headers=finance,
        ),
        404,
    )
    rows = (
        f"trainee_id,qualification_code,date\n{t['trainee']},{t['code']},{date.today()}\n"
        f"{t['trainee']},{t['code']},{date.today()}\n{t['trainee']},NOPE,{date.today()}\n"
    ).encode()
    report = cert.post(
        f"{C}/results/import", files={"file": ("r.csv", io.BytesIO(rows), "text/csv")}, headers=finance
    ).json()
    assert [r["status"] for r in report["report"]] == ["imported", "refused", "refused"]
    assert report["report"][1]["errors"][0]["rule"] == "result.duplicate"
    assert report["report"][2]["errors"][0]["rule"] == "result.qualification.unknown"
    listed = cert.get(f"{C}/results", params={"trainee_id": t["trainee"]}, headers=finance).json()
    assert listed["total"] == 1 and listed["items"][0]["cohort_id"] == t["cohort"]
