"""Every certification rule of DOMAIN.md, with its figures, in milliseconds."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.certification.domain.claims import (
    ClaimPolicy,
    ClaimRequest,
    PriorClaim,
    approval_failures,
    assess_claim,
    decision_failures,
    normalise_receipt,
    payment_failures,
    payout_reference,
)
from services.certification.domain.qualifications import (
    CRAFTSMAN_WRITTEN_FEE,
    HIGHEST_KNOWN_PRACTICAL_FEE,
    Qualification,
    reimbursable_amount,
)
from services.certification.domain.results import result_failures
from services.certification.domain.window import ClaimWindow, add_months, window_failures

WELD = Qualification("WELD-CRAFTSMAN", "craftsman", written_fee=14_500, practical_fee=None)
WELD_WITH_PRACTICAL = Qualification(
    "WELD-CRAFTSMAN", "craftsman", written_fee=14_500, practical_fee=HIGHEST_KNOWN_PRACTICAL_FEE
)
COHORT = uuid.uuid4()


def window(**kw) -> ClaimWindow:
    base = dict(
        cohort_id=COHORT,
        campus="jungbu",
        programme_code="JB-WELD",
        qualification_codes=frozenset({"WELD-CRAFTSMAN"}),
        start_date=date(2026, 1, 5),
        status="enrolled",
    )
    base.update(kw)
    return ClaimWindow(**base)


def request(**kw) -> ClaimRequest:
    base = dict(
        qualification_code="WELD-CRAFTSMAN",
        stage="written",
        exam_date=date(2026, 3, 10),
        amount_paid=14_500,
        receipt_number="R-1",
        admission_slip_number="S-1",
    )
    base.update(kw)
    return ClaimRequest(**base)


DEFAULT_POLICY = ClaimPolicy()


def assess(
    req=None,
    *,
    qualification=WELD,
    windows=None,
    prior=(),
    receipt_in_use=False,
    today=date(2026, 3, 20),
    policy=DEFAULT_POLICY,
):
    return assess_claim(
        request=req or request(),
        qualification=qualification,
        windows=[window()] if windows is None else windows,
        prior=list(prior),
        receipt_in_use=receipt_in_use,
        today=today,
        policy=policy,
    )


def rules(assessment) -> list[str]:
    return [f.rule for f in assessment.failures]


# -- fees and the amount -------------------------------------------------------
def test_craftsman_written_fee_is_the_domain_figure():
    assert CRAFTSMAN_WRITTEN_FEE == 14_500
    assert WELD.standard_fee("written") == 14_500


def test_amount_is_the_lesser_of_paid_and_standard_fee():
    assert reimbursable_amount(14_500, 14_500) == 14_500
    assert reimbursable_amount(20_000, 14_500) == 14_500
    assert reimbursable_amount(10_000, 14_500) == 10_000
    assert reimbursable_amount(200_000, HIGHEST_KNOWN_PRACTICAL_FEE) == 166_700


@given(paid=st.integers(0, 10_000_000), fee=st.integers(0, 1_000_000))
def test_amount_never_exceeds_either_figure(paid, fee):
    amount = reimbursable_amount(paid, fee)
    assert amount <= paid and amount <= fee and amount in (paid, fee)


def test_negative_amounts_are_refused():
    with pytest.raises(ValueError):
        reimbursable_amount(-1, 14_500)


def test_a_valid_claim_passes_with_the_amount():
    a = assess(request(amount_paid=20_000))
    assert a.ok and a.amount == 14_500 and a.standard_fee == 14_500 and a.window == window()


def test_a_stage_without_a_standard_fee_cannot_be_reimbursed():
    a = assess(request(stage="practical", amount_paid=100_000))
    assert rules(a) == ["claim.qualification.no-standard-fee"] and a.amount == 0


def test_practical_fee_once_set_is_reimbursed_up_to_it():
    a = assess(request(stage="practical", amount_paid=170_000), qualification=WELD_WITH_PRACTICAL)
    assert a.ok and a.amount == 166_700


def test_unknown_qualification_is_named():
    assert "claim.qualification.unknown" in rules(assess(request(qualification_code="NOPE"), qualification=None))


# -- linked to the programme -------------------------------------------------------
def test_qualification_must_be_linked_to_the_programme():
    other = Qualification("ELEC-CRAFTSMAN", "craftsman", written_fee=14_500)
    assert rules(assess(request(qualification_code="ELEC-CRAFTSMAN"), qualification=other)) == [
        "claim.qualification.not-linked"
    ]


def test_catalogue_link_by_programme_code_counts_too():
    linked = Qualification("ELEC-CRAFTSMAN", "craftsman", written_fee=14_500, programme_codes=frozenset({"JB-WELD"}))
    assert assess(request(qualification_code="ELEC-CRAFTSMAN"), qualification=linked).ok


def test_no_known_enrollment_is_named():
    assert rules(assess(windows=[])) == ["claim.trainee.not-enrolled"]


# -- the window: enrolled -> completion + 12 months; closed at withdrawal / dropout --------
def test_exam_before_the_cohort_start_is_outside():
    assert rules(assess(request(exam_date=date(2026, 1, 4)), today=date(2026, 1, 10))) == [
        "claim.window.before-enrollment"
    ]


def test_exam_within_12_months_of_completion_is_inside():
    done = window(status="completed", completion_date=date(2026, 6, 30))
    assert window_failures(done, date(2027, 6, 30)) == []
    assert [f.rule for f in window_failures(done, date(2027, 7, 1))] == ["claim.window.after-completion"]


def test_window_months_is_a_setting():
    done = window(status="completed", completion_date=date(2026, 6, 30))
    assert window_failures(done, date(2026, 12, 31), months_after_completion=6)
    assert not window_failures(done, date(2026, 12, 30), months_after_completion=6)


def test_withdrawn_trainee_loses_exams_after_the_withdrawal_date():
    gone = window(status="withdrawn", closed_on=date(2026, 3, 1))
    assert window_failures(gone, date(2026, 3, 1)) == []
    assert [f.rule for f in window_failures(gone, date(2026, 3, 2))] == ["claim.window.after-withdrawal"]


def test_dropped_out_trainee_loses_exams_after_the_dropout_date():
    gone = window(status="not_completed", closed_on=date(2026, 6, 30))
    assert [f.rule for f in window_failures(gone, date(2026, 7, 1))] == ["claim.window.after-dropout"]
    assert window_failures(gone, date(2026, 6, 30)) == []


def test_still_enrolled_is_open():
    assert window_failures(window(), date(2030, 1, 1)) == []


def test_one_inside_window_of_several_suffices():
    old = window(cohort_id=uuid.uuid4(), start_date=date(2024, 1, 1), status="withdrawn", closed_on=date(2024, 2, 1))
    assert assess(windows=[old, window()]).ok


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(date(2026, 6, 30), 12) == date(2027, 6, 30)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


@given(day=st.dates(date(2000, 1, 1), date(2090, 12, 31)), months=st.integers(0, 48))
def test_add_months_is_monotonic_and_in_the_target_month(day, months):
    later = add_months(day, months)
    assert later >= day
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months


# -- deadline and dates ---------------------------------------------------------------
def test_claim_within_30_days_of_the_exam():
    exam = date(2026, 3, 10)
    assert assess(request(exam_date=exam), today=exam + timedelta(days=30)).ok
    assert rules(assess(request(exam_date=exam), today=exam + timedelta(days=31))) == ["claim.deadline"]


def test_deadline_is_a_setting():
    exam = date(2026, 3, 10)
    assert rules(
        assess(request(exam_date=exam), today=exam + timedelta(days=11), policy=ClaimPolicy(deadline_days=10))
    ) == ["claim.deadline"]


def test_exam_in_the_future_is_refused():
    assert rules(assess(request(exam_date=date(2026, 3, 21)), today=date(2026, 3, 20))) == ["claim.exam-date.future"]


# -- duplicates, attempts, receipts -----------------------------------------------------
def test_one_reimbursement_per_qualification_stage_and_exam_date():
    prior = [PriorClaim("WELD-CRAFTSMAN", "written", date(2026, 3, 10), "approved")]
    assert rules(assess(prior=prior)) == ["claim.duplicate"]


def test_a_rejected_claim_does_not_block_a_new_one():
    prior = [PriorClaim("WELD-CRAFTSMAN", "written", date(2026, 3, 10), "rejected")]
    assert assess(prior=prior).ok


def test_same_date_other_stage_is_not_a_duplicate():
    prior = [PriorClaim("WELD-CRAFTSMAN", "practical", date(2026, 3, 10), "paid")]
    assert assess(prior=prior).ok


def test_at_most_three_attempts_per_qualification_and_stage():
    two = [PriorClaim("WELD-CRAFTSMAN", "written", date(2026, 2, d), "paid") for d in (1, 15)]
    assert assess(prior=two).ok  # the third attempt
    three = two + [PriorClaim("WELD-CRAFTSMAN", "written", date(2026, 3, 1), "approved")]
    assert rules(assess(prior=three)) == ["claim.attempts"]  # the fourth


def test_attempts_is_a_setting():
    one = [PriorClaim("WELD-CRAFTSMAN", "written", date(2026, 2, 1), "paid")]
    assert rules(assess(prior=one, policy=ClaimPolicy(max_attempts=1))) == ["claim.attempts"]


def test_the_same_receipt_is_never_used_twice():
    assert rules(assess(receipt_in_use=True)) == ["claim.receipt-reused"]
    assert normalise_receipt(" a-12 3 ") == normalise_receipt("A123")


def test_every_failed_rule_is_named_at_once():
    gone = window(status="withdrawn", closed_on=date(2026, 2, 1))
    prior = [PriorClaim("WELD-CRAFTSMAN", "written", date(2026, 3, 10), "submitted")]
    a = assess(
        request(stage="practical", exam_date=date(2026, 1, 10)),
        windows=[gone],
        prior=[PriorClaim("WELD-CRAFTSMAN", "practical", date(2026, 1, 10), "paid")] + prior,
        receipt_in_use=True,
        today=date(2026, 3, 20),
    )
    assert set(rules(a)) == {
        "claim.qualification.no-standard-fee",
        "claim.deadline",
        "claim.duplicate",
        "claim.receipt-reused",
    }
    b = assess(request(exam_date=date(2026, 3, 5)), windows=[gone], receipt_in_use=True)
    assert set(rules(b)) == {"claim.window.after-withdrawal", "claim.receipt-reused"}


# -- workflow --------------------------------------------------------------------------
def test_only_submitted_claims_are_decided():
    assert decision_failures("submitted") == []
    for status in ("approved", "rejected", "paid"):
        assert [f.rule for f in decision_failures(status)] == ["claim.already-decided"]


def test_approval_recounts_reimbursed_attempts():
    assert approval_failures("submitted", reimbursed_attempts=2) == []
    assert [f.rule for f in approval_failures("submitted", reimbursed_attempts=3)] == ["claim.attempts"]


def test_only_approved_claims_are_paid():
    assert payment_failures("approved") == []
    for status in ("submitted", "rejected"):
        assert [f.rule for f in payment_failures(status)] == ["claim.not-approved"]


def test_payout_reference_is_stable_per_claim():
    cid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert payout_reference(cid, date(2026, 4, 1)) == "PO-20260401-123456781234"


# -- results ---------------------------------------------------------------------------
def test_result_rules():
    assert (
        result_failures(
            qualification=WELD,
            code=WELD.code,
            obtained_on=date(2026, 3, 1),
            today=date(2026, 3, 2),
            already_recorded=False,
        )
        == []
    )
    fails = result_failures(
        qualification=None, code="X", obtained_on=date(2026, 3, 3), today=date(2026, 3, 2), already_recorded=True
    )
    assert [f.rule for f in fails] == ["result.qualification.unknown", "result.date.future", "result.duplicate"]
