"""Stop the broker while paying: payments go on, and each claim.paid arrives exactly once after it returns."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta

from shared import events
from shared.kafka import ensure_topics
from tests.integration.certification.helpers import C, approved_claim, eligible_trainee, qualification
from tests.support import EventReader, running_service, token, wait_until
from trainingops.broker import LocalBroker


def backlog(client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("trainingops_outbox_backlog"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no backlog metric")


def test_payment_events_survive_a_broker_outage_once(databases):
    broker = LocalBroker().start()
    port = broker.port
    ensure_topics(broker.bootstrap)
    finance = token(["finance"], ["*"])
    try:
        with running_service(
            "certification", database_url=databases.new("cert_out"), kafka_bootstrap_servers=broker.bootstrap
        ) as cert:
            code = qualification(cert, finance)
            t = eligible_trainee(cert, broker.bootstrap, finance, code=code)
            claims = [
                approved_claim(cert, finance, t["trainee"], code, exam_date=str(date.today() - timedelta(days=d)))
                for d in (2, 9, 16)
            ]
            wait_until(lambda: backlog(cert) == 0, timeout=30)  # the decisions went out before the outage

            broker.stop()  # the broker dies with everything it held in memory
            payouts = []
            for claim in claims:
                key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
                r = cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, **key})
                assert r.status_code == 200, r.text  # paying does not need the broker
                retry = cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, **key})
                assert retry.json() == r.json()
                payouts.append(r.json())
            time.sleep(1.0)
            assert backlog(cert) == len(claims)  # the events wait in the outbox

            broker = LocalBroker(port=port).start()
            ensure_topics(broker.bootstrap)
            wait_until(lambda: backlog(cert) == 0, timeout=60)
            # the consumer is back too: a trainee enrolled after the outage reaches certification
            later = eligible_trainee(cert, broker.bootstrap, finance, code=code)
            assert later["trainee"] != t["trainee"]
            reader = EventReader(broker.bootstrap, events.topic_for("certification"))
            try:
                reader.wait_for(lambda evs: len([e for e in evs if e.type == events.CLAIM_PAID]) >= len(claims))
                time.sleep(1.5)
                reader.poll()
                paid = [e for e in reader.events if e.type == events.CLAIM_PAID]
                assert sorted(e.data["payout_reference"] for e in paid) == sorted(p["reference"] for p in payouts)
                assert len({e.id for e in reader.events}) == len(reader.events)
                assert not [e for e in reader.events if e.type == events.CLAIM_DECIDED]  # sent before: not again
            finally:
                reader.close()
    finally:
        broker.stop()
