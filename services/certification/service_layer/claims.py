"""Claims: submission with every rule checked, review, payment exactly once, payout batches."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import false, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.certification.adapters.orm import Claim, Payout, PayoutBatch, Qualification
from services.certification.domain import claims as rules
from services.certification.schemas import (BatchPayIn, ClaimIn, ClaimOut, PayoutBatchOut, PayoutOut, Reason,
                                            RejectIn)
from services.certification.service_layer.common import (acts_as_trainee, check_self, to_qualification,
                                                         to_window, window_rows)
from services.certification.settings import Settings
from shared import events
from shared.auth import Principal
from shared.db import utcnow
from shared.idempotency import Idempotency
from shared.outbox import emit, emit_many
from shared.pagination import PageParams, paginate
from shared.problems import RuleFailure, RuleViolation, conflict, not_found
from shared.queries import in_campuses
from shared.spreadsheets import write_csv, write_xlsx


def policy(settings: Settings) -> rules.ClaimPolicy:
    return rules.ClaimPolicy(deadline_days=settings.claim_deadline_days,
                             max_attempts=settings.max_reimbursed_attempts,
                             window_months=settings.window_months_after_completion)


def claim_out(claim: Claim, payout_reference: str | None = None) -> ClaimOut:
    out = ClaimOut.model_validate(claim, from_attributes=True)
    out.payout_reference = payout_reference
    return out


def _payout_of(session: Session, claim_id: uuid.UUID) -> Payout | None:
    return session.execute(select(Payout).where(Payout.claim_id == claim_id)).scalar_one_or_none()


# -- submission -----------------------------------------------------------------
def submit(session: Session, *, principal: Principal, settings: Settings, body: ClaimIn,
           today: date | None = None) -> ClaimOut:
    """Check every rule; a refused claim is a 422 naming each failed rule, an accepted one is stored submitted."""
    check_self(principal, body.trainee_id)
    today = today or date.today()
    windows = window_rows(session, principal, body.trainee_id)
    if not windows and not acts_as_trainee(principal):
        raise not_found("trainee", body.trainee_id)  # unknown, or of a campus this staff member does not see
    qualification = to_qualification(session.get(Qualification, body.qualification_code))
    receipt_key = rules.normalise_receipt(body.receipt_number)
    prior = [rules.PriorClaim(c.qualification_code, c.stage, c.exam_date, c.status) for c in session.execute(
        select(Claim).where(Claim.trainee_id == body.trainee_id,
                            Claim.qualification_code == body.qualification_code,
                            Claim.stage == body.stage)).scalars()]
    receipt_in_use = session.execute(select(Claim.id).where(
        Claim.receipt_key == receipt_key, Claim.status.in_(rules.LIVE_STATUSES)).limit(1)).first() is not None
    request = rules.ClaimRequest(qualification_code=body.qualification_code, stage=body.stage,
                                 exam_date=body.exam_date, amount_paid=body.amount_paid,
                                 receipt_number=body.receipt_number,
                                 admission_slip_number=body.admission_slip_number)
    assessment = rules.assess_claim(request=request, qualification=qualification,
                                    windows=[to_window(w) for w in windows], prior=prior,
                                    receipt_in_use=receipt_in_use, today=today, policy=policy(settings))
    if not assessment.ok:
        raise RuleViolation(assessment.failures)
    window = assessment.window
    assert window is not None and assessment.standard_fee is not None
    claim = Claim(trainee_id=body.trainee_id, cohort_id=window.cohort_id, campus=window.campus,
                  qualification_code=body.qualification_code, stage=body.stage, exam_date=body.exam_date,
                  amount_paid=body.amount_paid, standard_fee=assessment.standard_fee, amount=assessment.amount,
                  receipt_number=body.receipt_number.strip(), receipt_key=receipt_key,
                  admission_slip_number=body.admission_slip_number.strip(), submitted_by=principal.sub)
    session.add(claim)
    try:
        session.flush()
    except IntegrityError:  # a concurrent claim took the same exam or receipt between our check and insert
        session.rollback()
        raise RuleViolation([RuleFailure("claim.duplicate", "the same exam or receipt was claimed meanwhile")],
                            status=409)
    session.commit()
    return claim_out(claim)


# -- reading ------------------------------------------------------------------------
def load_claim(session: Session, *, principal: Principal, claim_id: uuid.UUID, lock: bool = False) -> Claim:
    query = select(Claim).where(Claim.id == claim_id)
    if lock:
        query = query.with_for_update()
    claim = session.execute(query).scalar_one_or_none()
    if claim is None:
        raise not_found("claim", claim_id)
    if acts_as_trainee(principal):
        if str(claim.trainee_id) != principal.sub:
            raise not_found("claim", claim_id)
    else:
        principal.check_campus(claim.campus, "claim", claim_id)
    return claim


def get_claim(session: Session, *, principal: Principal, claim_id: uuid.UUID) -> ClaimOut:
    claim = load_claim(session, principal=principal, claim_id=claim_id)
    payout = _payout_of(session, claim.id)
    return claim_out(claim, payout.reference if payout else None)


def list_claims(session: Session, *, principal: Principal, page: PageParams, campus: str | None,
                cohort_id: uuid.UUID | None, trainee_id: uuid.UUID | None, status: str | None) -> tuple[list, int]:
    query = select(Claim).order_by(Claim.submitted_at, Claim.id)
    if acts_as_trainee(principal):
        query = query.where(Claim.trainee_id == uuid.UUID(principal.sub) if _is_uuid(principal.sub) else false())
    else:
        query = in_campuses(query, Claim.campus, principal)
    for column, value in ((Claim.campus, campus), (Claim.cohort_id, cohort_id), (Claim.trainee_id, trainee_id),
                          (Claim.status, status)):
        if value:
            query = query.where(column == value)
    items, total = paginate(session, query, page)
    refs = dict(session.execute(select(Payout.claim_id, Payout.reference).where(
        Payout.claim_id.in_([c.id for c in items]))).all()) if items else {}
    return [claim_out(c, refs.get(c.id)) for c in items], total


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


# -- review ---------------------------------------------------------------------------
def approve(session: Session, *, principal: Principal, settings: Settings, claim_id: uuid.UUID) -> ClaimOut:
    claim = load_claim(session, principal=principal, claim_id=claim_id, lock=True)
    reimbursed = session.execute(select(func.count()).select_from(Claim).where(
        Claim.trainee_id == claim.trainee_id, Claim.qualification_code == claim.qualification_code,
        Claim.stage == claim.stage, Claim.status.in_(("approved", "paid")), Claim.id != claim.id)).scalar_one()
    failures = rules.approval_failures(claim.status, reimbursed_attempts=reimbursed, policy=policy(settings))
    if failures:
        raise RuleViolation(failures, status=409)
    claim.status, claim.decided_by, claim.decided_at, claim.updated_at = "approved", principal.sub, utcnow(), utcnow()
    emit(session, events.CLAIM_DECIDED, events.ClaimDecided(
        claim_id=claim.id, trainee_id=claim.trainee_id, campus=claim.campus, decision="approved",
        amount=claim.amount))
    session.commit()
    return claim_out(claim)


def reject(session: Session, *, principal: Principal, claim_id: uuid.UUID, body: RejectIn) -> ClaimOut:
    claim = load_claim(session, principal=principal, claim_id=claim_id, lock=True)
    failures = rules.decision_failures(claim.status)
    if failures:
        raise RuleViolation(failures, status=409)
    reasons = [Reason(rule=r.code, message=r.message) for r in body.reasons]
    claim.status, claim.decided_by, claim.decided_at, claim.updated_at = "rejected", principal.sub, utcnow(), utcnow()
    claim.reasons = [r.model_dump(exclude_none=True) for r in reasons]
    emit(session, events.CLAIM_DECIDED, events.ClaimDecided(
        claim_id=claim.id, trainee_id=claim.trainee_id, campus=claim.campus, decision="rejected", amount=0,
        reasons=[events.Reason(code=r.code, message=r.message) for r in body.reasons]))
    session.commit()
    return claim_out(claim)


# -- payment --------------------------------------------------------------------------
def payout_out(p: Payout) -> PayoutOut:
    return PayoutOut.model_validate(p, from_attributes=True)


def _already_paid(payout: Payout) -> Exception:
    return conflict("claim.already-paid",
                    f"The claim was already paid as payout {payout.reference}; it is never paid twice.",
                    payout_reference=payout.reference, payout_id=str(payout.id),
                    errors=[{"rule": "claim.already-paid", "message": f"paid as {payout.reference}"}])


def _new_payout(claim: Claim, batch: PayoutBatch, principal: Principal, today: date) -> Payout:
    return Payout(claim_id=claim.id, batch_id=batch.id, reference=rules.payout_reference(claim.id, today),
                  trainee_id=claim.trainee_id, campus=claim.campus, amount=claim.amount, paid_by=principal.sub)


def _paid_event(claim: Claim, payout: Payout) -> tuple[str, events.ClaimPaid]:
    return events.CLAIM_PAID, events.ClaimPaid(claim_id=claim.id, trainee_id=claim.trainee_id, campus=claim.campus,
                                               amount=payout.amount, payout_reference=payout.reference)


def pay(session: Session, *, principal: Principal, claim_id: uuid.UUID, idem: Idempotency | None,
        today: date | None = None) -> PayoutOut:
    """Pay one approved claim, once: the claim row is locked and a payout row is unique per claim."""
    if idem and (replayed := idem.replay(session, PayoutOut)):
        return replayed
    claim = load_claim(session, principal=principal, claim_id=claim_id, lock=True)
    existing = _payout_of(session, claim.id)
    if existing is not None:
        raise _already_paid(existing)
    failures = rules.payment_failures(claim.status)
    if failures:
        raise RuleViolation(failures, status=409)
    batch = PayoutBatch(campus=claim.campus, payout_count=1, total_amount=claim.amount, created_by=principal.sub)
    session.add(batch)
    session.flush()
    payout = _new_payout(claim, batch, principal, today or date.today())
    session.add(payout)
    claim.status, claim.updated_at = "paid", utcnow()
    session.flush()
    emit(session, *_paid_event(claim, payout))
    result = payout_out(payout)
    if idem:
        idem.save(session, result)
    session.commit()
    return result


def pay_batch(session: Session, *, principal: Principal, body: BatchPayIn, idem: Idempotency | None,
              today: date | None = None) -> PayoutBatchOut:
    """Pay every approved claim of a campus (or the listed ones) as one batch, each once."""
    if idem and (replayed := idem.replay(session, PayoutBatchOut)):
        return replayed
    principal.check_campus(body.campus, "campus", body.campus)
    query = select(Claim).where(Claim.campus == body.campus, Claim.status == "approved").order_by(Claim.id)
    if body.claim_ids is not None:
        query = query.where(Claim.id.in_(body.claim_ids))
    claims = list(session.execute(query.with_for_update()).scalars())
    if not claims:
        raise RuleViolation([RuleFailure("payout.nothing-to-pay", "no approved, unpaid claim to pay")], status=409)
    today = today or date.today()
    batch = PayoutBatch(campus=body.campus, payout_count=len(claims), total_amount=sum(c.amount for c in claims),
                        created_by=principal.sub)
    session.add(batch)
    session.flush()
    payouts = [_new_payout(c, batch, principal, today) for c in claims]
    session.add_all(payouts)
    for claim in claims:
        claim.status, claim.updated_at = "paid", utcnow()
    session.flush()
    emit_many(session, [_paid_event(c, p) for c, p in zip(claims, payouts)])
    result = batch_out(batch, payouts)
    if idem:
        idem.save(session, result)
    session.commit()
    return result


def batch_out(batch: PayoutBatch, payouts: list[Payout]) -> PayoutBatchOut:
    return PayoutBatchOut(id=batch.id, campus=batch.campus, payout_count=batch.payout_count,
                          total_amount=batch.total_amount, created_at=batch.created_at,
                          payouts=[payout_out(p) for p in payouts])


def load_batch(session: Session, *, principal: Principal, batch_id: uuid.UUID) -> PayoutBatch:
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise not_found("payout batch", batch_id)
    principal.check_campus(batch.campus, "payout batch", batch_id)
    return batch


def get_batch(session: Session, *, principal: Principal, batch_id: uuid.UUID) -> PayoutBatchOut:
    batch = load_batch(session, principal=principal, batch_id=batch_id)
    payouts = list(session.execute(select(Payout).where(Payout.batch_id == batch.id)
                                   .order_by(Payout.reference)).scalars())
    return batch_out(batch, payouts)


def list_batches(session: Session, *, principal: Principal, page: PageParams,
                 campus: str | None) -> tuple[list[PayoutBatchOut], int]:
    query = in_campuses(select(PayoutBatch), PayoutBatch.campus, principal).order_by(PayoutBatch.created_at.desc(),
                                                                                    PayoutBatch.id)
    if campus:
        query = query.where(PayoutBatch.campus == campus)
    items, total = paginate(session, query, page)
    return [batch_out(b, []) for b in items], total


EXPORT_HEADERS = ("payout_reference", "amount_krw", "trainee_id", "campus", "claim_id", "qualification_code",
                  "stage", "exam_date", "receipt_number", "admission_slip_number", "paid_on")


def export_rows(session: Session, batch_id: uuid.UUID) -> list[tuple]:
    rows = session.execute(
        select(Payout.reference, Payout.amount, Payout.trainee_id, Payout.campus, Payout.claim_id,
               Claim.qualification_code, Claim.stage, Claim.exam_date, Claim.receipt_number,
               Claim.admission_slip_number, Payout.paid_at)
        .join(Claim, Claim.id == Payout.claim_id).where(Payout.batch_id == batch_id).order_by(Payout.reference)
    ).all()
    return [(r[0], r[1], str(r[2]), r[3], str(r[4]), r[5], r[6], r[7].isoformat(), r[8], r[9],
             r[10].date().isoformat()) for r in rows]


def export_batch(session: Session, *, principal: Principal, batch_id: uuid.UUID, fmt: str) -> bytes:
    """The bank file of a payout batch (CSV with a BOM, or XLSX); personal data stays out, ids only."""
    batch = load_batch(session, principal=principal, batch_id=batch_id)
    rows = export_rows(session, batch.id)
    if fmt == "xlsx":
        return write_xlsx({"payouts": (EXPORT_HEADERS, rows)})
    return write_csv(EXPORT_HEADERS, rows)
