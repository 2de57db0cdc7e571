"""The qualification catalogue: grades, standard fees per stage, linked programmes; CSV/XLSX import.

Import columns: code, name, grade, written_fee, practical_fee, programme_codes (';'-separated).
A blank fee means "to be set by the centre": that stage cannot be reimbursed until it is set.
"""
from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from services.certification.adapters.orm import Qualification
from services.certification.schemas import ImportReport, ImportRow, QualificationIn, QualificationOut, Reason
from shared.auth import Principal
from shared.db import utcnow
from shared.pagination import PageParams, paginate
from shared.problems import not_found
from shared.spreadsheets import read_rows


def qualification_out(q: Qualification) -> QualificationOut:
    return QualificationOut.model_validate(q, from_attributes=True)


def upsert_qualification(session: Session, *, principal: Principal, body: QualificationIn,
                         commit: bool = True) -> tuple[Qualification, bool]:
    """Create or replace a qualification; returns it and whether it was new."""
    q = session.get(Qualification, body.code, with_for_update=True)
    data = body.model_dump()
    data["programme_codes"] = sorted(set(body.programme_codes))
    created = q is None
    if q is None:
        q = Qualification(**data)
        session.add(q)
    else:
        for key, value in data.items():
            setattr(q, key, value)
        q.updated_at = utcnow()
    session.flush()
    if commit:
        session.commit()
    return q, created


def list_qualifications(session: Session, *, principal: Principal, page: PageParams, grade: str | None,
                        programme_code: str | None) -> tuple[list[Qualification], int]:
    query = select(Qualification).order_by(Qualification.code)
    if grade:
        query = query.where(Qualification.grade == grade)
    items, total = paginate(session, query, page) if not programme_code else (None, 0)
    if programme_code:  # JSON membership differs per database: filter in Python (the catalogue is small)
        matching = [q for q in session.execute(query).scalars() if programme_code in q.programme_codes]
        return matching[page.offset:page.offset + page.limit], len(matching)
    return items, total


def get_qualification(session: Session, *, principal: Principal, code: str) -> Qualification:
    q = session.get(Qualification, code)
    if q is None:
        raise not_found("qualification", code)
    return q


def _fee(value: str | None) -> int | None:
    value = (value or "").replace(",", "").strip()
    return int(value) if value else None


def import_qualifications(session: Session, *, principal: Principal, content: bytes, filename: str) -> ImportReport:
    rows = read_rows(content, filename)
    report: list[ImportRow] = []
    for number, row in enumerate(rows, start=2):
        try:
            body = QualificationIn(
                code=row.get("code", ""), name=row.get("name", ""), grade=row.get("grade", ""),
                written_fee=_fee(row.get("written_fee")), practical_fee=_fee(row.get("practical_fee")),
                programme_codes=[p.strip() for p in (row.get("programme_codes") or "").split(";") if p.strip()])
            with session.begin_nested():
                upsert_qualification(session, principal=principal, body=body, commit=False)
            report.append(ImportRow(row=number, status="imported", key=body.code))
        except ValidationError as exc:
            report.append(ImportRow(row=number, status="refused", key=row.get("code") or None, errors=[
                Reason(rule=str(e["type"]), message=str(e["msg"]), field=".".join(str(p) for p in e["loc"]) or None)
                for e in exc.errors()]))
        except ValueError as exc:
            report.append(ImportRow(row=number, status="refused", key=row.get("code") or None,
                                    errors=[Reason(rule="invalid-fee", message=str(exc), field="fee")]))
    session.commit()
    imported = sum(1 for r in report if r.status == "imported")
    return ImportReport(rows=len(report), imported=imported, refused=len(report) - imported, report=report)
