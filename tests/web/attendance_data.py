"""A cohort for the attendance room's tests, built through the public APIs as admissions and an instructor would.

The cohort started five weeks ago and meets every day; today's session starts about twenty minutes from now
(Seoul time), so a kiosk check-in made now is inside the check-in window and on time. Every earlier session is
filled by card readings (one bulk request per session); one trainee ("dropping") skipped every other day after
the first week and is at risk. Names are Korean, as entered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import httpx

from trainingops import demo

NAMES = ("김민준", "이서연", "박지호", "최다은", "정유나", "한소라")
DROPPING = "최다은"


@dataclass
class AttendanceCohort:
    campus: str
    cohort_id: str
    trainees: dict[str, str]  # name -> trainee id
    today_session: dict
    past_sessions: list[dict]
    start: time
    end: time
    marks: dict[str, dict[str, str]] = field(default_factory=dict)  # trainee id -> {date: mark} seeded

    @property
    def dropping(self) -> str:
        return self.trainees[DROPPING]


def timetable_now() -> tuple[time, time]:
    """A session that opens for check-ins now: it starts 20 minutes from now (5-minute steps), runs 6 hours or to
    23:55. (Run within 20 minutes of midnight Seoul time, today's session would be tomorrow's.)"""
    now = datetime.now(demo.SEOUL).replace(second=0, microsecond=0, tzinfo=None)
    start = now + timedelta(minutes=20)
    start -= timedelta(minutes=start.minute % 5)
    if start.date() != now.date():
        start = datetime.combine(now.date(), time(23, 40))
    end = min(start + timedelta(hours=6), datetime.combine(start.date(), time(23, 55)))
    return start.time(), end.time()


def build(urls: dict[str, str], campus: str | None = None) -> AttendanceCohort:
    campus = campus or f"att{uuid.uuid4().hex[:6]}"
    c = demo.Clients.open(urls)
    try:
        return _build(c, campus)
    finally:
        c.close()


def _build(c: demo.Clients, campus: str) -> AttendanceCohort:
    enr, att = c.enrollment, c.attendance
    adm = demo.auth(["admissions"], [campus])
    demo.ensure_campus(enr, campus, "중부캠퍼스 (출결 시험)")
    programme = demo.create_programme(
        enr,
        demo.ProgrammeSpec(
            campus, f"WELD-{campus.upper()}", "특수용접 실무", "national_qualification", total_hours=960
        ),
    )
    start, end = timetable_now()
    today = demo.centre_today()
    first = today - timedelta(days=35)
    cohort = demo.ok(
        enr.post(
            f"{demo.E}/cohorts",
            headers=adm,
            json={
                "programme_id": programme["id"],
                "label": "2026-출결",
                "capacity": len(NAMES),
                "application_opens": (first - timedelta(days=14)).isoformat(),
                "application_closes": (demo.centre_today() + timedelta(days=3)).isoformat(),
                "start_date": first.isoformat(),
                "end_date": (today + timedelta(days=14)).isoformat(),
                "timetable": {
                    "weekdays": [0, 1, 2, 3, 4, 5, 6],
                    "start": start.strftime("%H:%M"),
                    "end": end.strftime("%H:%M"),
                    "break_minutes": 0,
                    "holidays": [],
                },
            },
        ),
        201,
    )
    cid = cohort["id"]
    people = [demo.Person(n, 95 - 3 * i, gender="female" if i % 2 else "male") for i, n in enumerate(NAMES)]
    applied = demo.apply_all(enr, campus, cid, people)
    demo.run_selection(enr, campus, cid)
    trainees = {
        name: demo.accept_seat(enr, campus, a["id"], joined_on=first.isoformat())["applicant_id"]
        for name, a in applied.items()
    }
    demo.wait_roster(att, campus, cid, set(trainees.values()))

    h = demo.auth(["instructor"], [campus], sub="instructor-park")
    sessions = sorted(demo.ok(att.get(f"{demo.A}/cohorts/{cid}/sessions", headers=h)), key=lambda s: s["date"])
    past = [s for s in sessions if s["date"] < today.isoformat()]
    todays = [s for s in sessions if s["date"] == today.isoformat()]
    assert todays, f"no session today ({today}) in {[s['date'] for s in sessions][-5:]}"
    dropping = trainees[DROPPING]
    seeded: dict[str, dict[str, str]] = {t: {} for t in trainees.values()}
    for i, s in enumerate(past):
        day = date.fromisoformat(s["date"])
        came = [t for t in trainees.values() if not (t == dropping and i >= 7 and i % 2 == 1)]
        items = [
            {
                "trainee_id": t,
                "kind": kind,
                "method": "card",
                "at": datetime.combine(day, clock, tzinfo=demo.SEOUL).isoformat(),
            }
            for t in came
            for kind, clock in (("in", _shift(start, -5)), ("out", _shift(end, 2)))
        ]
        report = demo.ok(att.post(f"{demo.A}/sessions/{s['id']}/check-ins/bulk", headers=h, json={"items": items}))
        assert not report["refused"], report["rows"][:3]
        for t in trainees.values():
            seeded[t][s["date"]] = "present" if t in came else "absent"
    absences = [s for s in past if seeded[dropping][s["date"]] == "absent"]
    # The instructor records the latest no-show: attendance re-evaluates the trainee and warns.
    demo.ok(
        att.put(
            f"{demo.A}/sessions/{absences[-1]['id']}/marks/{dropping}",
            headers=h,
            json={"mark": "absent", "reason": "연락 없이 결석"},
        )
    )
    return AttendanceCohort(
        campus=campus,
        cohort_id=cid,
        trainees=trainees,
        today_session=todays[0],
        past_sessions=past,
        start=start,
        end=end,
        marks=seeded,
    )


def _shift(t: time, minutes: int) -> time:
    return (datetime.combine(date(2000, 1, 1), t) + timedelta(minutes=minutes)).time()


def instructor(campus: str) -> dict[str, str]:
    return demo.auth(["instructor"], [campus], sub="instructor-park")


def api(urls: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=urls["attendance"], timeout=30)
