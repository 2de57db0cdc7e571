"""The whole journey against the four services running as separate processes (real broker, real PostgreSQL).

Driven only through HTTP; what one service learns from another travels through Kafka.
First one process per service, step by step; then two replicas of every service sharing
each consumer group and database, showing the work split and nothing doubled.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest

from shared.events import (
    CLAIM_DECIDED,
    CLAIM_PAID,
    COHORT_PUBLISHED,
    OUTCOME_RECORDED,
    QUALIFICATION_OBTAINED,
    TRAINEE_AT_RISK,
    TRAINEE_COMPLETED,
    TRAINEE_ENROLLED,
    TRAINEE_NOT_COMPLETED,
    topic_for,
)
from tests.e2e.processes import SERVICES, platform
from tests.support import EventReader
from trainingops import demo
from trainingops.demo import Clients, Person, ProgrammeSpec


@pytest.fixture()
def readers(kafka):
    rs = {s: EventReader(kafka, topic_for(s)) for s in SERVICES}
    yield rs
    for r in rs.values():
        r.close()


def settle(readers: dict[str, EventReader], check, timeout: float = 30.0) -> None:
    """Read every topic until ``check(readers)`` holds, then a little longer so a duplicate would show."""
    deadline = time.monotonic() + timeout
    while True:
        for r in readers.values():
            r.poll()
        if check(readers):
            break
        if time.monotonic() > deadline:
            raise AssertionError(
                "events never arrived; seen: " + ", ".join(f"{s}: {len(r.events)}" for s, r in readers.items())
            )
    end = time.monotonic() + 2
    while time.monotonic() < end:
        for r in readers.values():
            r.poll()


def of(reader: EventReader, event_type: str, **match: str) -> list:
    return [
        e for e in reader.events if e.type == event_type and all(str(_get(e.data, k)) == v for k, v in match.items())
    ]


def _get(data: dict, key: str):
    for part in key.split("."):
        data = data.get(part, {}) if isinstance(data, dict) else {}
    return data


WELDING = ProgrammeSpec(
    "jungbu",
    "JB-WELD-E2E",
    "Special Welding (national qualification)",
    "national_qualification",
    qualification="WELD-CRAFTSMAN",
    qualification_name="Welding Craftsman (용접기능사)",
    total_hours=960,
)


def test_the_whole_journey_one_process_per_service(kafka, databases, readers, tmp_path):
    people = [
        Person("Kim Minjun", 95, gender="male", plan="steady", outcome="employed", wage=2_900_000),
        Person("Lee Seoyeon", 90, plan="late", outcome="employed", wage=2_700_000),
        Person("Park Jiho", 85, gender="male", plan="excused", outcome="self_employed", wage=2_400_000),
        Person("Choi Daeun", 80, plan="dropping"),
        Person("Jung Yuna", 58, priority=["single_parent"], plan="late", outcome="further_education"),
        Person("Han Sora", 52, priority=["basic_livelihood"], outcome="seeking_work"),
        Person("Oh Minseo", 75),
        Person("Kang Jisu", 70),
        Person("Lim Taeho", 88, gender="male", residency="non_resident"),
    ]
    with platform(kafka, databases, tmp_path, "e2e1") as p, p.diagnose():
        c = Clients.open(p.urls())
        campus = "jungbu"
        enr, att, cert, plc = c.enrollment, c.attendance, c.certification, c.placement

        # -- enrollment: catalogue, applications, selection with the priority quota, seats -------------
        assert demo.ensure_campus(enr, campus, "Jungbu Campus") is True
        assert demo.ensure_campus(enr, campus, "Jungbu Campus") is False  # a second time: it exists
        demo.ensure_qualification(cert, "WELD-CRAFTSMAN", "Welding Craftsman (용접기능사)")
        programme = demo.create_programme(enr, WELDING)
        cohort = demo.publish_cohort(enr, campus, programme["id"], "2026-e2e", capacity=6)
        cid = cohort["id"]
        applied = demo.apply_all(enr, campus, cid, people)
        assert applied["Lim Taeho"]["status"] == "ineligible"
        assert "eligibility.residency" in {r["rule"] for r in applied["Lim Taeho"]["reasons"]}
        assert {applied[p.name]["status"] for p in people if p.name != "Lim Taeho"} == {"submitted"}

        selection = demo.run_selection(enr, campus, cid)
        assert (
            selection["capacity"],
            selection["priority_quota"],
            selection["selected"],
            selection["priority_selected"],
            selection["waitlisted"],
        ) == (6, 2, 6, 2, 2), selection
        by_id = demo.applications_of(enr, campus, cid)
        apps = {n: by_id[a["id"]] for n, a in applied.items()}
        for name in ("Jung Yuna", "Han Sora"):  # selected under the quota, though they scored below the waitlist
            a = apps[name]
            assert a["status"] == "selected" and a["priority"], a
            assert [r["rule"] for r in a["reasons"]] == ["selection.priority-quota"], a
            assert a["score"] < apps["Oh Minseo"]["score"]
        assert [(apps[n]["status"], apps[n]["waitlist_position"]) for n in ("Oh Minseo", "Kang Jisu")] == [
            ("waitlisted", 1),
            ("waitlisted", 2),
        ]
        selected = [n for n, a in apps.items() if a["status"] == "selected"]
        assert sorted(selected) == sorted(p.name for p in people[:6])

        trainees = {}
        for name in selected:
            accepted = demo.accept_seat(enr, campus, apps[name]["id"], joined_on=cohort["start_date"])
            assert accepted["status"] == "accepted" and accepted["enrollment_id"], accepted
            assert (
                demo.accept_seat(enr, campus, apps[name]["id"], joined_on=cohort["start_date"]) == accepted
            )  # same Idempotency-Key: same answer
            trainees[name] = accepted["applicant_id"]
        ids = set(trainees.values())
        name_of = {t: n for n, t in trainees.items()}
        stats = demo.ok(enr.get(f"{demo.E}/cohorts/{cid}/stats", headers=demo.auth(["admissions"], [campus])))
        assert (stats["applications"], stats["ineligible"], stats["accepted"], stats["seats_free"]) == (9, 1, 6, 0)
        assert stats["competition_ratio"] == 1.5

        # -- attendance: roster from Kafka, a month of marks, at risk, close ----------------------------
        roster = demo.wait_roster(att, campus, cid, ids)
        assert len(roster) == 6 and Counter(r["trainee_id"] for r in roster).most_common(1)[0][1] == 1
        plans = {trainees[p.name]: p.plan for p in people[:6]}
        expected = demo.record_attendance(att, campus, cid, plans)
        held = expected[trainees["Kim Minjun"]]["sessions"]
        assert 15 <= len(held) <= 25, [s["date"] for s in held]  # about a month of weekdays
        assert all(s["date"] < demo.centre_today().isoformat() for s in held)
        for t in ids:
            s = demo.standing_of(att, campus, cid, t)
            e = expected[t]
            assert (s["held_days"], s["attended_days"], s["lates_early_leaves_outs"]) == (
                e["scheduled"],
                e["attended"],
                e["minor"],
            ), (name_of[t], s, e)
        late = demo.standing_of(att, campus, cid, trainees["Lee Seoyeon"])
        assert (late["lates_early_leaves_outs"], late["converted_absences"], late["absences"]) == (3, 1, 1), late
        excused = trainees["Park Jiho"]
        excused_session = held[expected[excused]["marks"].index("excused")]
        mark = demo.ok(
            att.get(
                f"{demo.A}/sessions/{excused_session['id']}/marks/{excused}",
                headers=demo.auth(["instructor"], [campus]),
            )
        )
        assert (mark["mark"], mark["reason_code"], mark["evidence_ref"]) == (
            "excused",
            "job_interview",
            "INTERVIEW-2026-0042",
        ), mark
        assert (
            mark["history"][-1]["previous_mark"] == "absent" and mark["history"][-1]["changed_by"] == "instructor-park"
        )
        assert demo.standing_of(att, campus, cid, excused)["attended_days"] == len(held)
        dropping = trainees["Choi Daeun"]
        drop = demo.standing_of(att, campus, cid, dropping)
        assert drop["current_rate"] < 0.8 and drop["at_risk"], drop
        assert {r["trainee_id"] for r in demo.at_risk(att, campus, cid)} == {dropping}

        closed = demo.close_cohort(att, campus, cid)
        assert closed["closed_on"] == demo.centre_today().isoformat()
        assert (closed["completed"], closed["not_completed"]) == (5, 1), closed
        completers = ids - {dropping}
        for t in ids:
            s = demo.standing_of(att, campus, cid, t)
            assert s["outcome"] == ("completed" if t in completers else "not_completed"), s
            assert s["final_rate"] == pytest.approx(expected[t]["rate"], abs=1e-4), (name_of[t], s)
        assert closed_again(att, campus, cid) == 409

        # -- enrollment learns the decisions from attendance's events -----------------------------------
        rows = demo.wait_enrollment_statuses(
            enr, campus, cid, {t: "completed" if t in completers else "not_completed" for t in ids}
        )
        assert rows[dropping]["final_rate"] < 0.8 and rows[trainees["Kim Minjun"]]["final_rate"] == 1.0
        assert all(rows[t]["outcome_date"] == closed["closed_on"] for t in ids)

        # -- certification: a completer claims the exam fee with their own token; paid once --------------
        claimant = trainees["Kim Minjun"]
        window = demo.wait_claim_window(cert, campus, claimant, cid, "completed")
        assert window["qualification_codes"] == ["WELD-CRAFTSMAN"] and window["completion_date"] == closed["closed_on"]
        demo.wait_claim_window(cert, campus, dropping, cid, "not_completed")
        exam = demo.centre_today() - timedelta(days=5)
        pay = demo.claim_and_pay(cert, campus, claimant, "WELD-CRAFTSMAN", exam, amount_paid=20_000)
        assert (pay.claim["status"], pay.claim["amount_paid"], pay.claim["amount"]) == ("submitted", 20_000, 14_500)
        assert pay.approved["status"] == "approved"
        assert pay.payout["amount"] == 14_500 and pay.payout["claim_id"] == pay.claim["id"]
        assert (pay.retry_status, pay.retry) == (200, pay.payout)
        assert pay.other_key_status == 409 and pay.other_key["code"] == "claim.already-paid", pay.other_key
        assert pay.other_key["payout_reference"] == pay.payout["reference"]
        me = demo.auth(["trainee"], [], sub=claimant)
        assert demo.ok(cert.get(f"{demo.C}/claims/{pay.claim['id']}", headers=me))["status"] == "paid"
        cert_result = demo.record_certificate(cert, campus, claimant, "WELD-CRAFTSMAN", exam)
        assert cert_result["cohort_id"] == cid and cert_result["grade"] == "craftsman"

        # -- placement: graduates, follow-ups due, outcomes, the report -----------------------------------
        grads = demo.wait_graduates(plc, campus, cid, completers, certified={claimant})
        completion = date.fromisoformat(closed["closed_on"])
        assert {g["completion_date"] for g in grads.values()} == {closed["closed_on"]}
        due_on = demo.add_months(completion, 1)
        due = demo.followups_due(plc, campus, cid, due_on)
        assert sorted((f["graduate_id"], f["months"], f["status"]) for f in due) == sorted(
            (t, 1, "due") for t in completers
        ), due
        assert demo.followups_due(plc, campus, cid, completion) == []  # nothing due on the completion day
        for t in completers:
            assert [f["months"] for f in demo.graduate(plc, campus, t)["followups"]] == [1, 3, 6, 12]
        outcome_plan = {trainees[p.name]: p for p in people[:6]}
        for t in sorted(completers):
            o = demo.record_outcome(plc, campus, t, outcome_plan[t].outcome, due_on, completion, outcome_plan[t].wage)
            assert o["closed_followups"] == [1] and o["category"] == outcome_plan[t].outcome, o
        assert demo.followups_due(plc, campus, cid, due_on) == []
        report = demo.employment_report(plc, campus, cid, due_on)
        total = report["total"]
        assert total["completers"] == 5
        # employed 2 + self-employed 1 over 5 completers minus 1 in further education
        assert (
            total["employment_rate"]["numerator"],
            total["employment_rate"]["denominator"],
            total["employment_rate"]["percent"],
        ) == (3, 4, 75), total
        assert (total["certificate_attainment"]["numerator"], total["certificate_attainment"]["denominator"]) == (1, 5)
        # the median wage is over the employed (not the self-employed): 2,900,000 and 2,700,000
        assert total["median_monthly_wage"] == {"value": 2_800_000, "count": 2}

        # -- every key event arrived, once ----------------------------------------------------------------
        enr_r, att_r, cert_r, plc_r = (readers[s] for s in SERVICES)
        settle(
            readers,
            lambda rs: (
                len(of(rs["placement"], OUTCOME_RECORDED, cohort_id=cid)) >= 5
                and len(of(rs["certification"], QUALIFICATION_OBTAINED, trainee_id=claimant)) >= 1
            ),
        )
        assert len(of(enr_r, COHORT_PUBLISHED, cohort_id=cid)) == 1
        enrolled = of(enr_r, TRAINEE_ENROLLED, cohort_id=cid)
        assert sorted(e.data["trainee_id"] for e in enrolled) == sorted(ids)
        keys = {e.id: k for e, k in zip(enr_r.events, enr_r.keys)}
        assert all(keys[e.id] == e.data["trainee_id"] for e in enrolled)  # keyed by trainee id
        assert sorted(e.data["trainee_id"] for e in of(att_r, TRAINEE_COMPLETED, cohort_id=cid)) == sorted(completers)
        assert [e.data["trainee_id"] for e in of(att_r, TRAINEE_NOT_COMPLETED, cohort_id=cid)] == [dropping]
        assert [e.data["trainee_id"] for e in of(att_r, TRAINEE_AT_RISK, cohort_id=cid)] == [dropping]
        assert [e.data["decision"] for e in of(cert_r, CLAIM_DECIDED, claim_id=pay.claim["id"])] == ["approved"]
        paid = of(cert_r, CLAIM_PAID, claim_id=pay.claim["id"])
        assert [(e.data["amount"], e.data["payout_reference"]) for e in paid] == [(14_500, pay.payout["reference"])]
        assert len(of(cert_r, QUALIFICATION_OBTAINED, trainee_id=claimant)) == 1
        assert sorted(e.data["trainee_id"] for e in of(plc_r, OUTCOME_RECORDED, cohort_id=cid)) == sorted(completers)
        c.close()


def closed_again(att: httpx.Client, campus: str, cohort_id: str) -> int:
    return att.post(f"{demo.A}/cohorts/{cohort_id}/close", headers=demo.auth(["instructor"], [campus])).status_code


class Alternating(httpx.BaseTransport):
    """Sends each request to the next replica in turn (a load balancer in front of the replicas)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = itertools.cycle(ports)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=next(self.ports))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_two_replicas_of_each_service_split_the_work_and_double_nothing(kafka, databases, readers, tmp_path):
    plans = ["steady"] * 7 + ["late", "late", "excused", "dropping", "dropping"]
    outcomes = [
        "employed",
        "employed",
        "self_employed",
        "employed",
        "further_education",
        "seeking_work",
        "employed",
        "employed",
        "military_service",
        "unreachable",
        None,
        None,
    ]
    people = [
        Person(
            f"Trainee {i:02d}",
            60 + 3 * i,
            gender="female" if i % 2 else "male",
            priority=["disabled"] if i < 2 else [],
            plan=plan,
            outcome=outcome,
            wage=2_500_000 + 10_000 * i if outcome in ("employed", "self_employed") else None,
        )
        for i, (plan, outcome) in enumerate(zip(plans, outcomes))
    ]
    people += [Person("Waiting 1", 50), Person("Waiting 2", 49)]
    with platform(kafka, databases, tmp_path, "e2e2", replicas=2) as p, p.diagnose():
        clients = Clients(
            **{
                s: httpx.Client(
                    base_url=p.replicas(s)[0].url, timeout=60, transport=Alternating([r.port for r in p.replicas(s)])
                )
                for s in SERVICES
            }
        )
        spec = ProgrammeSpec(
            "dongbu",
            "DB-WELD-R2",
            "Welding, two replicas",
            "national_qualification",
            qualification="WELD-CRAFTSMAN",
            qualification_name="Welding Craftsman (용접기능사)",
        )
        assert demo.ensure_campus(clients.enrollment, "dongbu", "Dongbu Campus")
        j = demo.run_cohort_journey(clients, spec, people, capacity=12, label="2026-r2", timeout=120)
        cid, campus = j.cohort["id"], "dongbu"
        ids = set(j.trainees.values())
        assert len(ids) == 12 and j.selection["priority_selected"] == 2
        assert {n for n, a in j.applications.items() if a["status"] == "waitlisted"} == {"Waiting 1", "Waiting 2"}
        dropping = {j.trainees[pp.name] for pp in people if pp.plan == "dropping"}
        assert j.non_completers == dropping and len(j.completers) == 10
        assert (j.closed["completed"], j.closed["not_completed"]) == (10, 2)
        # employed 5 + self-employed 1 = 6 over 10 completers - further education - military service = 8
        rate = j.report["total"]["employment_rate"]
        assert (j.report["total"]["completers"], rate["numerator"], rate["denominator"]) == (10, 6, 8), j.report
        assert (j.payment.retry_status, j.payment.retry) == (200, j.payment.payout)  # the retry hit the other replica
        assert j.payment.other_key_status == 409

        # nothing doubled: one roster row, one completion, one payout, one follow-up set per trainee
        roster = demo.ok(
            clients.attendance.get(f"{demo.A}/cohorts/{cid}/roster", headers=demo.auth(["instructor"], [campus]))
        )
        assert sorted(r["trainee_id"] for r in roster) == sorted(ids)
        assert len(demo.enrollments_of(clients.enrollment, campus, cid)) == 12
        for t in j.completers:
            assert [f["months"] for f in demo.graduate(clients.placement, campus, t)["followups"]] == [1, 3, 6, 12]
        due = demo.followups_due(clients.placement, campus, cid, demo.add_months(j.completion_date, 1))
        assert due == []  # every completer has an outcome, which closed the follow-up due then
        claimant = j.payment.claim["trainee_id"]
        payouts = demo.ok(clients.certification.get(f"{demo.C}/payouts", headers=demo.auth(["finance"], [campus])))
        assert [(b["payout_count"], b["total_amount"]) for b in payouts["items"]] == [(1, 14_500)]
        enr_r, att_r, cert_r, plc_r = (readers[s] for s in SERVICES)
        settle(readers, lambda rs: len(of(rs["placement"], OUTCOME_RECORDED, cohort_id=cid)) >= 10)
        assert Counter(e.data["trainee_id"] for e in of(enr_r, TRAINEE_ENROLLED, cohort_id=cid)) == Counter(
            {t: 1 for t in ids}
        )
        assert Counter(e.data["trainee_id"] for e in of(att_r, TRAINEE_COMPLETED, cohort_id=cid)) == Counter(
            {t: 1 for t in j.completers}
        )
        assert Counter(e.data["trainee_id"] for e in of(att_r, TRAINEE_NOT_COMPLETED, cohort_id=cid)) == Counter(
            {t: 1 for t in dropping}
        )
        assert len(of(cert_r, CLAIM_PAID, trainee_id=claimant)) == 1
        assert Counter(e.data["trainee_id"] for e in of(plc_r, OUTCOME_RECORDED, cohort_id=cid)) == Counter(
            {t: 1 for t in j.outcomes}
        )

        # the work split: the attendance pair shares the enrollment topic's partitions, and each replica handled
        # (at least) the journey's events on its own partitions; both replicas of every service answered HTTP
        topic = topic_for("enrollment")
        att0, att1 = p.replicas("attendance")
        second = att1.assigned(topic)
        assert second and len(second) < 3, second  # the newcomer holds some partitions, not all
        first = {0, 1, 2} - second
        partitions = partitions_of(
            kafka,
            topic,
            lambda e: (
                e.type in (COHORT_PUBLISHED, TRAINEE_ENROLLED)
                and (e.data.get("cohort_id") == cid or e.data.get("cohort", {}).get("cohort_id") == cid)
            ),
        )
        assert len(partitions) == 13  # cohort.published and 12 trainee.enrolled
        share = [sum(1 for n in partitions if n in mine) for mine in (first, second)]
        done = [
            r.metric("trainingops_events_consumed_total", service="attendance", result="done") for r in (att0, att1)
        ]
        split = {s: [r.metric("trainingops_events_consumed_total", service=s) for r in p.replicas(s)] for s in SERVICES}
        http = {s: [r.metric("trainingops_http_requests_total", service=s) for r in p.replicas(s)] for s in SERVICES}
        print(f"attendance: partitions {sorted(first)} / {sorted(second)}, journey events {share}, handled {done}")
        print("events consumed per replica:", split, "\nHTTP requests per replica:", http)
        assert done[0] >= share[0] and done[1] >= share[1], (share, done)
        if all(share):  # the 13 keys spread over both replicas' partitions (all but ~0.5% of runs)
            assert all(n > 0 for n in split["attendance"]), split
        assert all(n > 0 for s in SERVICES for n in http[s]), http
        clients.close()


def partitions_of(kafka: str, topic: str, wanted) -> list[int]:
    """The partition of every event on ``topic`` that ``wanted`` picks."""
    from kafka import KafkaConsumer

    from shared.events import CloudEvent

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka.split(","),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=3000,
    )
    try:
        return [record.partition for record in consumer if wanted(CloudEvent.from_bytes(record.value))]
    finally:
        consumer.close()
