"""Certification benchmark: claims validated and stored per second through HTTP on PostgreSQL,
and the time to pay and export a payout batch of 10,000 claims (CSV and XLSX).

    .venv/bin/python -m tests.benchmarks.bench_certification
"""
from __future__ import annotations

import time
import uuid
from datetime import date, timedelta

from services.certification.adapters.orm import Claim, ClaimWindow
from shared.kafka import ensure_topics
from tests.support import LOCAL_POSTGRES, Databases, running_service, token
from trainingops.broker import LocalBroker

C = "/certification/v1"
CLAIMS = 1_000
BATCH = 10_000


def main() -> None:
    dbs = Databases(LOCAL_POSTGRES)
    finance = token(["finance"], ["*"])
    today = date.today()
    with LocalBroker() as broker:
        ensure_topics(broker.bootstrap)
        try:
            with running_service("certification", database_url=dbs.new("bench_cert"),
                                 kafka_bootstrap_servers=broker.bootstrap, consumer_enabled=False) as cert:
                code = "BENCH-CRAFTSMAN"
                assert cert.put(f"{C}/qualifications/{code}", json={
                    "code": code, "name": "Bench Craftsman", "grade": "craftsman", "written_fee": 14_500},
                    headers=finance).status_code == 200
                db = cert.app.state.db
                trainees = [uuid.uuid4() for _ in range(CLAIMS)]
                with db.session() as s:
                    s.add_all([ClaimWindow(trainee_id=t, cohort_id=uuid.uuid4(), campus="bench",
                                           programme_code="P-BENCH", qualification_codes=[code],
                                           start_date=today - timedelta(days=90)) for t in trainees])
                    s.commit()

                n = 300
                start = time.perf_counter()
                for _ in range(n):
                    assert cert.get("/healthz").status_code == 200
                baseline = n / (time.perf_counter() - start)

                start = time.perf_counter()
                for i, t in enumerate(trainees):
                    r = cert.post(f"{C}/claims", headers=finance, json={
                        "trainee_id": str(t), "qualification_code": code, "stage": "written",
                        "exam_date": str(today - timedelta(days=1 + i % 25)), "amount_paid": 15_000,
                        "receipt_number": f"R{i:08d}", "admission_slip_number": f"S{i:06d}"})
                    assert r.status_code == 201, r.text
                elapsed = time.perf_counter() - start
                rate = CLAIMS / elapsed
                print(f"claims validated and stored via HTTP (PostgreSQL): {CLAIMS} in {elapsed:.2f} s "
                      f"= {rate:.0f} claims/s  (bare GET /healthz baseline {baseline:.0f} req/s, "
                      f"ratio {rate / baseline:.2f})")

                with db.session() as s:
                    s.add_all([Claim(trainee_id=uuid.uuid4(), cohort_id=uuid.uuid4(), campus="bankfile",
                                     qualification_code=code, stage="written", exam_date=today - timedelta(days=3),
                                     amount_paid=14_500, standard_fee=14_500, amount=14_500,
                                     receipt_number=f"B{i:08d}", receipt_key=f"B{i:08d}",
                                     admission_slip_number=f"S{i:06d}", status="approved", submitted_by="bench")
                               for i in range(BATCH)])
                    s.commit()
                start = time.perf_counter()
                r = cert.post(f"{C}/payouts", json={"campus": "bankfile"},
                              headers={**finance, "Idempotency-Key": f"bench-{uuid.uuid4()}"})
                pay_s = time.perf_counter() - start
                assert r.status_code == 201, r.text
                batch = r.json()
                assert batch["payout_count"] == BATCH
                print(f"batch pay of {BATCH} approved claims via HTTP (payouts + {BATCH} outbox events): "
                      f"{pay_s:.2f} s")
                for fmt in ("csv", "xlsx"):
                    start = time.perf_counter()
                    f = cert.get(f"{C}/payouts/{batch['id']}/export", params={"format": fmt}, headers=finance)
                    took = time.perf_counter() - start
                    assert f.status_code == 200
                    print(f"export payout batch of {BATCH} claims as {fmt.upper()} via HTTP: {took:.2f} s "
                          f"({len(f.content) / 1024:.0f} KiB)")
        finally:
            dbs.drop_all()


if __name__ == "__main__":
    main()
