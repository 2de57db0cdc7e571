"""A cohort's life over time, across the four services running as separate processes (real broker, PostgreSQL).

Driven only through the public HTTP APIs, as staff and trainees would: timetable changes in a running cohort
(attendance's sessions, rates and allowances, certification's claim windows follow them), and an enrollment
that reaches attendance after its cohort was closed (decided at once; nobody is left undecided).

The expected figures are worked out here from DOMAIN.md's rules, not read back from the services:
rate = attended / held; maximum possible rate = (attended + sessions still to come) / scheduled; at risk when
either is below the threshold; per calendar month, nothing when the month's rate is below 80%, else 5,800 KRW
per attended day of 5+ hours (at most 116,000) plus 2,500 KRW per shorter attended day (at most 50,000).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock
from fractions import Fraction

import httpx
import pytest

from shared.events import TRAINEE_COMPLETED, TRAINEE_NOT_COMPLETED, topic_for
from tests.e2e.processes import Platform, platform
from tests.support import EventReader
from trainingops import demo
from trainingops.demo import A, C, Clients, E, Person, ProgrammeSpec

THRESHOLD = Fraction(8, 10)
MONTH_THRESHOLD = Fraction(8, 10)
FULL_DAY_HOURS, FULL_DAY_KRW, FULL_DAY_CAP, SHORT_DAY_KRW, SHORT_DAY_CAP = 5, 5_800, 116_000, 2_500, 50_000
WINDOW_MONTHS = 12


@pytest.fixture(scope="module")
def running(kafka, databases, tmp_path_factory) -> Iterator[Platform]:
    """One platform for the module: each test works in a campus and cohort of its own."""
    with platform(kafka, databases, tmp_path_factory.mktemp("life"), "life") as p:
        yield p


@pytest.fixture()
def clients(running: Platform) -> Iterator[Clients]:
    c = Clients.open(running.urls())
    yield c
    c.close()


# -- the rules, as DOMAIN.md states them ---------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    day: date
    start: clock
    end: clock
    hours: float


def weekday_slots(first: date, last: date, skip: set[date]) -> list[Slot]:
    """Monday to Friday, 09:00-18:00 with an hour's break (8 hours), holidays left out."""
    days = (first + timedelta(n) for n in range((last - first).days + 1))
    return [Slot(d, clock(9), clock(18), 8.0) for d in days if d.weekday() < 5 and d not in skip]


def expected_standing(plan: list[Slot], today: date, absent: set[date]) -> dict:
    """Rate, maximum possible rate, at risk and the monthly unit periods of a trainee who joined on the first day,
    came to every session held so far (those before today) except on the ``absent`` days."""
    held = [s for s in plan if s.day < today]
    attended = [s for s in held if s.day not in absent]
    remaining = len(plan) - len(held)
    rate = Fraction(len(attended), len(held)) if held else Fraction(1)
    maximum = Fraction(len(attended) + remaining, len(plan))
    months = []
    for month in sorted({(s.day.year, s.day.month) for s in plan}):
        in_month = [s for s in plan if (s.day.year, s.day.month) == month]
        m_held = [s for s in in_month if s.day < today]
        m_attended = [s for s in m_held if s.day not in absent]
        full = sum(1 for s in m_attended if s.hours >= FULL_DAY_HOURS)
        short = len(m_attended) - full
        m_rate = Fraction(len(m_attended), len(m_held)) if m_held else None
        pay = 0
        if m_rate is not None and m_rate >= MONTH_THRESHOLD:
            pay = min(full * FULL_DAY_KRW, FULL_DAY_CAP) + min(short * SHORT_DAY_KRW, SHORT_DAY_CAP)
        months.append(
            {
                "month": f"{month[0]:04d}-{month[1]:02d}",
                "scheduled_days": len(in_month),
                "held_days": len(m_held),
                "attended_days": len(m_attended),
                "full_days_attended": full,
                "short_days_attended": short,
                "rate": None if m_rate is None else round(float(m_rate), 4),
                "complete": len(m_held) == len(in_month),
                "allowance_krw": pay,
            }
        )
    return {
        "scheduled_days": len(plan),
        "held_days": len(held),
        "attended_days": len(attended),
        "absences": len(held) - len(attended),
        "remaining_days": remaining,
        "current_rate": round(float(rate), 4),
        "max_possible_rate": round(float(maximum), 4),
        "at_risk": rate < THRESHOLD or maximum < THRESHOLD,
        "months": months,
    }


FIGURES = (
    "scheduled_days",
    "held_days",
    "attended_days",
    "absences",
    "remaining_days",
    "current_rate",
    "max_possible_rate",
    "at_risk",
    "months",
)


def standing_figures(s: dict) -> dict:
    """The figures of attendance's standing that the rules above predict."""
    return {k: s[k] for k in FIGURES}


def last_exam_day(end: date) -> date:
    """While enrolled, an exam up to 12 months after the cohort's end (the latest completion) is inside the window."""
    return demo.add_months(end, WINDOW_MONTHS)


# -- API steps ---------------------------------------------------------------------------------------------
def publish(
    enr: httpx.Client,
    campus: str,
    programme_id: str,
    label: str,
    *,
    opens: date,
    closes: date,
    start: date,
    end: date,
    holidays: tuple[date, ...] = (),
) -> dict:
    body = {
        "programme_id": programme_id,
        "label": label,
        "capacity": 2,
        "application_opens": opens.isoformat(),
        "application_closes": closes.isoformat(),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "timetable": {
            "weekdays": [0, 1, 2, 3, 4],
            "start": "09:00",
            "end": "18:00",
            "break_minutes": 60,
            "holidays": [d.isoformat() for d in holidays],
        },
    }
    return demo.ok(enr.post(f"{E}/cohorts", headers=demo.auth(["admissions"], [campus]), json=body), 201)


def change(enr: httpx.Client, campus: str, cohort_id: str, **body: str) -> httpx.Response:
    return enr.post(
        f"{E}/cohorts/{cohort_id}/timetable-changes",
        headers=demo.auth(["admissions"], [campus], sub="admissions-kim"),
        json=body,
    )


def rules_of(r: httpx.Response) -> list[str]:
    return sorted(e["rule"] for e in r.json().get("errors", []))


def claim(cert: httpx.Client, trainee_id: str, qualification: str, exam: date) -> httpx.Response:
    """The trainee claims an exam fee with their own token."""
    return cert.post(
        f"{C}/claims",
        headers=demo.auth(["trainee"], [], sub=trainee_id),
        json={
            "trainee_id": trainee_id,
            "qualification_code": qualification,
            "stage": "written",
            "exam_date": exam.isoformat(),
            "amount_paid": 14_500,
            "receipt_number": f"QN-{uuid.uuid4().hex[:10].upper()}",
            "admission_slip_number": f"{exam:%y}-1-{uuid.uuid4().int % 10_000:04d}",
        },
    )


def wait_sessions(att: httpx.Client, campus: str, cohort_id: str, plan: list[Slot]) -> list[dict]:
    """Until attendance's sessions are exactly the plan (the change travelled on cohort.rescheduled)."""
    want = sorted((s.day.isoformat(), s.start.strftime("%H:%M"), s.hours) for s in plan)

    def check() -> list[dict] | str:
        rows = demo.ok(att.get(f"{A}/cohorts/{cohort_id}/sessions", headers=demo.auth(["instructor"], [campus])))
        got = sorted((r["date"], r["start"][:5], r["hours"]) for r in rows)
        return rows if got == want else f"sessions {got}"

    return demo.poll(check, what="attendance's sessions to follow the timetable change", timeout=60)


def wait_window(cert: httpx.Client, campus: str, trainee_id: str, cohort_id: str, **want: str | None) -> dict:
    h = demo.auth(["finance"], [campus])

    def check() -> dict | str:
        r = cert.get(f"{C}/trainees/{trainee_id}/windows", headers=h)
        if r.status_code != 200:
            return f"{r.status_code} {r.text[:300]}"
        mine = [w for w in r.json() if w["cohort_id"] == cohort_id]
        return mine[0] if mine and all(mine[0][k] == v for k, v in want.items()) else f"windows {r.json()}"

    return demo.poll(check, what=f"certification's claim window with {want}", timeout=60)


def enrol(clients: Clients, campus: str, cohort: dict, people: list[Person], joined_on: date) -> dict[str, str]:
    """Apply, select, accept (joining on ``joined_on``): trainee id per name."""
    enr = clients.enrollment
    applied = demo.apply_all(enr, campus, cohort["id"], people)
    selection = demo.run_selection(enr, campus, cohort["id"])
    assert selection["selected"] == len(people), selection
    out = {}
    for name, a in applied.items():
        accepted = demo.accept_seat(enr, campus, a["id"], joined_on=joined_on.isoformat())
        assert accepted["status"] == "accepted", accepted
        out[name] = str(accepted["applicant_id"])
    return out


# -- 1. timetable changes ------------------------------------------------------------------------------------
def test_timetable_changes_move_sessions_rates_allowances_and_claim_windows(running, clients):
    enr, att, cert = clients.enrollment, clients.attendance, clients.certification
    campus, qualification = "jungbu", "WELD-CRAFTSMAN"
    today = demo.centre_today()
    start, end = today - timedelta(days=27), today + timedelta(days=17)
    with running.diagnose():
        assert demo.ensure_campus(enr, campus, "Jungbu Campus")
        demo.ensure_qualification(cert, qualification, "Welding Craftsman (용접기능사)")
        programme = demo.create_programme(
            enr,
            ProgrammeSpec(campus, "JB-WELD-LIFE", "Special Welding", "national_qualification", qualification),
        )
        # running for four weeks; today is a holiday, so every session before today has been held, whatever the hour
        cohort = publish(
            enr,
            campus,
            programme["id"],
            "2026-life",
            opens=start - timedelta(days=14),
            closes=today + timedelta(days=3),
            start=start,
            end=end,
            holidays=(today,),
        )
        cid = cohort["id"]
        plan = weekday_slots(start, end, {today})
        assert cohort["session_count"] == len(plan)
        trainees = enrol(clients, campus, cohort, [Person("Kim Minjun", 90), Person("Lee Seoyeon", 85)], start)
        steady, missing = trainees["Kim Minjun"], trainees["Lee Seoyeon"]
        demo.wait_roster(att, campus, cid, {steady, missing})
        wait_sessions(att, campus, cid, plan)

        # every session held so far: the steady trainee came to each, the other missed the last three
        sessions = demo.held_sessions(att, campus, cid)
        assert [s["date"] for s in sessions] == [s.day.isoformat() for s in plan if s.day < today]
        absent = {date.fromisoformat(s["date"]) for s in sessions[-3:]}
        staff = demo.auth(["instructor"], [campus], sub="instructor-park")
        for s in sessions:
            day = date.fromisoformat(s["date"])
            came = [steady] if day in absent else [steady, missing]
            items = [
                {"trainee_id": t, "kind": kind, "method": "card", "at": demo.at(day, hh, mm)}
                for t in came
                for kind, hh, mm in demo.READINGS["present"]
            ]
            report = demo.ok(att.post(f"{A}/sessions/{s['id']}/check-ins/bulk", headers=staff, json={"items": items}))
            assert not report["refused"], report
        for s in sessions[-3:]:
            demo.ok(
                att.put(
                    f"{A}/sessions/{s['id']}/marks/{missing}",
                    headers=staff,
                    json={"mark": "absent", "reason": "did not come, no notice"},
                )
            )

        def check_standings(step: str) -> None:
            for t, away in ((steady, set()), (missing, absent)):
                got = standing_figures(demo.standing_of(att, campus, cid, t))
                assert got == expected_standing(plan, today, away), (step, t, got)

        check_standings("before any change")

        # the claim window reaches 12 months past the cohort's end while the trainee is enrolled
        window = wait_window(cert, campus, steady, cid, end_date=end.isoformat())
        assert window["status"] == "enrolled" and window["last_exam_date"] == last_exam_day(end).isoformat()
        # The first exam day past that window lies more than a year ahead: no claim for it can succeed today (a
        # claim names an exam already sat), so what the extension changes is whether the window rule refuses it.
        beyond = last_exam_day(end) + timedelta(days=1)
        refused = claim(cert, steady, qualification, beyond)
        assert refused.status_code == 422, refused.text
        assert rules_of(refused) == ["claim.exam-date.future", "claim.window.after-end"], refused.text

        # -- a holiday: the first session after today is cancelled -----------------------------------------
        holiday = next(s for s in plan if s.day > today)
        r = change(enr, campus, cid, kind="cancel", session_date=holiday.day.isoformat(), reason="Foundation Day")
        assert r.status_code == 201, r.text
        assert (r.json()["plan_version"], r.json()["kind"]) == (2, "cancel")
        plan = [s for s in plan if s != holiday]
        wait_sessions(att, campus, cid, plan)
        check_standings("after the cancellation")

        # -- a make-up session on the first Saturday ahead, a morning: 09:00-13:00 less the timetable's hour of
        # break is three hours, a short day for the allowance ------------------------------------------------
        saturday = next(today + timedelta(n) for n in range(1, 8) if (today + timedelta(n)).weekday() == 5)
        r = change(
            enr, campus, cid, kind="add", date=saturday.isoformat(), start="09:00", end="13:00", reason="make-up day"
        )
        assert r.status_code == 201, r.text
        assert r.json()["plan_version"] == 3 and r.json()["new_session"]["hours"] == 3.0
        plan = sorted([*plan, Slot(saturday, clock(9), clock(13), 3.0)], key=lambda s: s.day)
        wait_sessions(att, campus, cid, plan)
        check_standings("after the make-up session")

        # -- the end date moves a week later; a session there is refused before, taken after -----------------
        new_end = end + timedelta(days=7)
        r = change(
            enr, campus, cid, kind="add", date=new_end.isoformat(), start="09:00", end="18:00", reason="final day"
        )
        assert r.status_code == 409 and rules_of(r) == ["timetable.outside-cohort"], r.text
        r = change(enr, campus, cid, kind="extend", end_date=new_end.isoformat(), reason="two sessions to make up")
        assert r.status_code == 201, r.text
        assert (r.json()["plan_version"], r.json()["old_end_date"], r.json()["new_end_date"]) == (
            4,
            end.isoformat(),
            new_end.isoformat(),
        )
        r = change(
            enr, campus, cid, kind="add", date=new_end.isoformat(), start="09:00", end="18:00", reason="final day"
        )
        assert r.status_code == 201 and r.json()["plan_version"] == 5, r.text
        plan = [*plan, Slot(new_end, clock(9), clock(18), 8.0)]
        wait_sessions(att, campus, cid, plan)
        check_standings("after the extension")
        assert demo.ok(att.get(f"{A}/cohorts/{cid}", headers=staff))["end_date"] == new_end.isoformat()

        # certification: the window followed the new end date; the same exam is no longer outside it
        window = wait_window(cert, campus, steady, cid, end_date=new_end.isoformat())
        assert window["status"] == "enrolled" and window["last_exam_date"] == last_exam_day(new_end).isoformat()
        assert beyond <= last_exam_day(new_end)
        again = claim(cert, steady, qualification, beyond)
        assert again.status_code == 422 and rules_of(again) == ["claim.exam-date.future"], again.text
        # and an exam sat while enrolled is claimed
        taken = claim(cert, steady, qualification, today - timedelta(days=3))
        assert taken.status_code == 201, taken.text
        assert taken.json()["status"] == "submitted" and taken.json()["cohort_id"] == cid

        changes = demo.ok(enr.get(f"{E}/cohorts/{cid}/timetable-changes", headers=demo.auth(["admissions"], [campus])))
        assert [(c["plan_version"], c["kind"]) for c in changes] == [
            (2, "cancel"),
            (3, "add"),
            (4, "extend"),
            (5, "add"),
        ]


# -- 2. nobody left undecided --------------------------------------------------------------------------------
def test_an_enrollment_reaching_a_closed_cohort_is_decided_at_once(running, clients, kafka):
    """A cohort that has ended takes no seat and no new plan. A cohort on its last day, closed by the office in
    attendance that morning, still takes a seat in enrollment: the enrollment reaches attendance after the close
    and is decided at once, dated the closing day, and certification's window closes on that day."""
    enr, att, cert = clients.enrollment, clients.attendance, clients.certification
    campus, qualification = "dongbu", "ELEC-CRAFTSMAN"
    today = demo.centre_today()
    yesterday = today - timedelta(days=1)
    start = today - timedelta(days=20)
    reader = EventReader(kafka, topic_for("attendance"))
    try:
        with running.diagnose():
            assert demo.ensure_campus(enr, campus, "Dongbu Campus")
            demo.ensure_qualification(cert, qualification, "Electrician Craftsman (전기기능사)")
            programme = demo.create_programme(
                enr, ProgrammeSpec(campus, "DB-ELEC-LATE", "Electrical works", "national_qualification", qualification)
            )
            admissions = demo.auth(["admissions"], [campus])
            # a cohort whose last day was yesterday, its applications still open: no seat, no new plan
            ended = publish(
                enr,
                campus,
                programme["id"],
                "2026-ended",
                opens=start - timedelta(days=14),
                closes=today + timedelta(days=3),
                start=start,
                end=yesterday,
            )
            demo.apply_all(enr, campus, ended["id"], [Person("Han Sora", 80, gender="female")])
            r = enr.post(f"{E}/cohorts/{ended['id']}/selection", headers=admissions)
            assert r.status_code == 409 and rules_of(r) == ["seat.cohort-ended"], r.text
            r = change(enr, campus, ended["id"], kind="extend", end_date=today.isoformat(), reason="assessment day")
            assert r.status_code == 409 and rules_of(r) == ["timetable.cohort-ended"], r.text

            # a cohort on its last day
            cohort = publish(
                enr,
                campus,
                programme["id"],
                "2026-late",
                opens=start - timedelta(days=14),
                closes=today + timedelta(days=3),
                start=start,
                end=today,
            )
            cid = cohort["id"]
            applied = demo.apply_all(enr, campus, cid, [Person("Park Jiho", 80, gender="male")])
            app_id = applied["Park Jiho"]["id"]

            # attendance: the office closes it this morning (nobody on its roster yet)
            instructor = demo.auth(["instructor"], [campus])
            demo.poll(
                lambda: att.get(f"{A}/cohorts/{cid}", headers=instructor).status_code == 200,
                what="attendance to know the cohort",
            )
            closed = demo.close_cohort(att, campus, cid)
            assert (closed["closed_on"], closed["completed"], closed["not_completed"]) == (today.isoformat(), 0, 0)

            # admissions, unaware, fills the seat, the trainee having come from the start
            assert demo.run_selection(enr, campus, cid)["selected"] == 1
            # joining today would be more than the late-join limit (14 days) after the start
            r = enr.post(f"{E}/applications/{app_id}/accept", headers=admissions, json={"joined_on": today.isoformat()})
            assert r.status_code == 409 and rules_of(r) == ["seat.join-too-late"], r.text
            accepted = demo.accept_seat(enr, campus, app_id, joined_on=start.isoformat())
            assert accepted["status"] == "accepted", accepted
            trainee = str(accepted["applicant_id"])

            # attendance decides the trainee at once, by the completion rule over the sessions from the join date
            # to the closing day: none was attended (nothing recorded on a held session is an absence)
            def decided() -> dict | str:
                rows = demo.ok(att.get(f"{A}/cohorts/{cid}/roster", headers=instructor))
                row = next((x for x in rows if x["trainee_id"] == trainee), None)
                return row if row and row["outcome"] else f"roster {rows}"

            row = demo.poll(decided, what="attendance's decision of the late enrollment")
            assert (row["outcome"], row["late_decision"], row["enrolled_on"]) == (
                "not_completed",
                True,
                start.isoformat(),
            ), row
            assert row["decided_at"]
            s = demo.standing_of(att, campus, cid, trainee)
            held = weekday_slots(start, yesterday, set())  # today's session may not have been held yet
            assert (s["outcome"], s["final_rate"], s["late_decision"]) == ("not_completed", 0.0, True), s
            assert s["attended_days"] == 0 and s["absences"] >= len(held), s
            cohort_now = demo.ok(att.get(f"{A}/cohorts/{cid}", headers=instructor))
            assert cohort_now["closed_on"] == today.isoformat() and cohort_now["roster_size"] == 1

            # enrollment: the enrollment leaves "enrolled" with the decision
            rows = demo.wait_enrollment_statuses(enr, campus, cid, {trainee: "not_completed"})
            assert rows[trainee]["outcome_date"] == today.isoformat() and rows[trainee]["final_rate"] == 0.0

            # certification: the window closed on the closing day; an exam after it is outside (and in the future:
            # both rules are named), the closing day itself is still inside
            window = wait_window(cert, campus, trainee, cid, status="not_completed")
            assert (window["closed_on"], window["last_exam_date"]) == (today.isoformat(), today.isoformat())
            refused = claim(cert, trainee, qualification, today + timedelta(days=1))
            assert refused.status_code == 422 and "claim.window.after-dropout" in rules_of(refused), refused.text
            inside = claim(cert, trainee, qualification, today)
            assert inside.status_code == 201, inside.text

            # exactly one decision event, published by attendance
            def mine(kind: str) -> list:
                return [
                    e
                    for e in reader.events
                    if e.type == kind and e.data["cohort_id"] == cid and e.data["trainee_id"] == trainee
                ]

            reader.wait_for(lambda _: bool(mine(TRAINEE_NOT_COMPLETED)))
            end = time.monotonic() + 3  # long enough for a second one to show
            while time.monotonic() < end:
                reader.poll()
            [event] = mine(TRAINEE_NOT_COMPLETED)
            assert (event.data["date"], event.data["final_rate"], event.data["reason"]) == (
                today.isoformat(),
                0.0,
                "below_threshold",
            ), event.data
            assert mine(TRAINEE_COMPLETED) == []
    finally:
        reader.close()
