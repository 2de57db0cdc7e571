"""Qualifications obtained: a passed exam, entered by staff or imported; qualification.obtained goes out.

Import columns: trainee_id, qualification_code, date.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import ValidationError

from services.certification.adapters.orm import QualificationObtained
from services.certification.adapters.repository import CertificationRepository
from services.certification.domain.claims import is_linked
from services.certification.domain.results import result_failures
from services.certification.schemas import ImportReport, ImportRow, Reason, ResultIn, ResultOut
from services.certification.service_layer import outgoing
from services.certification.service_layer.access import window_scope
from shared.auth import Principal
from shared.clock import Clock
from shared.pagination import Page, PageParams
from shared.problems import Problem, RuleViolation, not_found
from shared.spreadsheets import read_rows
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[CertificationRepository]


def result_out(r: QualificationObtained) -> ResultOut:
    return ResultOut.model_validate(r, from_attributes=True)


def _record(uow: Uow, *, principal: Principal, body: ResultIn, today: date) -> QualificationObtained:
    """Record one result in the open work and emit its event; the caller commits."""
    windows = uow.repo.claim_windows(body.trainee_id, window_scope(principal))
    if not windows:
        raise not_found("trainee", body.trainee_id)
    qualification = uow.repo.domain_qualification(body.qualification_code)
    held = uow.repo.holds(body.trainee_id, body.qualification_code)
    failures = result_failures(
        qualification=qualification,
        code=body.qualification_code,
        obtained_on=body.date,
        today=today,
        already_recorded=held,
    )
    if failures:
        raise RuleViolation(failures, status=409 if held and len(failures) == 1 else 422)
    assert qualification is not None
    # The cohort it counts for: the latest enrollment whose programme prepares for it, else the latest one.
    linked = [w for w in windows if is_linked(qualification, w)] or windows
    window = max(linked, key=lambda w: (w.start_date or date.min, str(w.cohort_id)))
    result = QualificationObtained(
        trainee_id=body.trainee_id,
        cohort_id=window.cohort_id,
        campus=window.campus,
        qualification_code=qualification.code,
        grade=qualification.grade,
        obtained_on=body.date,
        recorded_by=principal.sub,
    )
    uow.repo.add_result(result)
    uow.emit(*outgoing.qualification_obtained(result))
    return result


def record(uow: Uow, *, principal: Principal, clock: Clock, body: ResultIn) -> ResultOut:
    with uow:
        out = result_out(_record(uow, principal=principal, body=body, today=clock.today()))
        uow.commit()
        return out


def list_results(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    campus: str | None,
    cohort_id: uuid.UUID | None,
    trainee_id: uuid.UUID | None,
) -> Page[ResultOut]:
    with uow:
        items, total = uow.repo.results_page(
            page, campuses=principal.campus_filter(), campus=campus, cohort_id=cohort_id, trainee_id=trainee_id
        )
        return Page(items=[result_out(r) for r in items], total=total, limit=page.limit, offset=page.offset)


def import_results(uow: Uow, *, principal: Principal, clock: Clock, content: bytes, filename: str) -> ImportReport:
    rows = read_rows(content, filename)
    report: list[ImportRow] = []
    today = clock.today()
    with uow:
        for number, row in enumerate(rows, start=2):
            key = f"{row.get('trainee_id', '')}:{row.get('qualification_code', '')}"
            try:
                body = ResultIn(
                    trainee_id=row.get("trainee_id", ""),
                    qualification_code=row.get("qualification_code", ""),
                    date=row.get("date", ""),
                )
                with uow.repo.savepoint():
                    _record(uow, principal=principal, body=body, today=today)
                report.append(ImportRow(row=number, status="imported", key=key))
            except ValidationError as exc:
                report.append(
                    ImportRow(
                        row=number,
                        status="refused",
                        key=key,
                        errors=[
                            Reason(
                                rule=str(e["type"]),
                                message=str(e["msg"]),
                                field=".".join(str(p) for p in e["loc"]) or None,
                            )
                            for e in exc.errors()
                        ],
                    )
                )
            except Problem as exc:
                errors = [Reason(rule=e.rule, message=e.message, field=e.field) for e in exc.errors] or [
                    Reason(rule=exc.code, message=exc.detail)
                ]
                report.append(ImportRow(row=number, status="refused", key=key, errors=errors))
        uow.commit()
    imported = sum(1 for r in report if r.status == "imported")
    return ImportReport(rows=len(report), imported=imported, refused=len(report) - imported, report=report)
