"""The qualification catalogue: grades, standard fees per stage, linked programmes; CSV/XLSX import.

Import columns: code, name, grade, written_fee, practical_fee, programme_codes (';'-separated).
A blank fee means "to be set by the centre": that stage cannot be reimbursed until it is set.
"""

from __future__ import annotations

from pydantic import ValidationError

from services.certification.adapters.orm import Qualification
from services.certification.adapters.repository import CertificationRepository
from services.certification.schemas import ImportReport, ImportRow, QualificationIn, QualificationOut, Reason
from shared.auth import Principal
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.problems import not_found
from shared.spreadsheets import read_rows
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[CertificationRepository]


def qualification_out(q: Qualification) -> QualificationOut:
    return QualificationOut.model_validate(q, from_attributes=True)


def _upsert(repo: CertificationRepository, body: QualificationIn) -> tuple[Qualification, bool]:
    """Create or replace a qualification in the open work; returns it and whether it was new."""
    q = repo.lock_qualification(body.code)
    data = body.model_dump()
    data["programme_codes"] = sorted(set(body.programme_codes))
    created = q is None
    if q is None:
        q = Qualification(**data)
    else:
        for key, value in data.items():
            setattr(q, key, value)
        q.updated_at = utcnow()
    repo.save_qualification(q)
    return q, created


def upsert_qualification(uow: Uow, *, principal: Principal, body: QualificationIn) -> QualificationOut:
    with uow:
        q, _created = _upsert(uow.repo, body)
        out = qualification_out(q)
        uow.commit()
        return out


def list_qualifications(
    uow: Uow, *, principal: Principal, page: PageParams, grade: str | None, programme_code: str | None
) -> Page[QualificationOut]:
    with uow:
        items, total = uow.repo.qualifications_page(page, grade=grade, programme_code=programme_code)
        return Page(items=[qualification_out(q) for q in items], total=total, limit=page.limit, offset=page.offset)


def get_qualification(uow: Uow, *, principal: Principal, code: str) -> QualificationOut:
    with uow:
        q = uow.repo.qualification(code)
        if q is None:
            raise not_found("qualification", code)
        return qualification_out(q)


def _fee(value: str | None) -> int | None:
    value = (value or "").replace(",", "").strip()
    return int(value) if value else None


def import_qualifications(uow: Uow, *, principal: Principal, content: bytes, filename: str) -> ImportReport:
    rows = read_rows(content, filename)
    report: list[ImportRow] = []
    with uow:
        for number, row in enumerate(rows, start=2):
            try:
                body = QualificationIn(
                    code=row.get("code", ""),
                    name=row.get("name", ""),
                    grade=row.get("grade", ""),
                    written_fee=_fee(row.get("written_fee")),
                    practical_fee=_fee(row.get("practical_fee")),
                    programme_codes=[p.strip() for p in (row.get("programme_codes") or "").split(";") if p.strip()],
                )
                with uow.repo.savepoint():
                    _upsert(uow.repo, body)
                report.append(ImportRow(row=number, status="imported", key=body.code))
            except ValidationError as exc:
                report.append(
                    ImportRow(
                        row=number,
                        status="refused",
                        key=row.get("code") or None,
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
            except ValueError as exc:
                report.append(
                    ImportRow(
                        row=number,
                        status="refused",
                        key=row.get("code") or None,
                        errors=[Reason(rule="invalid-fee", message=str(exc), field="fee")],
                    )
                )
        uow.commit()
    imported = sum(1 for r in report if r.status == "imported")
    return ImportReport(rows=len(report), imported=imported, refused=len(report) - imported, report=report)
