"""One cohort's whole journey through the four public APIs, written once.

``trainingops demo`` runs it for a demo centre (three Seoul campuses) against ``make run``;
``tests/e2e`` runs the same steps against the services started as separate processes.
Every step is a plain function taking an ``httpx.Client`` per service (``base_url`` the
service's root). Nothing here calls a service's internals: only HTTP, with locally minted
tokens; what one service learns from another arrives through Kafka, so the steps that
depend on an event poll until it has arrived (or fail with what they last saw).

Dates are chosen so the journey works on any day: the cohort started 30 days ago and ends
two weeks ahead (so applications are still open today and staff can enter the past
sessions' marks); today is a timetable holiday, so every session up to the close has
already been held, whatever the hour; attendance's close endpoint ends the cohort today.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.attendance.domain import standing as attendance_rules
from shared.auth import mint_token
from shared.clock import Clock
from shared.registry import BY_NAME, NAMES
from shared.settings import LOCAL_JWT_SECRET

E, A, C, P = (BY_NAME[name].api for name in ("enrollment", "attendance", "certification", "placement"))
COMPLETION_THRESHOLD = 0.8  # the demo's programmes ask for 80% of the training days
SEOUL = ZoneInfo("Asia/Seoul")
Report = Callable[[str, str], None]  # (service, what happened)


class StepFailed(AssertionError):
    """A step of the journey did not get the answer it needed; the message says what it got."""


# -- plumbing ------------------------------------------------------------------
@dataclass
class Clients:
    enrollment: httpx.Client
    attendance: httpx.Client
    certification: httpx.Client
    placement: httpx.Client

    @classmethod
    def open(cls, urls: dict[str, str], timeout: float = 60.0) -> Clients:
        return cls(**{name: httpx.Client(base_url=urls[name], timeout=timeout) for name in NAMES})

    def close(self) -> None:
        for c in (self.enrollment, self.attendance, self.certification, self.placement):
            c.close()


def auth(roles: list[str], campuses: list[str], sub: str | None = None) -> dict[str, str]:
    """A bearer header with a locally minted HS256 token (TRAININGOPS_JWT_SECRET, else the local default)."""
    secret = os.environ.get("TRAININGOPS_JWT_SECRET", LOCAL_JWT_SECRET)
    return {
        "Authorization": "Bearer " + mint_token(sub or f"demo-{roles[0]}", roles, campuses, secret=secret, ttl_s=3600)
    }


def ok(r: httpx.Response, *statuses: int) -> Any:
    """The JSON body when the status is expected, else a StepFailed naming the call and the answer."""
    if r.status_code not in (statuses or (200,)):
        raise StepFailed(
            f"{r.request.method} {r.request.url} answered {r.status_code}, expected "
            f"{' or '.join(map(str, statuses or (200,)))}: {r.text[:3000]}"
        )
    return r.json()


def poll(check: Callable[[], Any], *, what: str, timeout: float = 60.0, interval: float = 0.3) -> Any:
    """Call ``check`` until it returns something truthy; StepFailed (with its last answer) after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except httpx.HTTPError as exc:  # a service still starting or restarting
            last = f"{type(exc).__name__}: {exc}"
        if last and not isinstance(last, str):
            return last
        if time.monotonic() > deadline:
            raise StepFailed(f"waited {timeout:.0f}s for {what}; last seen: {str(last)[:2000]}")
        time.sleep(interval)


def centre_today() -> date:
    """The centre's today, as every service's clock reads it (the platform's default zone)."""
    return Clock().today()


def at(day: date, hh: int, mm: int = 0) -> str:
    return datetime.combine(day, clock(hh, mm), tzinfo=SEOUL).isoformat()


# -- the people and the plan -----------------------------------------------------------
# How a trainee attends the held sessions: a mark per session index, given how many were held.
ATTENDANCE_PLANS = ("steady", "late", "excused", "dropping")


def planned_marks(plan: str, held: int) -> list[str]:
    """``steady``: always on time; ``late``: late twice and left early once (minor marks, which attendance's rule
    turns into an absence); ``excused``: missed one day for a job interview, excused with evidence; ``dropping``:
    a good first week, then absent every other day, well below 80%."""
    marks = ["present"] * held
    if plan == "late":
        for i, m in ((1, "late"), (held // 2, "late"), (held - 2, "early_leave")):
            marks[i] = m
    elif plan == "excused":
        marks[held // 3] = "excused"
    elif plan == "dropping":
        for i in range(max(held // 4, 1), held, 2):
            marks[i] = "absent"
    elif plan != "steady":
        raise ValueError(f"unknown attendance plan {plan!r}")
    return marks


def expected_standing(
    marks: list[str], sessions: list[dict], threshold: float = COMPLETION_THRESHOLD
) -> dict[str, Any]:
    """What attendance should report once these marks of the held sessions are in, worked out with attendance's
    own rules (its domain: which marks are minor, how many of them make an absence), not a copy of them."""
    days = [
        attendance_rules.Day(date.fromisoformat(s["date"]), s["hours"], m) for s, m in zip(sessions, marks, strict=True)
    ]
    counts = attendance_rules.counts(days)
    return {
        "scheduled": counts.scheduled,
        "attended": counts.attended,
        "minor": counts.minor,
        "rate": float(attendance_rules.final_rate(counts)),
        "completed": attendance_rules.completed(counts, threshold),
    }


@dataclass
class Person:
    name: str
    score: float
    birth_date: str = "1993-04-12"
    gender: str = "female"
    residency: str = "city_resident"
    priority: list[str] = field(default_factory=list)
    career_break: bool = False
    plan: str = "steady"  # how they attend, if selected
    outcome: str | None = None  # placement outcome category, if they complete
    wage: int | None = None


@dataclass
class ProgrammeSpec:
    campus: str
    code: str
    title: str
    track: str
    qualification: str | None = None  # the national qualification whose exam fee a completer claims
    qualification_name: str = ""
    total_hours: int = 600
    career_break_women_only: bool = False


# -- enrollment ------------------------------------------------------------------
def ensure_campus(enr: httpx.Client, code: str, name: str) -> bool:
    """Create the campus; False when it exists already (a second demo run)."""
    r = enr.post(
        f"{E}/campuses", headers=auth(["admissions"], [code]), json={"code": code, "name": name, "city": "Seoul"}
    )
    if r.status_code == 409:
        return False
    ok(r, 201)
    return True


def create_programme(enr: httpx.Client, spec: ProgrammeSpec) -> dict:
    return ok(
        enr.post(
            f"{E}/programmes",
            headers=auth(["admissions"], [spec.campus]),
            json={
                "code": spec.code,
                "title": spec.title,
                "campus": spec.campus,
                "track": spec.track,
                "total_hours": spec.total_hours,
                "completion_threshold": COMPLETION_THRESHOLD,
                "qualification_codes": [spec.qualification] if spec.qualification else [],
                "career_break_women_only": spec.career_break_women_only,
            },
        ),
        201,
    )


def publish_cohort(enr: httpx.Client, campus: str, programme_id: str, label: str, capacity: int) -> dict:
    """Started 30 days ago, ends in two weeks, applications still open; today is a holiday (see the module doc)."""
    today = centre_today()
    start = today - timedelta(days=30)
    holidays = [today.isoformat()]
    return ok(
        enr.post(
            f"{E}/cohorts",
            headers=auth(["admissions"], [campus]),
            json={
                "programme_id": programme_id,
                "label": label,
                "capacity": capacity,
                "application_opens": (start - timedelta(days=14)).isoformat(),
                "application_closes": (today + timedelta(days=3)).isoformat(),
                "start_date": start.isoformat(),
                "end_date": (today + timedelta(days=14)).isoformat(),
                "timetable": {
                    "weekdays": [0, 1, 2, 3, 4],
                    "start": "09:00",
                    "end": "18:00",
                    "break_minutes": 60,
                    "holidays": holidays,
                },
            },
        ),
        201,
    )


def apply_all(enr: httpx.Client, campus: str, cohort_id: str, people: list[Person]) -> dict[str, dict]:
    """Each person registers as an applicant and applies; returns the application per name."""
    h = auth(["admissions"], [campus])
    out = {}
    for p in people:
        applicant = ok(
            enr.post(
                f"{E}/applicants",
                headers=h,
                json={
                    "campus": campus,
                    "name": p.name,
                    "birth_date": p.birth_date,
                    "gender": p.gender,
                    "residency_status": p.residency,
                    "priority_categories": p.priority,
                    "career_break": p.career_break,
                },
            ),
            201,
        )
        out[p.name] = ok(
            enr.post(
                f"{E}/applications",
                headers=h,
                json={"applicant_id": applicant["id"], "cohort_id": cohort_id, "score": p.score},
            ),
            201,
        )
    return out


def applications_of(enr: httpx.Client, campus: str, cohort_id: str) -> dict[str, dict]:
    """The cohort's applications by id."""
    page = ok(
        enr.get(
            f"{E}/applications", headers=auth(["admissions"], [campus]), params={"cohort_id": cohort_id, "limit": 500}
        )
    )
    return {a["id"]: a for a in page["items"]}


def run_selection(enr: httpx.Client, campus: str, cohort_id: str) -> dict:
    return ok(enr.post(f"{E}/cohorts/{cohort_id}/selection", headers=auth(["admissions"], [campus])))


def accept_seat(enr: httpx.Client, campus: str, application_id: str, joined_on: str | None = None) -> dict:
    """Take the seat; ``joined_on`` records the day the trainee joined when it was before today (the demo's
    cohorts started a month ago, and their trainees with them)."""
    return ok(
        enr.post(
            f"{E}/applications/{application_id}/accept",
            headers={**auth(["admissions"], [campus]), "Idempotency-Key": f"accept-{application_id}"},
            json={"joined_on": joined_on} if joined_on else None,
        )
    )


def enrollments_of(enr: httpx.Client, campus: str, cohort_id: str) -> dict[str, dict]:
    """The cohort's enrollments by trainee id."""
    page = ok(
        enr.get(
            f"{E}/enrollments", headers=auth(["admissions"], [campus]), params={"cohort_id": cohort_id, "limit": 500}
        )
    )
    return {e["trainee_id"]: e for e in page["items"]}


def wait_enrollment_statuses(
    enr: httpx.Client, campus: str, cohort_id: str, expected: dict[str, str], timeout: float = 60.0
) -> dict[str, dict]:
    """Until enrollment shows each trainee's expected status (completion arrives from attendance by Kafka)."""

    def check() -> dict[str, dict] | str:
        rows = enrollments_of(enr, campus, cohort_id)
        seen = {t: rows[t]["status"] if t in rows else None for t in expected}
        return rows if seen == expected else f"statuses {seen}"

    return poll(check, what="enrollment statuses from attendance's completion events", timeout=timeout)


# -- attendance ------------------------------------------------------------------
def wait_roster(
    att: httpx.Client, campus: str, cohort_id: str, trainee_ids: set[str], timeout: float = 60.0
) -> list[dict]:
    """Until attendance's roster (built from trainee.enrolled on Kafka) holds exactly these trainees."""
    h = auth(["instructor"], [campus])

    def check() -> list[dict] | str:
        r = att.get(f"{A}/cohorts/{cohort_id}/roster", headers=h)
        if r.status_code != 200:
            return f"{r.status_code} {r.text[:300]}"
        rows = r.json()
        return rows if {row["trainee_id"] for row in rows} == trainee_ids else f"{len(rows)} on the roster"

    return poll(check, what=f"attendance's roster of {len(trainee_ids)} trainees", timeout=timeout)


def held_sessions(att: httpx.Client, campus: str, cohort_id: str) -> list[dict]:
    """The sessions before today (today is a holiday): every one held, each needs a mark."""
    sessions = ok(att.get(f"{A}/cohorts/{cohort_id}/sessions", headers=auth(["instructor"], [campus])))
    cutoff = centre_today().isoformat()
    return sorted((s for s in sessions if s["date"] < cutoff), key=lambda s: s["date"])


READINGS = {
    "present": [("in", 8, 55), ("out", 18, 2)],
    "late": [("in", 9, 25), ("out", 18, 1)],
    "early_leave": [("in", 8, 50), ("out", 16, 30)],
}


def record_attendance(
    att: httpx.Client, campus: str, cohort_id: str, plans: dict[str, str], report: Report | None = None
) -> dict[str, dict]:
    """A month of card readings (one bulk request per session), the excuse and the last absence entered by staff.

    Returns the expected standing per trainee, computed from the sessions the API returned."""
    h = auth(["instructor"], [campus], sub="instructor-park")
    sessions = held_sessions(att, campus, cohort_id)
    if len(sessions) < 10:
        raise StepFailed(f"only {len(sessions)} sessions were held; the journey needs at least 10")
    marks = {t: planned_marks(plan, len(sessions)) for t, plan in plans.items()}
    # The month is entered after the fact, so the on-time readings go first and the lates / early leaves after:
    # attendance re-evaluates a trainee on a late mark, and by then the trainee's other days must be on record
    # (a past session with nothing recorded is an absence, which would raise a false at-risk warning).
    for kinds in (("present",), ("late", "early_leave")):
        for i, s in enumerate(sessions):
            day = date.fromisoformat(s["date"])
            want = {t: ms[i] for t, ms in marks.items() if ms[i] in kinds}
            if not want:
                continue
            items = [
                {"trainee_id": t, "kind": kind, "method": "card", "at": at(day, hh, mm)}
                for t, m in want.items()
                for kind, hh, mm in READINGS[m]
            ]
            rep = ok(att.post(f"{A}/sessions/{s['id']}/check-ins/bulk", headers=h, json={"items": items}))
            if rep["refused"]:
                raise StepFailed(f"readings refused on {s['date']}: {rep['rows']}")
            got = {row["trainee_id"]: row["mark"] for row in rep["rows"]}
            if got != want:
                raise StepFailed(f"marks on {s['date']}: expected {want}, got {got}")
    for t, ms in marks.items():
        for i, m in enumerate(ms):
            if m == "excused":
                ok(
                    att.put(
                        f"{A}/sessions/{sessions[i]['id']}/marks/{t}",
                        headers=h,
                        json={
                            "mark": "excused",
                            "reason": "employer's interview, invitation letter on file",
                            "reason_code": "job_interview",
                            "evidence_ref": "INTERVIEW-2026-0042",
                        },
                    )
                )
        absences = [i for i, m in enumerate(ms) if m == "absent"]
        if absences:  # the instructor records the latest no-show; attendance re-evaluates and warns
            ok(
                att.put(
                    f"{A}/sessions/{sessions[absences[-1]]['id']}/marks/{t}",
                    headers=h,
                    json={"mark": "absent", "reason": "did not come, no notice"},
                )
            )
    if report:
        report(
            "attendance",
            f"{len(sessions)} sessions held; "
            f"{sum(len(READINGS.get(m, [])) for ms in marks.values() for m in ms)} card readings, "
            f"{sum(ms.count('excused') for ms in marks.values())} excuse(s), "
            f"{sum(ms.count('absent') for ms in marks.values())} absence(s)",
        )
    return {t: {**expected_standing(ms, sessions), "marks": ms, "sessions": sessions} for t, ms in marks.items()}


def standing_of(att: httpx.Client, campus: str, cohort_id: str, trainee_id: str) -> dict:
    rows = ok(
        att.get(
            f"{A}/trainees/{trainee_id}/attendance",
            headers=auth(["instructor"], [campus]),
            params={"cohort_id": cohort_id},
        )
    )
    return rows[0]


def at_risk(att: httpx.Client, campus: str, cohort_id: str) -> list[dict]:
    return ok(att.get(f"{A}/at-risk", headers=auth(["instructor"], [campus]), params={"cohort_id": cohort_id}))["items"]


def close_cohort(att: httpx.Client, campus: str, cohort_id: str) -> dict:
    return ok(att.post(f"{A}/cohorts/{cohort_id}/close", headers=auth(["instructor"], [campus])))


# -- certification ----------------------------------------------------------------
def ensure_qualification(
    cert: httpx.Client, code: str, name: str, grade: str = "craftsman", written_fee: int = 14_500
) -> dict:
    return ok(
        cert.put(
            f"{C}/qualifications/{code}",
            headers=auth(["finance"], ["*"]),
            json={"code": code, "name": name, "grade": grade, "written_fee": written_fee, "practical_fee": None},
        )
    )


def wait_claim_window(
    cert: httpx.Client, campus: str, trainee_id: str, cohort_id: str, status: str, timeout: float = 60.0
) -> dict:
    h = auth(["finance"], [campus])

    def check() -> dict | str:
        r = cert.get(f"{C}/trainees/{trainee_id}/windows", headers=h)
        if r.status_code != 200:
            return f"{r.status_code} {r.text[:300]}"
        mine = [w for w in r.json() if w["cohort_id"] == cohort_id]
        return mine[0] if mine and mine[0]["status"] == status else f"windows {r.json()}"

    return poll(check, what=f"certification's {status} claim window", timeout=timeout)


@dataclass
class Payment:
    claim: dict
    approved: dict
    payout: dict
    retry_status: int
    retry: dict
    other_key_status: int
    other_key: dict


def claim_and_pay(
    cert: httpx.Client, campus: str, trainee_id: str, qualification: str, exam_date: date, amount_paid: int = 14_500
) -> Payment:
    """The trainee claims with their own token; finance approves and pays; the payment is retried with the same
    Idempotency-Key (same payout) and once with another key (a 409 naming the payout)."""
    me = auth(["trainee"], [], sub=trainee_id)
    finance = auth(["finance"], [campus], sub="finance-choi")
    claim = ok(
        cert.post(
            f"{C}/claims",
            headers=me,
            json={
                "trainee_id": trainee_id,
                "qualification_code": qualification,
                "stage": "written",
                "exam_date": exam_date.isoformat(),
                "amount_paid": amount_paid,
                "receipt_number": f"QN-{uuid.uuid4().hex[:10].upper()}",
                "admission_slip_number": f"{exam_date:%y}-1-{uuid.uuid4().int % 10_000:04d}",
            },
        ),
        201,
    )
    approved = ok(cert.post(f"{C}/claims/{claim['id']}/approve", headers=finance))
    key = {"Idempotency-Key": f"pay-{claim['id']}"}
    payout = ok(cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, **key}))
    retry = cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, **key})
    other = cert.post(f"{C}/claims/{claim['id']}/pay", headers={**finance, "Idempotency-Key": f"other-{uuid.uuid4()}"})
    return Payment(claim, approved, payout, retry.status_code, retry.json(), other.status_code, other.json())


def record_certificate(cert: httpx.Client, campus: str, trainee_id: str, qualification: str, on: date) -> dict:
    return ok(
        cert.post(
            f"{C}/results",
            headers=auth(["finance"], [campus]),
            json={"trainee_id": trainee_id, "qualification_code": qualification, "date": on.isoformat()},
        ),
        201,
    )


# -- placement ----------------------------------------------------------------------
def placement_auth(campus: str) -> dict[str, str]:
    return auth(["placement"], [campus], sub="officer-yoon")


def wait_graduates(
    plc: httpx.Client,
    campus: str,
    cohort_id: str,
    trainee_ids: set[str],
    certified: set[str] = frozenset(),
    timeout: float = 60.0,
) -> dict[str, dict]:
    """Until placement follows exactly these graduates (from trainee.completed) and knows the certificates."""
    h = placement_auth(campus)

    def check() -> dict[str, dict] | str:
        page = ok(plc.get(f"{P}/graduates", headers=h, params={"cohort_id": cohort_id, "limit": 500}))
        rows = {g["id"]: g for g in page["items"]}
        if set(rows) != trainee_ids:
            return f"{len(rows)} graduates"
        missing = [t for t in certified if not rows[t]["first_qualification"]]
        return rows if not missing else f"no certificate yet for {missing}"

    return poll(check, what=f"placement's {len(trainee_ids)} graduates", timeout=timeout)


def add_months(day: date, months: int) -> date:
    import calendar

    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def followups_due(plc: httpx.Client, campus: str, cohort_id: str, on: date) -> list[dict]:
    return ok(
        plc.get(
            f"{P}/followups",
            headers=placement_auth(campus),
            params={"cohort_id": cohort_id, "on": on.isoformat(), "limit": 500},
        )
    )["items"]


def graduate(plc: httpx.Client, campus: str, trainee_id: str) -> dict:
    return ok(plc.get(f"{P}/graduates/{trainee_id}", headers=placement_auth(campus)))


def record_outcome(
    plc: httpx.Client,
    campus: str,
    trainee_id: str,
    category: str,
    as_of: date,
    completion: date,
    wage: int | None = None,
) -> dict:
    body: dict[str, Any] = {"graduate_id": trainee_id, "category": category, "as_of": as_of.isoformat()}
    if category in ("employed", "self_employed"):
        body["employment"] = {
            "employer_name": "Hanbit Robotics" if category == "employed" else "own start-up",
            "start_date": (completion + timedelta(days=10)).isoformat(),
            "employment_type": "regular" if category == "employed" else None,
            "insured": category == "employed",
            "monthly_wage": wage,
        }
    return ok(plc.post(f"{P}/outcomes", headers=placement_auth(campus), json=body), 201)


def employment_report(plc: httpx.Client, campus: str, cohort_id: str, as_of: date) -> dict:
    return ok(
        plc.get(
            f"{P}/reports/employment",
            headers=placement_auth(campus),
            params={"cohort_id": cohort_id, "as_of": as_of.isoformat()},
        )
    )


# -- one cohort, start to finish ----------------------------------------------------------
@dataclass
class CohortJourney:
    """What a whole journey produced, for printing or asserting."""

    programme: dict
    cohort: dict
    applications: dict[str, dict]  # by name, after selection
    selection: dict
    trainees: dict[str, str]  # name -> trainee id (the accepted)
    expected: dict[str, dict]  # trainee id -> expected standing
    closed: dict
    completers: set[str]
    non_completers: set[str]
    payment: Payment | None
    certificate: dict | None
    completion_date: date
    followups: list[dict]
    outcomes: dict[str, dict]
    report: dict
    steps: list[tuple[str, str]] = field(default_factory=list)


def run_cohort_journey(
    clients: Clients,
    spec: ProgrammeSpec,
    people: list[Person],
    *,
    capacity: int,
    label: str = "demo",
    report: Report | None = None,
    timeout: float = 90.0,
) -> CohortJourney:
    """Applicants apply -> selection with the priority quota -> seats accepted -> a month of attendance -> close ->
    completions -> an exam fee claimed, approved and paid once -> certificate -> follow-ups -> outcomes -> report."""
    steps: list[tuple[str, str]] = []

    def say(service: str, what: str) -> None:
        steps.append((service, what))
        if report:
            report(service, what)

    enr, att, cert, plc = clients.enrollment, clients.attendance, clients.certification, clients.placement
    campus = spec.campus
    if spec.qualification:
        q = ensure_qualification(cert, spec.qualification, spec.qualification_name or spec.qualification)
        say("certification", f"qualification {q['code']} in the catalogue (written fee {q['written_fee']:,} KRW)")
    programme = create_programme(enr, spec)
    cohort = publish_cohort(enr, campus, programme["id"], label, capacity)
    say(
        "enrollment",
        f"{campus}: programme {programme['code']} ({spec.track}); cohort {label} of {capacity} seats "
        f"{cohort['start_date']} to {cohort['end_date']}, {cohort['session_count']} sessions",
    )
    applied = apply_all(enr, campus, cohort["id"], people)
    ineligible = [n for n, a in applied.items() if a["status"] == "ineligible"]
    say(
        "enrollment",
        f"{len(people)} applications, {len(ineligible)} ineligible"
        + "".join(f"; {n}: {', '.join(r['rule'] for r in applied[n]['reasons'])}" for n in ineligible),
    )
    selection = run_selection(enr, campus, cohort["id"])
    by_id = applications_of(enr, campus, cohort["id"])
    apps = {n: by_id[a["id"]] for n, a in applied.items()}
    by_quota = [
        n
        for n, a in apps.items()
        if a["status"] == "selected"
        and a["priority"]
        and any(r["rule"] == "selection.priority-quota" for r in a["reasons"])
    ]
    waitlisted = sorted((a["waitlist_position"], n) for n, a in apps.items() if a["status"] == "waitlisted")
    say(
        "enrollment",
        f"selection: {selection['selected']} selected ({selection['priority_selected']} under the "
        f"priority quota of {selection['priority_quota']}: "
        + ", ".join(f"{n} score {apps[n]['score']:g}" for n in by_quota)
        + "); waitlist "
        + (", ".join(f"{pos}. {n} score {apps[n]['score']:g}" for pos, n in waitlisted) or "empty"),
    )
    trainees = {}
    for n, a in apps.items():
        if a["status"] == "selected":
            accepted = accept_seat(enr, campus, a["id"], joined_on=cohort["start_date"])
            trainees[n] = str(accepted["applicant_id"])
            apps[n] = accepted
    say("enrollment", f"{len(trainees)} seats accepted; trainee.enrolled sent for each")

    ids = set(trainees.values())
    wait_roster(att, campus, cohort["id"], ids, timeout=timeout)
    say("attendance", f"roster of {len(ids)} built from enrollment's events")
    plan_of = {p.name: p.plan for p in people}
    expected = record_attendance(att, campus, cohort["id"], {t: plan_of[n] for n, t in trainees.items()}, report=say)
    name_of = {t: n for n, t in trainees.items()}
    flagged = {t for t in ids if standing_of(att, campus, cohort["id"], t)["at_risk"]}
    say("attendance", "at risk before the close: " + (", ".join(sorted(name_of[t] for t in flagged)) or "nobody"))
    closed = close_cohort(att, campus, cohort["id"])
    completion_date = date.fromisoformat(closed["closed_on"])
    completers = {t for t, e in expected.items() if e["completed"]}
    non_completers = ids - completers
    say(
        "attendance",
        f"cohort closed on {closed['closed_on']}: {closed['completed']} completed, "
        f"{closed['not_completed']} not completed"
        + "".join(f" ({name_of[t]} {expected[t]['rate']:.0%})" for t in sorted(non_completers)),
    )
    wait_enrollment_statuses(
        enr,
        campus,
        cohort["id"],
        {t: "completed" if t in completers else "not_completed" for t in ids},
        timeout=timeout,
    )
    say(
        "enrollment",
        f"enrollments updated from attendance's events: {len(completers)} completed, "
        f"{len(non_completers)} not completed",
    )

    payment = certificate = None
    certified: set[str] = set()
    if spec.qualification and completers:
        claimant = min(completers, key=lambda t: name_of[t])
        wait_claim_window(cert, campus, claimant, cohort["id"], "completed", timeout=timeout)
        exam = centre_today() - timedelta(days=5)
        payment = claim_and_pay(cert, campus, claimant, spec.qualification, exam, amount_paid=20_000)
        say(
            "certification",
            f"{name_of[claimant]} claimed the {spec.qualification} written-exam fee "
            f"({payment.claim['amount_paid']:,} KRW paid, {payment.claim['amount']:,} reimbursable); "
            f"approved; paid once as {payment.payout['reference']} (same-key retry: "
            f"{payment.retry_status}, another key: {payment.other_key_status})",
        )
        certificate = record_certificate(cert, campus, claimant, spec.qualification, exam)
        certified = {claimant}
        say("certification", f"{name_of[claimant]} obtained {spec.qualification} on {certificate['obtained_on']}")

    wait_graduates(plc, campus, cohort["id"], completers, certified, timeout=timeout)
    due_on = add_months(completion_date, 1)
    followups = followups_due(plc, campus, cohort["id"], due_on)
    say("placement", f"{len(completers)} graduates followed; on {due_on} {len(followups)} follow-up(s) due")
    outcome_of = {p.name: p for p in people}
    outcomes = {}
    for t in sorted(completers, key=lambda t: name_of[t]):
        p = outcome_of[name_of[t]]
        if p.outcome:
            outcomes[t] = record_outcome(plc, campus, t, p.outcome, due_on, completion_date, p.wage)
    say("placement", "outcomes: " + ", ".join(f"{name_of[t]} {o['category']}" for t, o in outcomes.items()))
    rep = employment_report(plc, campus, cohort["id"], due_on)
    rate = rep["total"]["employment_rate"]
    say(
        "placement",
        f"employment rate on {due_on}: {rate['numerator']} / {rate['denominator']}"
        + (f" = {rate['percent']}%" if rate["percent"] is not None else "")
        + f"; certificates {rep['total']['certificate_attainment']['numerator']} / "
        f"{rep['total']['certificate_attainment']['denominator']}",
    )
    return CohortJourney(
        programme=programme,
        cohort=cohort,
        applications=apps,
        selection=selection,
        trainees=trainees,
        expected=expected,
        closed=closed,
        completers=completers,
        non_completers=non_completers,
        payment=payment,
        certificate=certificate,
        completion_date=completion_date,
        followups=followups,
        outcomes=outcomes,
        report=rep,
        steps=steps,
    )


# -- the demo centre ------------------------------------------------------------------
CAMPUSES = {
    "jungbu": "Jungbu Campus (Seoul technical training)",
    "dongbu": "Dongbu Campus (Seoul technical training)",
    "bukbu": "Bukbu Campus (Seoul technical training)",
}


def demo_centre(run: str) -> list[tuple[ProgrammeSpec, list[Person], int]]:
    """Three programmes from DOMAIN.md's tracks, one per campus, with their applicants; ``run`` makes codes unique."""
    welding = ProgrammeSpec(
        "jungbu",
        f"JB-WELD-{run}",
        "Special Welding (national qualification)",
        "national_qualification",
        qualification="WELD-CRAFTSMAN",
        qualification_name="Welding Craftsman (용접기능사)",
        total_hours=960,
    )
    ai = ProgrammeSpec("dongbu", f"DB-AI-{run}", "AI and data convergence (high-tech)", "ai_hightech", total_hours=800)
    womanup = ProgrammeSpec(
        "bukbu",
        f"BB-WU-{run}",
        "Woman-Up digital office (career-break women)",
        "career_break_women",
        total_hours=300,
        career_break_women_only=True,
    )
    return [
        (
            welding,
            [
                Person("Kim Minjun", 91, gender="male", plan="steady", outcome="employed", wage=2_900_000),
                Person("Lee Seoyeon", 86, plan="late", outcome="employed", wage=2_700_000),
                Person("Park Jiho", 82, gender="male", plan="dropping"),
                Person(
                    "Choi Yuna", 55, priority=["single_parent"], plan="excused", outcome="self_employed", wage=2_400_000
                ),
                Person("Jung Hyunwoo", 78, gender="male"),
                Person("Kang Doyun", 74, gender="male", residency="non_resident"),
            ],
            4,
        ),
        (
            ai,
            [
                Person("Yoon Seojun", 93, gender="male", outcome="employed", wage=3_200_000),
                Person("Han Jiwoo", 88, plan="late", outcome="further_education"),
                Person("Lim Eunji", 61, priority=["basic_livelihood"], outcome="seeking_work"),
                Person("Oh Taeyang", 80, gender="male"),
            ],
            3,
        ),
        (
            womanup,
            [
                Person(
                    "Seo Hyejin", 84, birth_date="1986-02-03", career_break=True, outcome="employed", wage=2_390_124
                ),
                Person(
                    "Kwon Mira",
                    79,
                    birth_date="1984-09-21",
                    career_break=True,
                    plan="excused",
                    outcome="employed",
                    wage=2_500_000,
                ),
                Person(
                    "Bae Sumin", 58, birth_date="1989-07-30", career_break=True, priority=["disabled"], plan="dropping"
                ),
                Person("Nam Junho", 90, gender="male", birth_date="1988-01-15"),
            ],
            3,
        ),
    ]
