"""Exam-fee claims: every rule of DOMAIN.md, checked at once so every failure is named.

- the qualification exists and is linked to the trainee's programme;
- its standard fee for the stage is set (a fee left for the centre to set cannot be reimbursed);
- the exam was sat inside the claim window (see ``window``) and not in the future;
- the claim comes within 30 days (setting) of the exam;
- one reimbursement per qualification, stage and exam date;
- at most 3 reimbursed attempts (setting) per qualification and stage;
- the same payment receipt is never used twice.
Amount reimbursed = the lesser of the amount paid and the standard fee.
Workflow: submitted -> approved or rejected (with reasons) -> paid (approved only, once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from services.certification.domain.qualifications import Qualification, reimbursable_amount
from services.certification.domain.window import WINDOW_MONTHS_AFTER_COMPLETION, ClaimWindow, window_failures
from shared.rules import RuleFailure

CLAIM_DEADLINE_DAYS = 30
MAX_REIMBURSED_ATTEMPTS = 3
# Claims that hold a reimbursement, an attempt and a receipt; a rejected claim releases them.
LIVE_STATUSES = frozenset({"submitted", "approved", "paid"})
# Claims that count as a reimbursed attempt when another claim of the same qualification and stage is approved.
REIMBURSED_STATUSES = frozenset({"approved", "paid"})


@dataclass(frozen=True)
class ClaimPolicy:
    deadline_days: int = CLAIM_DEADLINE_DAYS
    max_attempts: int = MAX_REIMBURSED_ATTEMPTS
    window_months: int = WINDOW_MONTHS_AFTER_COMPLETION


@dataclass(frozen=True)
class ClaimRequest:
    qualification_code: str
    stage: str
    exam_date: date
    amount_paid: int
    receipt_number: str
    admission_slip_number: str


@dataclass(frozen=True)
class PriorClaim:
    """Another claim of the same trainee."""

    qualification_code: str
    stage: str
    exam_date: date
    status: str


@dataclass(frozen=True)
class Assessment:
    failures: list[RuleFailure]
    window: ClaimWindow | None
    standard_fee: int | None
    amount: int

    @property
    def ok(self) -> bool:
        return not self.failures


def normalise_receipt(number: str) -> str:
    """Receipt numbers compare without case, spaces or dashes, so one receipt cannot pass twice as 'A-1' and 'a1'."""
    return "".join(ch for ch in number.upper() if ch.isalnum())


def is_linked(qualification: Qualification, window: ClaimWindow) -> bool:
    return qualification.code in window.qualification_codes or window.programme_code in qualification.programme_codes


def _pick_window(
    qualification: Qualification | None, windows: list[ClaimWindow], request: ClaimRequest, policy: ClaimPolicy
) -> tuple[ClaimWindow | None, list[RuleFailure]]:
    failures: list[RuleFailure] = []
    if not windows:
        return None, [
            RuleFailure(
                "claim.trainee.not-enrolled", "no enrollment of this trainee is known to certification", "trainee_id"
            )
        ]
    candidates = windows
    if qualification is not None:
        linked = [w for w in windows if is_linked(qualification, w)]
        if not linked:
            programmes = ", ".join(sorted({w.programme_code for w in windows}))
            failures.append(
                RuleFailure(
                    "claim.qualification.not-linked",
                    f"{qualification.code} is not linked to the trainee's programme ({programmes})",
                    "qualification_code",
                )
            )
        else:
            candidates = linked
    for window in candidates:
        if not window_failures(window, request.exam_date, policy.window_months):
            return window, failures
    latest = max(candidates, key=lambda w: (w.start_date or date.min, str(w.cohort_id)))
    return latest, failures + window_failures(latest, request.exam_date, policy.window_months)


def assess_claim(
    *,
    request: ClaimRequest,
    qualification: Qualification | None,
    windows: list[ClaimWindow],
    prior: list[PriorClaim],
    receipt_in_use: bool,
    today: date,
    policy: ClaimPolicy = ClaimPolicy(),
) -> Assessment:
    """Check every rule; the assessment lists every failure and, when none, the amount to reimburse."""
    failures: list[RuleFailure] = []
    fee: int | None = None
    if qualification is None:
        failures.append(
            RuleFailure(
                "claim.qualification.unknown",
                f"no qualification {request.qualification_code!r} in the catalogue",
                "qualification_code",
            )
        )
    else:
        fee = qualification.standard_fee(request.stage)
        if fee is None:
            failures.append(
                RuleFailure(
                    "claim.qualification.no-standard-fee",
                    f"the {request.stage} fee of {qualification.code} has not been set by the "
                    "centre; it cannot be reimbursed until it is",
                    "stage",
                )
            )
    window, window_fail = _pick_window(qualification, windows, request, policy)
    failures += window_fail
    if request.exam_date > today:
        failures.append(
            RuleFailure(
                "claim.exam-date.future", f"the exam date {request.exam_date} is after today ({today})", "exam_date"
            )
        )
    elif today > request.exam_date + timedelta(days=policy.deadline_days):
        failures.append(
            RuleFailure(
                "claim.deadline",
                f"claims must come within {policy.deadline_days} days of the exam; the exam on "
                f"{request.exam_date} was {(today - request.exam_date).days} days ago",
                "exam_date",
            )
        )
    live = [
        p
        for p in prior
        if p.status in LIVE_STATUSES and p.qualification_code == request.qualification_code and p.stage == request.stage
    ]
    if any(p.exam_date == request.exam_date for p in live):
        failures.append(
            RuleFailure(
                "claim.duplicate",
                f"a claim for {request.qualification_code} {request.stage} on {request.exam_date} already exists",
                "exam_date",
            )
        )
    elif len(live) >= policy.max_attempts:
        failures.append(
            RuleFailure(
                "claim.attempts",
                f"at most {policy.max_attempts} attempts per qualification and stage are "
                f"reimbursed; {len(live)} are already claimed",
                "stage",
            )
        )
    if receipt_in_use:
        failures.append(
            RuleFailure(
                "claim.receipt-reused", "this payment receipt number is already used by another claim", "receipt_number"
            )
        )
    amount = reimbursable_amount(request.amount_paid, fee) if fee is not None and request.amount_paid >= 0 else 0
    return Assessment(failures=failures, window=window, standard_fee=fee, amount=amount)


# -- the workflow ------------------------------------------------------------
def decision_failures(status: str) -> list[RuleFailure]:
    """Approve or reject: only a submitted claim can be decided."""
    if status != "submitted":
        return [RuleFailure("claim.already-decided", f"the claim is {status}; only a submitted claim is decided")]
    return []


def approval_failures(
    status: str, *, reimbursed_attempts: int, policy: ClaimPolicy = ClaimPolicy()
) -> list[RuleFailure]:
    """Approving re-counts the attempts already approved or paid for the qualification and stage."""
    failures = decision_failures(status)
    if not failures and reimbursed_attempts >= policy.max_attempts:
        failures.append(
            RuleFailure(
                "claim.attempts",
                f"{reimbursed_attempts} attempts of this qualification and "
                f"stage are already reimbursed; at most {policy.max_attempts}",
            )
        )
    return failures


def payment_failures(status: str) -> list[RuleFailure]:
    """Only an approved claim is paid (a paid claim is answered with its payout, elsewhere)."""
    if status != "approved":
        return [RuleFailure("claim.not-approved", f"the claim is {status}; only an approved claim is paid")]
    return []


def payout_reference(claim_id: uuid.UUID, paid_on: date) -> str:
    """A reference the bank file and the trainee's statement share; unique because the claim pays once."""
    return f"PO-{paid_on:%Y%m%d}-{claim_id.hex[:12].upper()}"
