"""Qualifications obtained: a passed exam, entered by staff or imported; qualification.obtained goes out.

Import columns: trainee_id, qualification_code, date.
"""
from __future__ import annotations

import uuid
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from services.certification.adapters.orm import Qualification, QualificationObtained
from services.certification.domain.claims import is_linked
from services.certification.domain.results import result_failures
from services.certification.schemas import ImportReport, ImportRow, Reason, ResultIn, ResultOut
from services.certification.service_layer.common import to_qualification, to_window, window_rows
from shared import events
from shared.auth import Principal
from shared.outbox import emit
from shared.pagination import PageParams, paginate
from shared.problems import Problem, RuleViolation, not_found
from shared.queries import in_campuses
from shared.spreadsheets import read_rows


def result_out(r: QualificationObtained) -> ResultOut:
    return ResultOut.model_validate(r, from_attributes=True)


def record(session: Session, *, principal: Principal, body: ResultIn, today: date | None = None,
           commit: bool = True) -> QualificationObtained:
    windows = window_rows(session, principal, body.trainee_id)
    if not windows:
        raise not_found("trainee", body.trainee_id)
    row = session.get(Qualification, body.qualification_code)
    qualification = to_qualification(row)
    held = session.execute(select(QualificationObtained.id).where(
        QualificationObtained.trainee_id == body.trainee_id,
        QualificationObtained.qualification_code == body.qualification_code)).first() is not None
    failures = result_failures(qualification=qualification, code=body.qualification_code, obtained_on=body.date,
                               today=today or date.today(), already_recorded=held)
    if failures:
        raise RuleViolation(failures, status=409 if held and len(failures) == 1 else 422)
    assert qualification is not None
    # The cohort it counts for: the latest enrollment whose programme prepares for it, else the latest one.
    linked = [w for w in windows if is_linked(qualification, to_window(w))] or windows
    window = max(linked, key=lambda w: (w.start_date or date.min, str(w.cohort_id)))
    result = QualificationObtained(trainee_id=body.trainee_id, cohort_id=window.cohort_id, campus=window.campus,
                                   qualification_code=qualification.code, grade=qualification.grade,
                                   obtained_on=body.date, recorded_by=principal.sub)
    session.add(result)
    session.flush()
    emit(session, events.QUALIFICATION_OBTAINED, events.QualificationObtained(
        trainee_id=body.trainee_id, qualification_code=qualification.code, grade=qualification.grade,
        date=body.date, campus=window.campus, cohort_id=window.cohort_id))
    if commit:
        session.commit()
    return result


def list_results(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                 cohort_id: uuid.UUID | None, trainee_id: uuid.UUID | None) -> tuple[list, int]:
    query = in_campuses(select(QualificationObtained), QualificationObtained.campus, principal).order_by(
        QualificationObtained.obtained_on, QualificationObtained.id)
    for column, value in ((QualificationObtained.campus, campus), (QualificationObtained.cohort_id, cohort_id),
                          (QualificationObtained.trainee_id, trainee_id)):
        if value:
            query = query.where(column == value)
    items, total = paginate(session, query, page)
    return [result_out(r) for r in items], total


def import_results(session: Session, *, principal: Principal, content: bytes, filename: str) -> ImportReport:
    rows = read_rows(content, filename)
    report: list[ImportRow] = []
    for number, row in enumerate(rows, start=2):
        key = f"{row.get('trainee_id', '')}:{row.get('qualification_code', '')}"
        try:
            body = ResultIn(trainee_id=row.get("trainee_id", ""), qualification_code=row.get("qualification_code", ""),
                            date=row.get("date", ""))
            with session.begin_nested():
                record(session, principal=principal, body=body, commit=False)
            report.append(ImportRow(row=number, status="imported", key=key))
        except ValidationError as exc:
            report.append(ImportRow(row=number, status="refused", key=key, errors=[
                Reason(rule=str(e["type"]), message=str(e["msg"]), field=".".join(str(p) for p in e["loc"]) or None)
                for e in exc.errors()]))
        except Problem as exc:
            errors = [Reason(rule=e.rule, message=e.message, field=e.field) for e in exc.errors] or \
                [Reason(rule=exc.code, message=exc.detail)]
            report.append(ImportRow(row=number, status="refused", key=key, errors=errors))
    session.commit()
    imported = sum(1 for r in report if r.status == "imported")
    return ImportReport(rows=len(report), imported=imported, refused=len(report) - imported, report=report)

