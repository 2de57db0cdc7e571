"""Kill the broker while seats are accepted: the API keeps working, every event arrives once it returns."""

from __future__ import annotations

import time

from shared.kafka import ensure_topics
from tests.integration.enrollment.helpers import E, apply, new_applicant, new_campus, new_cohort, new_programme
from tests.support import EventReader, running_service, token, wait_until
from trainingops.broker import LocalBroker


def backlog(client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("trainingops_outbox_backlog"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no backlog metric")


def test_events_written_while_the_broker_is_down_are_published_once_after_it_returns(databases):
    broker = LocalBroker().start()
    port = broker.port
    ensure_topics(broker.bootstrap)
    staff = token(["admissions"], ["*"])
    try:
        with running_service(
            "enrollment",
            database_url=databases.new("enrout"),
            consumer_enabled=False,
            kafka_bootstrap_servers=broker.bootstrap,
        ) as client:
            campus = new_campus(client, staff)
            cohort = new_cohort(client, staff, new_programme(client, staff, campus), capacity=8)
            apps = [apply(client, staff, new_applicant(client, staff, campus), cohort, score=90 - i) for i in range(8)]
            assert client.post(f"{E}/cohorts/{cohort}/selection", headers=staff).status_code == 200
            wait_until(lambda: backlog(client) == 0, timeout=30)

            broker.stop()  # the broker dies, and with it everything it held in memory
            accepted = []
            for a in apps:
                r = client.post(f"{E}/applications/{a['id']}/accept", headers=staff)
                assert r.status_code == 200, r.text  # the API does not need the broker
                accepted.append(r.json()["applicant_id"])
            time.sleep(1.0)
            assert backlog(client) == len(apps)  # the events wait in the outbox

            broker = LocalBroker(port=port).start()
            ensure_topics(broker.bootstrap)
            wait_until(lambda: backlog(client) == 0, timeout=60)
            reader = EventReader(broker.bootstrap, "trainingops.enrollment.events")
            try:
                reader.wait_for(
                    lambda evs: len([e for e in evs if e.type.endswith("trainee.enrolled.v1")]) >= len(apps), timeout=30
                )
                time.sleep(1.5)
                reader.poll()
                enrolled = reader.of_type("trainee.enrolled.v1")
                assert sorted(e.data["trainee_id"] for e in enrolled) == sorted(accepted)  # every one, none twice
                assert len({e.id for e in reader.events}) == len(reader.events)
                # events relayed before the outage are not sent again
                assert not reader.of_type("cohort.published.v1")
            finally:
                reader.close()
    finally:
        broker.stop()
