"""Enrollment -> attendance completion -> claim -> approval -> payment, read back from Kafka.

Enrollment runs for real (its own database) and trainee.enrolled reaches certification
through the broker; attendance is being built elsewhere, so its completion event is sent
here as an outside system would send it.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from shared import events
from tests.integration.certification.helpers import C, completed, qualification, wait_window
from tests.support import EventReader, running_service, token

E = "/enrollment/v1"


@pytest.fixture(scope="module")
def enrollment(kafka, databases):
    with running_service(
        "enrollment", database_url=databases.new("cert_enr"), kafka_bootstrap_servers=kafka, consumer_enabled=False
    ) as c:
        yield c


@pytest.fixture(scope="module")
def cert(kafka, databases):
    with running_service("certification", database_url=databases.new("cert"), kafka_bootstrap_servers=kafka) as c:
        yield c


def enrol_through_enrollment(
    enrollment, campus: str, qualification_code: str, end_in_days: int = 2
) -> tuple[str, str, str]:
    """Campus, programme, a cohort that started 60 days ago and ends in two days (no seat is taken in an ended
    cohort; the completions the tests send are dated as if staff closed it early); one accepted applicant, who
    joined on the first day."""
    staff = token(["admissions"], [campus])
    assert (
        enrollment.post(
            f"{E}/campuses", json={"code": campus, "name": "Jungbu", "city": "Seoul"}, headers=staff
        ).status_code
        == 201
    )
    programme_code = f"P-{uuid.uuid4().hex[:8]}"
    r = enrollment.post(
        f"{E}/programmes",
        json={
            "code": programme_code,
            "title": "Special Welding",
            "campus": campus,
            "track": "national_qualification",
            "total_hours": 960,
            "qualification_codes": [qualification_code],
        },
        headers=staff,
    )
    assert r.status_code == 201, r.text
    today = date.today()
    start = today - timedelta(days=60)
    r = enrollment.post(
        f"{E}/cohorts",
        json={
            "programme_id": r.json()["id"],
            "label": "2026-1",
            "capacity": 5,
            "application_opens": str(start - timedelta(days=30)),
            "application_closes": str(today + timedelta(days=1)),
            "start_date": str(start),
            "end_date": str(today + timedelta(days=end_in_days)),
        },
        headers=staff,
    )
    assert r.status_code == 201, r.text
    cohort = r.json()["id"]
    r = enrollment.post(
        f"{E}/applicants",
        json={"campus": campus, "name": "Kim", "birth_date": "1990-03-01", "residency_status": "city_resident"},
        headers=staff,
    )
    assert r.status_code == 201, r.text
    trainee = r.json()["id"]
    r = enrollment.post(
        f"{E}/applications", json={"applicant_id": trainee, "cohort_id": cohort, "score": 80}, headers=staff
    )
    assert r.status_code == 201, r.text
    application = r.json()["id"]
    assert enrollment.post(f"{E}/cohorts/{cohort}/selection", headers=staff).status_code == 200
    # the trainee joined on the first day; the seat is recorded today
    r = enrollment.post(f"{E}/applications/{application}/accept", headers=staff, json={"joined_on": str(start)})
    assert r.status_code == 200, r.text
    return trainee, cohort, programme_code


def test_completed_trainee_claims_is_approved_and_paid_once(enrollment, cert, kafka):
    campus = f"c{uuid.uuid4().hex[:8]}"
    finance = token(["finance"], [campus])
    code = qualification(cert, token(["finance"], ["*"]))
    trainee, cohort, programme_code = enrol_through_enrollment(enrollment, campus, code)
    window = wait_window(cert, finance, trainee)[0]
    assert window["cohort_id"] == cohort and window["programme_code"] == programme_code
    assert window["qualification_codes"] == [code]
    end = date.fromisoformat(window["end_date"])
    assert window["last_exam_date"] == str(end.replace(year=end.year + 1))  # while enrolled: 12 months after the end

    completion = date.today() - timedelta(days=14)
    completed(
        kafka,
        trainee=trainee,
        cohort=cohort,
        campus=campus,
        programme_code=programme_code,
        qualification_codes=[code],
        on=completion,
    )
    window = wait_window(cert, finance, trainee, status="completed")[0]
    assert window["last_exam_date"] == str(completion.replace(year=completion.year + 1))

    me = token(["trainee"], [], sub=trainee)
    exam = date.today() - timedelta(days=3)  # after completion, within 12 months; claimed within 30 days
    r = cert.post(
        f"{C}/claims",
        json={
            "trainee_id": trainee,
            "qualification_code": code,
            "stage": "written",
            "exam_date": str(exam),
            "amount_paid": 20_000,
            "receipt_number": "QN-77-1",
            "admission_slip_number": "27-1-0456",
        },
        headers=me,
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "submitted" and claim["amount"] == 14_500 and claim["campus"] == campus
    assert cert.get(f"{C}/claims/{claim['id']}", headers=me).json()["id"] == claim["id"]
    assert cert.get(f"{C}/claims", headers=me).json()["total"] == 1

    # a trainee cannot approve or pay
    assert cert.post(f"{C}/claims/{claim['id']}/approve", headers=me).status_code == 403
    r = cert.post(f"{C}/claims/{claim['id']}/approve", headers=finance)
    assert r.status_code == 200 and r.json()["status"] == "approved"

    key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
    first = cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, **key})
    assert first.status_code == 200, first.text
    retry = cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, **key})
    assert retry.status_code == 200 and retry.json() == first.json()  # the same payout
    payout = first.json()
    assert payout["amount"] == 14_500 and payout["reference"].startswith("PO-")
    again = cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, "Idempotency-Key": "another-key"})
    assert again.status_code == 409
    assert again.json()["code"] == "claim.already-paid" and again.json()["payout_reference"] == payout["reference"]
    assert payout["reference"] in again.json()["detail"]
    assert cert.get(f"{C}/claims/{claim['id']}", headers=me).json()["payout_reference"] == payout["reference"]

    # the bank file opens as CSV and as XLSX
    csv_file = cert.get(f"{C}/payouts/{payout['batch_id']}/export", params={"format": "csv"}, headers=finance)
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert [(r["payout_reference"], r["amount_krw"], r["trainee_id"]) for r in rows] == [
        (payout["reference"], "14500", trainee)
    ]
    xlsx = cert.get(f"{C}/payouts/{payout['batch_id']}/export", params={"format": "xlsx"}, headers=finance)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("payout_reference", "amount_krw") and values[1][:2] == (payout["reference"], 14_500)

    # a passed exam becomes a qualification obtained
    r = cert.post(
        f"{C}/results", json={"trainee_id": trainee, "qualification_code": code, "date": str(exam)}, headers=finance
    )
    assert r.status_code == 201, r.text
    assert r.json()["cohort_id"] == cohort and r.json()["grade"] == "craftsman"

    reader = EventReader(kafka, events.topic_for("certification"))
    try:
        mine = lambda evs: [e for e in evs if e.data.get("trainee_id") == trainee]  # noqa: E731
        reader.wait_for(
            lambda evs: (
                {e.type for e in mine(evs)} >= {events.CLAIM_DECIDED, events.CLAIM_PAID, events.QUALIFICATION_OBTAINED}
            )
        )
        reader.poll()
        paid = [e for e in mine(reader.events) if e.type == events.CLAIM_PAID]
        assert len(paid) == 1  # retried and re-paid, published once
        assert paid[0].data == {
            "claim_id": claim["id"],
            "trainee_id": trainee,
            "campus": campus,
            "amount": 14_500,
            "payout_reference": payout["reference"],
        }
        decided = [e for e in mine(reader.events) if e.type == events.CLAIM_DECIDED]
        assert [(d.data["decision"], d.data["amount"]) for d in decided] == [("approved", 14_500)]
        obtained = [e for e in mine(reader.events) if e.type == events.QUALIFICATION_OBTAINED][0]
        assert obtained.data["qualification_code"] == code and obtained.data["cohort_id"] == cohort
        for event, key in zip(reader.events, reader.keys):
            if event in mine(reader.events):
                assert key == trainee
    finally:
        reader.close()


def test_a_withdrawn_trainee_cannot_claim_exams_after_the_withdrawal(enrollment, cert, kafka):
    campus = f"c{uuid.uuid4().hex[:8]}"
    finance = token(["finance"], [campus])
    code = qualification(cert, token(["finance"], ["*"]))
    trainee, cohort, _ = enrol_through_enrollment(enrollment, campus, code, end_in_days=30)
    wait_window(cert, finance, trainee)
    enrollment_id = enrollment.get(
        f"{E}/enrollments", params={"trainee_id": trainee}, headers=token(["admissions"], [campus])
    ).json()["items"][0]["id"]
    withdrawn_on = date.today()  # enrollment accepts a withdrawal from the enrollment day on
    r = enrollment.post(
        f"{E}/enrollments/{enrollment_id}/withdraw",
        json={"date": str(withdrawn_on), "reason": "personal"},
        headers=token(["admissions"], [campus]),
    )
    assert r.status_code == 200, r.text
    window = wait_window(cert, finance, trainee, status="withdrawn")[0]
    assert window["closed_on"] == window["last_exam_date"] == str(withdrawn_on)
    r = cert.post(
        f"{C}/claims",
        json={
            "trainee_id": trainee,
            "qualification_code": code,
            "stage": "written",
            "exam_date": str(withdrawn_on + timedelta(days=1)),
            "amount_paid": 14_500,
            "receipt_number": f"R{uuid.uuid4().hex[:8]}",
            "admission_slip_number": "1",
        },
        headers=finance,
    )
    assert r.status_code == 422
    assert {e["rule"] for e in r.json()["errors"]} == {"claim.window.after-withdrawal", "claim.exam-date.future"}
    r = cert.post(
        f"{C}/claims",
        json={
            "trainee_id": trainee,
            "qualification_code": code,
            "stage": "written",
            "exam_date": str(withdrawn_on - timedelta(days=2)),
            "amount_paid": 14_500,
            "receipt_number": f"R{uuid.uuid4().hex[:8]}",
            "admission_slip_number": "1",
        },
        headers=finance,
    )
    assert r.status_code == 201, r.text  # an exam before the withdrawal is still paid
