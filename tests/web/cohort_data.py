"""A cohort taken through the APIs to where the finance and placement rooms have work: trainees completed, claim
windows open at certification, graduates followed by placement, exam-fee claims submitted by the trainees.

Built with the journey steps of ``trainingops.demo`` (HTTP only, tokens minted locally), on a campus of its own so the
rooms' tests see only their own records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import httpx

from trainingops import demo
from trainingops.demo import Clients, Person, ProgrammeSpec

C = demo.C
WRITTEN_FEE = 14_500


@dataclass
class Cohort:
    campus: str
    qualification: str
    programme: dict
    cohort: dict
    trainees: dict[str, str]  # name -> trainee id
    completion_date: date
    claims: dict[str, dict] = field(default_factory=dict)  # name -> claim as submitted

    def name_of(self, trainee_id: str) -> str:
        return next(n for n, t in self.trainees.items() if t == trainee_id)


def submit_claim(cert: httpx.Client, trainee_id: str, qualification: str, exam: date, amount_paid: int) -> dict:
    """The trainee's own claim (their token), as the trainee pages send it."""
    return demo.ok(
        cert.post(
            f"{C}/claims",
            headers=demo.auth(["trainee"], [], sub=trainee_id),
            json={
                "trainee_id": trainee_id,
                "qualification_code": qualification,
                "stage": "written",
                "exam_date": exam.isoformat(),
                "amount_paid": amount_paid,
                "receipt_number": f"QN-{uuid.uuid4().hex[:10].upper()}",
                "admission_slip_number": f"{exam:%y}-1-{uuid.uuid4().int % 10_000:04d}",
            },
        ),
        201,
    )


def build(urls: dict[str, str], *, label: str = "web") -> Cohort:
    run = uuid.uuid4().hex[:6]
    campus = f"{label}{run}"
    qualification = f"WELD-{run.upper()}"
    clients = Clients.open(urls)
    try:
        enr, att, cert, plc = clients.enrollment, clients.attendance, clients.certification, clients.placement
        demo.ensure_campus(enr, campus, f"{label} campus {run}")
        demo.ensure_qualification(cert, qualification, "Welding Craftsman (용접기능사)", written_fee=WRITTEN_FEE)
        spec = ProgrammeSpec(
            campus,
            f"WELD-{run}",
            "Special Welding (national qualification)",
            "national_qualification",
            qualification=qualification,
            total_hours=960,
        )
        programme = demo.create_programme(enr, spec)
        cohort = demo.publish_cohort(enr, campus, programme["id"], "2026-2", 3)
        people = [Person("김민준", 95, gender="male"), Person("이서연", 90), Person("박지호", 85, gender="male")]
        applied = demo.apply_all(enr, campus, cohort["id"], people)
        demo.run_selection(enr, campus, cohort["id"])
        apps = demo.applications_of(enr, campus, cohort["id"])
        trainees = {}
        for name, a in applied.items():
            assert apps[a["id"]]["status"] == "selected", apps[a["id"]]
            trainees[name] = str(demo.accept_seat(enr, campus, a["id"], joined_on=cohort["start_date"])["applicant_id"])
        ids = set(trainees.values())
        demo.wait_roster(att, campus, cohort["id"], ids)
        demo.record_attendance(att, campus, cohort["id"], {t: "steady" for t in ids})
        closed = demo.close_cohort(att, campus, cohort["id"])
        for t in ids:
            demo.wait_claim_window(cert, campus, t, cohort["id"], "completed")
        demo.wait_graduates(plc, campus, cohort["id"], ids)
        return Cohort(
            campus=campus,
            qualification=qualification,
            programme=programme,
            cohort=cohort,
            trainees=trainees,
            completion_date=date.fromisoformat(closed["closed_on"]),
        )
    finally:
        clients.close()


def with_claims(urls: dict[str, str], cohort: Cohort) -> Cohort:
    """Each trainee claims a written-exam fee sat five days ago: one paid more than the standard fee, one less."""
    exam = date.today() - timedelta(days=5)
    with httpx.Client(base_url=urls["certification"], timeout=60) as cert:
        for (name, trainee), paid in zip(cohort.trainees.items(), (20_000, 12_000, 14_500)):
            cohort.claims[name] = submit_claim(cert, trainee, cohort.qualification, exam, paid)
    return cohort
