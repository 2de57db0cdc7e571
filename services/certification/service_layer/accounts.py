"""Payout accounts: finance enters or imports each trainee's holder, bank and account number; the number is
encrypted at rest and shown masked (``****4567``) everywhere but in a payout batch's bank file; the operator
re-encrypts every stored number under the newest key after a key is added (``rotate``).

Import columns: trainee_id, holder, bank (code or name), account_number. Each row is checked alone and the
report names, per row, what was refused; refused rows change nothing, the others are saved.
"""

from __future__ import annotations

import logging
import uuid

from pydantic import ValidationError

from services.certification.adapters.orm import PayoutAccount
from services.certification.adapters.repository import CertificationRepository
from services.certification.adapters.vault import AccountCipher, AccountKeyError
from services.certification.domain import accounts as rules
from services.certification.schemas import AccountIn, AccountOut, ImportReport, ImportRow, Reason, RotationOut
from services.certification.service_layer.access import window_scope
from shared.auth import Principal
from shared.db import utcnow
from shared.pagination import Page, PageParams
from shared.problems import Problem, RuleFailure, RuleViolation, not_found
from shared.spreadsheets import read_rows
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[CertificationRepository]
log = logging.getLogger("certification.accounts")
ROTATION_BATCH_MAX = 1000


def key_missing(key_id: str | None = None) -> RuleViolation:
    """A stored number none of the configured keys decrypts: its key left CERTIFICATION_ACCOUNT_KEYS too early."""
    which = f"key {key_id}" if key_id else "a key"
    return RuleViolation(
        [
            RuleFailure(
                "account.key-missing",
                f"an account number is encrypted under {which} that is no longer configured: put it back in "
                "CERTIFICATION_ACCOUNT_KEYS (after the newest) and rotate",
            )
        ],
        status=409,
    )


def account_out(row: PayoutAccount) -> AccountOut:
    return AccountOut(
        trainee_id=row.trainee_id,
        campus=row.campus,
        holder=row.holder,
        bank_code=row.bank_code,
        bank_name=row.bank_name,
        account_number=rules.mask(row.number_last4),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _trainee_campus(repo: CertificationRepository, principal: Principal, trainee_id: uuid.UUID) -> str:
    """The campus of the trainee's latest enrollment this principal sees; a 404 when there is none."""
    windows = repo.window_rows(trainee_id, window_scope(principal))
    if not windows:
        raise not_found("trainee", trainee_id)
    return windows[-1].campus


def _save(
    repo: CertificationRepository, cipher: AccountCipher, principal: Principal, trainee_id: uuid.UUID, body: AccountIn
) -> PayoutAccount:
    """Check, encrypt and store the details in the open work (a RuleViolation names each failed rule)."""
    campus = _trainee_campus(repo, principal, trainee_id)
    details, failures = rules.check(body.holder, body.bank, body.account_number)
    if details is None:
        raise RuleViolation(failures)
    encrypted, key = cipher.encrypt(details.number)
    row = repo.account(trainee_id, lock=True)
    if row is None:
        row = PayoutAccount(
            trainee_id=trainee_id,
            campus=campus,
            holder=details.holder,
            bank_code=details.bank_code,
            bank_name=details.bank_name,
            number_encrypted=encrypted,
            number_last4=details.number[-4:],
            key_id=key,
            updated_by=principal.sub,
        )
    else:
        row.campus, row.holder, row.bank_code, row.bank_name = (
            campus,
            details.holder,
            details.bank_code,
            details.bank_name,
        )
        row.number_encrypted, row.number_last4, row.key_id = encrypted, details.number[-4:], key
        row.updated_by, row.updated_at = principal.sub, utcnow()
    repo.save_account(row)
    log.info(
        "payout account saved",
        extra={"trainee_id": str(trainee_id), "bank_code": details.bank_code, "account": rules.mask(details.number)},
    )
    return row


def put_account(
    uow: Uow, *, principal: Principal, cipher: AccountCipher, trainee_id: uuid.UUID, body: AccountIn
) -> AccountOut:
    with uow:
        row = _save(uow.repo, cipher, principal, trainee_id, body)
        out = account_out(row)
        uow.commit()
        return out


def get_account(uow: Uow, *, principal: Principal, trainee_id: uuid.UUID) -> AccountOut:
    with uow:
        row = uow.repo.account(trainee_id)
        if row is None:
            raise not_found("payout account", trainee_id)
        principal.check_campus(row.campus, "payout account", trainee_id)
        return account_out(row)


def list_accounts(uow: Uow, *, principal: Principal, page: PageParams, campus: str | None) -> Page[AccountOut]:
    with uow:
        items, total = uow.repo.accounts_page(page, campuses=principal.campus_filter(), campus=campus)
        return Page(items=[account_out(a) for a in items], total=total, limit=page.limit, offset=page.offset)


def _refused(number: int, key: str | None, reasons: list[Reason]) -> ImportRow:
    return ImportRow(row=number, status="refused", key=key, errors=reasons)


def import_accounts(
    uow: Uow, *, principal: Principal, cipher: AccountCipher, content: bytes, filename: str
) -> ImportReport:
    """Save each row's details; a row refused (bad input, a rule, an unknown trainee) is reported with why."""
    rows = read_rows(content, filename)
    report: list[ImportRow] = []
    with uow:
        for number, row in enumerate(rows, start=2):
            given_id = (row.get("trainee_id") or "").strip()
            try:
                trainee_id = uuid.UUID(given_id)
            except ValueError:
                report.append(
                    _refused(number, given_id or None, [Reason(rule="uuid", message="not a UUID", field="trainee_id")])
                )
                continue
            try:
                body = AccountIn(
                    holder=row.get("holder") or "",
                    bank=row.get("bank") or "",
                    account_number=row.get("account_number") or "",
                )
                with uow.repo.savepoint():
                    _save(uow.repo, cipher, principal, trainee_id, body)
                report.append(ImportRow(row=number, status="imported", key=str(trainee_id)))
            except ValidationError as exc:
                reasons = [
                    Reason(rule=str(e["type"]), message=str(e["msg"]), field=".".join(str(p) for p in e["loc"]))
                    for e in exc.errors()
                ]
                report.append(_refused(number, str(trainee_id), reasons))
            except RuleViolation as exc:
                reasons = [Reason(rule=f.rule, message=f.message, field=f.field) for f in exc.errors]
                report.append(_refused(number, str(trainee_id), reasons))
            except Problem as exc:  # not found: the trainee is unknown, or of a campus this caller does not see
                if exc.status != 404:
                    raise
                report.append(
                    _refused(
                        number,
                        str(trainee_id),
                        [Reason(rule="reference.trainee", message="no enrollment of this trainee", field="trainee_id")],
                    )
                )
        uow.commit()
    imported = sum(1 for r in report if r.status == "imported")
    return ImportReport(rows=len(report), imported=imported, refused=len(report) - imported, report=report)


def rotate(uow: Uow, *, cipher: AccountCipher, limit: int) -> RotationOut:
    """Re-encrypt up to ``limit`` stored numbers still under an older key with the newest key; call it again
    until ``remaining`` is 0, then the older keys can be dropped from the settings."""
    limit = max(1, min(limit, ROTATION_BATCH_MAX))
    with uow:
        rows = uow.repo.accounts_under_old_keys(cipher.current_key_id, limit)
        for row in rows:
            try:
                row.number_encrypted, row.key_id = cipher.rotate(row.number_encrypted)
            except AccountKeyError:
                raise key_missing(row.key_id) from None
            uow.repo.save_account(row)
        remaining = uow.repo.count_under_old_keys(cipher.current_key_id)
        uow.commit()
    log.info("account keys rotated", extra={"rotated": len(rows), "remaining": remaining})
    return RotationOut(rotated=len(rows), remaining=remaining, key_id=cipher.current_key_id)
