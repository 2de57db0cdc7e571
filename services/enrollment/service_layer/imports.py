"""Bulk import of applications from CSV or XLSX, with a report of every row.

Each row is its own savepoint: a refused row changes nothing and the others go on.
Columns: name, birth_date, residency_status, gender, career_break, priority_categories
(separated by ';'), leaving_care, email, phone, name_romanised, score, applicant_id (to
reuse a known applicant instead of the person columns). A new applicant's row reports the records
that look like the same person (``possible_duplicates``), earlier rows of the same file included.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.schemas import ApplicantIn, ApplicationIn, DuplicateOut, ImportReport, ImportRow, Reason
from services.enrollment.service_layer.applicants import born_before, new_applicant, possible_duplicates
from services.enrollment.service_layer.applications import apply
from shared.auth import Principal
from shared.clock import Clock
from shared.problems import Problem
from shared.spreadsheets import read_rows
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]

TRUE = {"1", "true", "yes", "y", "o", "예"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE


def _number(value: str | None) -> float | str:
    """A spreadsheet cell as a number; left as text when it is none, so the refusal names the column."""
    value = (value or "").strip()
    try:
        return float(value) if value else 0
    except ValueError:
        return value


def _errors(exc: ValidationError) -> list[Reason]:
    return [
        Reason(rule=str(e["type"]), message=str(e["msg"]), field=".".join(str(p) for p in e["loc"]) or None)
        for e in exc.errors()
    ]


def import_applications(
    uow: Uow,
    *,
    principal: Principal,
    policy: AdmissionsPolicy,
    clock: Clock,
    cohort_id: uuid.UUID,
    content: bytes,
    filename: str,
) -> ImportReport:
    today = clock.today()
    with uow:
        repo = uow.repo
        cohort = repo.visible_cohort(principal, cohort_id)
        rows = read_rows(content, filename)
        report: list[ImportRow] = []
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            lookalikes: list[DuplicateOut] = []
            try:
                with repo.attempt():
                    if row.get("applicant_id"):
                        applicant = repo.applicant(uuid.UUID(row["applicant_id"]))
                        if applicant is None:
                            raise Problem(422, "reference.applicant", "Unknown applicant", "no such applicant")
                    else:
                        person = ApplicantIn(
                            campus=row.get("campus") or cohort.campus,
                            name=row.get("name", ""),
                            birth_date=row.get("birth_date", ""),
                            gender=row.get("gender") or None,
                            residency_status=row.get("residency_status", ""),
                            career_break=_flag(row.get("career_break")),
                            priority_categories=[
                                p.strip() for p in (row.get("priority_categories") or "").split(";") if p.strip()
                            ],
                            leaving_care=_flag(row.get("leaving_care")),
                            email=row.get("email") or None,
                            phone=row.get("phone") or None,
                            name_romanised=row.get("name_romanised") or None,
                        )
                        born_before(person, today, field=None)
                        applicant = new_applicant(repo, principal, person)
                        lookalikes = possible_duplicates(repo, principal, applicant)
                    body = ApplicationIn(
                        applicant_id=applicant.id, cohort_id=cohort.id, score=_number(row.get("score"))
                    )
                    app = apply(uow, principal=principal, policy=policy, body=body, today=today)
                report.append(
                    ImportRow(
                        row=number,
                        status="imported",
                        application_id=app.id,
                        applicant_id=applicant.id,
                        application_status=app.status,
                        errors=[Reason(**r) for r in app.reasons],
                        possible_duplicates=lookalikes,
                    )
                )
            except ValidationError as exc:
                report.append(ImportRow(row=number, status="refused", errors=_errors(exc)))
            except ValueError as exc:
                report.append(
                    ImportRow(
                        row=number,
                        status="refused",
                        errors=[Reason(rule="invalid", message=str(exc), field="applicant_id")],
                    )
                )
            except Problem as exc:
                errors = [Reason(rule=e.rule, message=e.message, field=e.field) for e in exc.errors] or [
                    Reason(rule=exc.code, message=exc.detail)
                ]
                report.append(ImportRow(row=number, status="refused", errors=errors))
        uow.commit()
        imported = sum(1 for r in report if r.status == "imported")
        return ImportReport(
            cohort_id=cohort.id, rows=len(report), imported=imported, refused=len(report) - imported, report=report
        )
