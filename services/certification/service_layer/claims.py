"""Claims: submission with every rule checked, review, payment exactly once, payout batches.

Each use case opens the unit of work it is given, loads through its repository, asks the domain
(``domain/claims.py``), saves, emits (``outgoing``) and commits; "today" is the injected clock's.
"""

from __future__ import annotations

import logging
import uuid

from services.certification.adapters.orm import Claim, Payout, PayoutBatch
from services.certification.adapters.repository import CertificationRepository, ClaimTaken
from services.certification.adapters.vault import AccountCipher, AccountKeyError
from services.certification.domain import claims as rules
from services.certification.schemas import (
    BatchPayIn,
    BatchWarning,
    ClaimIn,
    ClaimOut,
    PayoutBatchOut,
    PayoutOut,
    Reason,
    RejectIn,
)
from services.certification.service_layer import outgoing
from services.certification.service_layer.access import acts_as_trainee, check_self, own_trainee_id, window_scope
from services.certification.service_layer.accounts import key_missing
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.idempotency import Idempotency
from shared.pagination import Page, PageParams
from shared.problems import Problem, RuleFailure, RuleViolation, conflict, not_found
from shared.spreadsheets import write_csv, write_xlsx
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[CertificationRepository]
log = logging.getLogger("certification.payouts")


def claim_out(claim: Claim, payout_reference: str | None = None) -> ClaimOut:
    out = ClaimOut.model_validate(claim, from_attributes=True)
    out.payout_reference = payout_reference
    return out


# -- submission -----------------------------------------------------------------
def submit(uow: Uow, *, principal: Principal, clock: Clock, policy: rules.ClaimPolicy, body: ClaimIn) -> ClaimOut:
    """Check every rule; a refused claim is a 422 naming each failed rule, an accepted one is stored submitted."""
    check_self(principal, body.trainee_id)
    receipt_key = rules.normalise_receipt(body.receipt_number)
    request = rules.ClaimRequest(
        qualification_code=body.qualification_code,
        stage=body.stage,
        exam_date=body.exam_date,
        amount_paid=body.amount_paid,
        receipt_number=body.receipt_number,
        admission_slip_number=body.admission_slip_number,
    )
    with uow:
        repo = uow.repo
        known = repo.claim_context(
            body.trainee_id, window_scope(principal), body.qualification_code, body.stage, receipt_key
        )
        if not known.windows and not acts_as_trainee(principal):
            raise not_found("trainee", body.trainee_id)  # unknown, or of a campus this staff member does not see
        assessment = rules.assess_claim(
            request=request,
            qualification=known.qualification,
            windows=known.windows,
            prior=known.prior,
            receipt_in_use=known.receipt_in_use,
            today=clock.today(),
            policy=policy,
        )
        if not assessment.ok:
            raise RuleViolation(assessment.failures)
        window = assessment.window
        assert window is not None and assessment.standard_fee is not None
        claim = Claim(
            trainee_id=body.trainee_id,
            cohort_id=window.cohort_id,
            campus=window.campus,
            qualification_code=body.qualification_code,
            stage=body.stage,
            exam_date=body.exam_date,
            amount_paid=body.amount_paid,
            standard_fee=assessment.standard_fee,
            amount=assessment.amount,
            receipt_number=body.receipt_number.strip(),
            receipt_key=receipt_key,
            admission_slip_number=body.admission_slip_number.strip(),
            submitted_by=principal.sub,
            # The defaults, given here: pydantic inspects a default factory's signature on every
            # construction (``list``'s, parsed from text, costs a millisecond), a tenth of a claim.
            id=uuid.uuid4(),
            reasons=[],
            submitted_at=utcnow(),
            updated_at=utcnow(),
        )
        try:
            repo.add_claim(claim)
        except ClaimTaken:  # a concurrent claim took the same exam or receipt between our checks and the insert
            raise RuleViolation(
                [RuleFailure("claim.duplicate", "the same exam or receipt was claimed meanwhile")], status=409
            ) from None
        out = claim_out(claim)
        uow.commit()
        return out


# -- reading ------------------------------------------------------------------------
def _visible(claim: Claim | None, principal: Principal, claim_id: uuid.UUID) -> Claim:
    """The claim if this principal may see it: a trainee their own, staff their campuses'; a 404 otherwise."""
    if claim is None:
        raise not_found("claim", claim_id)
    if acts_as_trainee(principal):
        if str(claim.trainee_id) != principal.sub:
            raise not_found("claim", claim_id)
    else:
        principal.check_campus(claim.campus, "claim", claim_id)
    return claim


def get_claim(uow: Uow, *, principal: Principal, claim_id: uuid.UUID) -> ClaimOut:
    with uow:
        claim = _visible(uow.repo.claim(claim_id), principal, claim_id)
        payout = uow.repo.payout_of(claim.id)
        return claim_out(claim, payout.reference if payout else None)


def list_claims(
    uow: Uow,
    *,
    principal: Principal,
    page: PageParams,
    campus: str | None,
    cohort_id: uuid.UUID | None,
    trainee_id: uuid.UUID | None,
    status: str | None,
) -> Page[ClaimOut]:
    of_trainee = own_trainee_id(principal) if acts_as_trainee(principal) else None
    if acts_as_trainee(principal) and of_trainee is None:  # a trainee token whose subject owns no claim
        return Page(items=[], total=0, limit=page.limit, offset=page.offset)
    with uow:
        items, total = uow.repo.claims_page(
            page,
            campuses=principal.campus_filter(),
            of_trainee=of_trainee,
            campus=campus,
            cohort_id=cohort_id,
            trainee_id=trainee_id,
            status=status,
        )
        refs = uow.repo.payout_references(c.id for c in items)
        return Page(
            items=[claim_out(c, refs.get(c.id)) for c in items], total=total, limit=page.limit, offset=page.offset
        )


# -- review ---------------------------------------------------------------------------
def _decide(claim: Claim, status: str, principal: Principal) -> None:
    now = utcnow()
    claim.status, claim.decided_by, claim.decided_at, claim.updated_at = status, principal.sub, now, now


def approve(uow: Uow, *, principal: Principal, policy: rules.ClaimPolicy, claim_id: uuid.UUID) -> ClaimOut:
    with uow:
        claim = _visible(uow.repo.lock_claim(claim_id), principal, claim_id)
        failures = rules.approval_failures(
            claim.status, reimbursed_attempts=uow.repo.reimbursed_attempts(claim), policy=policy
        )
        if failures:
            raise RuleViolation(failures, status=409)
        _decide(claim, "approved", principal)
        uow.emit(*outgoing.claim_approved(claim))
        out = claim_out(claim)
        uow.commit()
        return out


def reject(uow: Uow, *, principal: Principal, claim_id: uuid.UUID, body: RejectIn) -> ClaimOut:
    with uow:
        claim = _visible(uow.repo.lock_claim(claim_id), principal, claim_id)
        failures = rules.decision_failures(claim.status)
        if failures:
            raise RuleViolation(failures, status=409)
        _decide(claim, "rejected", principal)
        claim.reasons = [Reason(rule=r.code, message=r.message).model_dump(exclude_none=True) for r in body.reasons]
        uow.emit(*outgoing.claim_rejected(claim, [(r.code, r.message) for r in body.reasons]))
        out = claim_out(claim)
        uow.commit()
        return out


# -- payment --------------------------------------------------------------------------
def payout_out(p: Payout) -> PayoutOut:
    return PayoutOut.model_validate(p, from_attributes=True)


def _already_paid(payout: Payout) -> Problem:
    return conflict(
        "claim.already-paid",
        f"The claim was already paid as payout {payout.reference}; it is never paid twice.",
        payout_reference=payout.reference,
        payout_id=str(payout.id),
        errors=[{"rule": "claim.already-paid", "message": f"paid as {payout.reference}"}],
    )


def _pay(claims: list[Claim], batch: PayoutBatch, principal: Principal, clock: Clock) -> list[Payout]:
    """One payout per claim in ``batch``; each claim is paid."""
    today, now = clock.today(), utcnow()
    payouts = [
        Payout(
            claim_id=c.id,
            batch_id=batch.id,
            reference=rules.payout_reference(c.id, today),
            trainee_id=c.trainee_id,
            campus=c.campus,
            amount=c.amount,
            paid_by=principal.sub,
        )
        for c in claims
    ]
    for claim in claims:
        claim.status, claim.updated_at = "paid", now
    return payouts


def pay(uow: Uow, *, principal: Principal, clock: Clock, claim_id: uuid.UUID, idem: Idempotency | None) -> PayoutOut:
    """Pay one approved claim, once: the claim row is locked and a payout row is unique per claim."""
    with uow:
        if replayed := uow.replay(idem, PayoutOut):
            return replayed
        claim = _visible(uow.repo.lock_claim(claim_id), principal, claim_id)
        existing = uow.repo.payout_of(claim.id)
        if existing is not None:
            raise _already_paid(existing)
        failures = rules.payment_failures(claim.status)
        if failures:
            raise RuleViolation(failures, status=409)
        batch = PayoutBatch(campus=claim.campus, payout_count=1, total_amount=claim.amount, created_by=principal.sub)
        [payout] = _pay([claim], batch, principal, clock)
        uow.repo.add_batch(batch, [payout])
        uow.emit(*outgoing.claim_paid(claim, payout))
        result = payout_out(payout)
        uow.remember(idem, result)
        uow.commit()
        return result


def pay_batch(
    uow: Uow, *, principal: Principal, clock: Clock, body: BatchPayIn, idem: Idempotency | None
) -> PayoutBatchOut:
    """Pay every approved claim of a campus (or the listed ones) as one batch, each once."""
    with uow:
        if replayed := uow.replay(idem, PayoutBatchOut):
            return replayed
        principal.check_campus(body.campus, "campus", body.campus)
        claims = uow.repo.lock_payable_claims(body.campus, body.claim_ids)
        if not claims:
            raise RuleViolation([RuleFailure("payout.nothing-to-pay", "no approved, unpaid claim to pay")], status=409)
        batch = PayoutBatch(
            campus=body.campus,
            payout_count=len(claims),
            total_amount=sum(c.amount for c in claims),
            created_by=principal.sub,
        )
        payouts = _pay(claims, batch, principal, clock)
        uow.repo.add_batch(batch, payouts)
        uow.emit_many(outgoing.claim_paid(c, p) for c, p in zip(claims, payouts))
        result = batch_out(batch, payouts, uow.repo.trainees_without_account(batch.id))
        uow.remember(idem, result)
        uow.commit()
        return result


def missing_accounts(trainee_ids: list[uuid.UUID]) -> list[BatchWarning]:
    if not trainee_ids:
        return []
    return [
        BatchWarning(
            rule="payout.account-missing",
            message=f"{len(trainee_ids)} payee(s) have no payout account: their bank-file cells stay empty until "
            "finance enters the account (the export reads the accounts when it is made)",
            trainee_ids=trainee_ids,
        )
    ]


def batch_out(
    batch: PayoutBatch, payouts: list[Payout], without_account: list[uuid.UUID] | None = None
) -> PayoutBatchOut:
    return PayoutBatchOut(
        id=batch.id,
        campus=batch.campus,
        payout_count=batch.payout_count,
        total_amount=batch.total_amount,
        created_at=batch.created_at,
        payouts=[payout_out(p) for p in payouts],
        warnings=missing_accounts(without_account or []),
    )


def _visible_batch(repo: CertificationRepository, principal: Principal, batch_id: uuid.UUID) -> PayoutBatch:
    batch = repo.batch(batch_id)
    if batch is None:
        raise not_found("payout batch", batch_id)
    principal.check_campus(batch.campus, "payout batch", batch_id)
    return batch


def get_batch(uow: Uow, *, principal: Principal, batch_id: uuid.UUID) -> PayoutBatchOut:
    with uow:
        batch = _visible_batch(uow.repo, principal, batch_id)
        return batch_out(batch, uow.repo.payouts_of_batch(batch.id), uow.repo.trainees_without_account(batch.id))


def list_batches(uow: Uow, *, principal: Principal, page: PageParams, campus: str | None) -> Page[PayoutBatchOut]:
    with uow:
        items, total = uow.repo.batches_page(page, campuses=principal.campus_filter(), campus=campus)
        return Page(items=[batch_out(b, []) for b in items], total=total, limit=page.limit, offset=page.offset)


EXPORT_HEADERS = (
    "payout_reference",
    "amount_krw",
    "trainee_id",
    "campus",
    "claim_id",
    "qualification_code",
    "stage",
    "exam_date",
    "receipt_number",
    "admission_slip_number",
    "paid_on",
    "account_holder",
    "bank_code",
    "bank_name",
    "account_number",
)


def export_batch(uow: Uow, *, principal: Principal, cipher: AccountCipher, batch_id: uuid.UUID, fmt: str) -> bytes:
    """The bank file of a payout batch (CSV with a BOM, or XLSX): each payout with its payee's account, the number
    in full (the one place it is shown so). A payee without an account has empty account cells; the batch's
    ``warnings`` name them. The accounts are read now, so details entered after the payment are in the file."""
    with uow:
        batch = _visible_batch(uow.repo, principal, batch_id)
        stored = uow.repo.bank_rows(batch.id)
    rows = []
    for *payout, holder, bank_code, bank_name, encrypted in stored:
        try:
            number = cipher.decrypt(encrypted) if encrypted else ""
        except AccountKeyError:
            raise key_missing() from None
        rows.append((*payout, holder or "", bank_code or "", bank_name or "", number))
    missing = sum(1 for r in stored if r[-1] is None)
    if missing:
        log.warning("bank file with payees lacking an account", extra={"batch_id": str(batch_id), "missing": missing})
    if fmt == "xlsx":
        return write_xlsx({"payouts": (EXPORT_HEADERS, rows)})
    return write_csv(EXPORT_HEADERS, rows)
