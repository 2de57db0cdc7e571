"""Certification's use cases against a fake unit of work and a fixed clock: no database, no broker.

Claim, review, pay once, pay a batch and export it, record a qualification obtained, and the claim windows
the consumer keeps from enrollment's events. Each test asserts the answer, the rows in the fake repository,
the events that committed work emitted, and, for a refusal, the rule named and that nothing went out.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from services.certification.adapters import orm
from services.certification.adapters.vault import AccountCipher
from services.certification.domain.claims import ClaimPolicy
from services.certification.entrypoints.events import HANDLERS
from services.certification.schemas import AccountIn, BatchPayIn, ClaimIn, RejectIn, ResultIn
from services.certification.service_layer import accounts, claims, results, windows
from shared import events
from shared.auth import Principal
from shared.consumer import HandlerContext
from shared.idempotency import Idempotency
from shared.pagination import PageParams
from shared.problems import Problem
from tests.fakes import FakeUnitOfWork, FixedClock
from tests.unit.certification.fakes import FakeCertificationRepository

TODAY = date(2027, 3, 20)
CAMPUS = "jungbu"
WELD = "WELD-CRAFTSMAN"
FINANCE = Principal("fin-1", frozenset({"finance"}), frozenset({"*"}))
POLICY = ClaimPolicy()
OLD_KEY, NEW_KEY = "bG9jYWwtYWNjb3VudC1rZXktY2hhbmdlLW1lLTAwMDA=", "dGVzdC1hY2NvdW50LWtleS1uZXdlci0wMDAwMDAwMDA="
CIPHER = AccountCipher([OLD_KEY])


@pytest.fixture
def repo() -> FakeCertificationRepository:
    repo = FakeCertificationRepository()
    repo.qualifications[WELD] = orm.Qualification(
        code=WELD,
        name="Welding Craftsman",
        grade="craftsman",
        written_fee=14_500,
        practical_fee=None,
        programme_codes=["JB-WELD"],
    )
    return repo


@pytest.fixture
def uow(repo: FakeCertificationRepository) -> FakeUnitOfWork[FakeCertificationRepository]:
    return FakeUnitOfWork(repo)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TODAY)


def enrol(
    repo: FakeCertificationRepository,
    trainee: uuid.UUID | None = None,
    *,
    campus: str = CAMPUS,
    programme: str = "JB-WELD",
    start: date = TODAY - timedelta(days=60),
    **extra: Any,
) -> uuid.UUID:
    trainee = trainee or uuid.uuid4()
    repo.windows.append(
        orm.ClaimWindow(
            trainee_id=trainee,
            cohort_id=uuid.uuid4(),
            campus=campus,
            programme_code=programme,
            start_date=start,
            end_date=start + timedelta(days=120),
            **extra,
        )
    )
    return trainee


def body(trainee: uuid.UUID, **extra: Any) -> ClaimIn:
    data = dict(
        trainee_id=trainee,
        qualification_code=WELD,
        stage="written",
        exam_date=TODAY - timedelta(days=5),
        amount_paid=14_500,
        receipt_number=f"R-{uuid.uuid4().hex[:8]}",
        admission_slip_number="S-1",
    )
    data.update(extra)
    return ClaimIn(**data)


def submit(uow, clock, trainee: uuid.UUID, principal: Principal = FINANCE, **extra: Any):
    return claims.submit(uow, principal=principal, clock=clock, policy=POLICY, body=body(trainee, **extra))


def approved(uow, clock, trainee: uuid.UUID, **extra: Any):
    out = submit(uow, clock, trainee, **extra)
    return claims.approve(uow, principal=FINANCE, policy=POLICY, claim_id=out.id)


def refused(call, *args: Any, **kwargs: Any) -> Problem:
    with pytest.raises(Problem) as info:
        call(*args, **kwargs)
    return info.value


def rules_of(problem: Problem) -> list[str]:
    return [e.rule for e in problem.errors]


def key(name: str, payload: str = "{}") -> Idempotency:
    return Idempotency(scope="fin-1:POST:/claims/{claim_id}/pay", key=name, request_hash=payload)


# -- submitting a claim ------------------------------------------------------------------------------
def test_a_claim_within_every_rule_is_stored_submitted_with_the_lesser_amount(uow, repo, clock) -> None:
    trainee = enrol(repo)
    out = submit(uow, clock, trainee, amount_paid=20_000, receipt_number="qn-2027 0001")
    assert (out.status, out.amount, out.standard_fee, out.campus) == ("submitted", 14_500, 14_500, CAMPUS)
    stored = repo.claims[out.id]
    assert (stored.receipt_key, stored.receipt_number, stored.submitted_by) == ("QN20270001", "qn-2027 0001", "fin-1")
    assert stored.cohort_id == repo.windows[0].cohort_id
    assert uow.committed == 1 and uow.events == []  # a submission publishes nothing


def test_a_refused_claim_names_every_failed_rule_and_stores_nothing(uow, repo, clock) -> None:
    trainee = enrol(repo, programme="OTHER")  # the qualification is not linked to this programme
    problem = refused(submit, uow, clock, trainee, exam_date=TODAY + timedelta(days=1), stage="practical")
    assert problem.status == 422
    assert set(rules_of(problem)) == {
        "claim.qualification.no-standard-fee",
        "claim.qualification.not-linked",
        "claim.exam-date.future",
    }
    assert repo.claims == {} and uow.committed == 0 and uow.events == []


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"qualification_code": "NOPE"}, "claim.qualification.unknown"),
        ({"exam_date": TODAY - timedelta(days=31)}, "claim.deadline"),
        ({"exam_date": TODAY - timedelta(days=61)}, "claim.deadline"),
    ],
)
def test_each_rule_is_named_on_its_own(uow, repo, clock, extra, rule) -> None:
    trainee = enrol(repo, start=TODAY - timedelta(days=90))
    assert rule in rules_of(refused(submit, uow, clock, trainee, **extra))
    assert repo.claims == {}


def test_the_deadline_is_counted_from_the_clocks_today(uow, repo, clock) -> None:
    exam = TODAY - timedelta(days=30)
    assert submit(uow, clock, enrol(repo), exam_date=exam).status == "submitted"  # the 30th day is inside
    clock.set(TODAY + timedelta(days=1))
    assert rules_of(refused(submit, uow, clock, enrol(repo), exam_date=exam)) == ["claim.deadline"]


def test_one_receipt_is_never_used_twice_until_its_claim_is_rejected(uow, repo, clock) -> None:
    first, second = enrol(repo), enrol(repo)
    out = submit(uow, clock, first, receipt_number="A-1")
    problem = refused(submit, uow, clock, second, receipt_number="a1")  # same receipt, another spelling
    assert rules_of(problem) == ["claim.receipt-reused"] and problem.errors[0].field == "receipt_number"
    claims.reject(
        uow,
        principal=FINANCE,
        claim_id=out.id,
        body=RejectIn(reasons=[{"code": "evidence.unreadable", "message": "unreadable scan"}]),
    )
    assert submit(uow, clock, second, receipt_number="a1").status == "submitted"


def test_one_claim_per_exam_and_at_most_three_attempts(uow, repo, clock) -> None:
    trainee = enrol(repo)
    for days in (3, 4, 5):
        submit(uow, clock, trainee, exam_date=TODAY - timedelta(days=days))
    assert rules_of(refused(submit, uow, clock, trainee, exam_date=TODAY - timedelta(days=3))) == ["claim.duplicate"]
    assert rules_of(refused(submit, uow, clock, trainee, exam_date=TODAY - timedelta(days=6))) == ["claim.attempts"]
    assert len(repo.claims) == 3


def test_the_window_closes_at_withdrawal_and_twelve_months_after_completion(uow, repo, clock) -> None:
    withdrawn = enrol(repo, status="withdrawn", closed_on=TODAY - timedelta(days=10))
    assert rules_of(refused(submit, uow, clock, withdrawn, exam_date=TODAY - timedelta(days=9))) == [
        "claim.window.after-withdrawal"
    ]
    assert submit(uow, clock, withdrawn, exam_date=TODAY - timedelta(days=10)).status == "submitted"  # that day is in
    completed = enrol(repo, start=date(2025, 9, 1), status="completed", completion_date=date(2026, 3, 10))
    assert rules_of(refused(submit, uow, clock, completed, exam_date=date(2027, 3, 11))) == [
        "claim.window.after-completion"
    ]
    assert submit(uow, clock, completed, exam_date=date(2027, 3, 10)).status == "submitted"


def test_an_unknown_trainee_is_a_404_for_staff_and_a_named_rule_for_the_trainee(uow, repo, clock) -> None:
    trainee = uuid.uuid4()
    assert refused(submit, uow, clock, trainee).status == 404
    own = Principal(str(trainee), frozenset({"trainee"}), frozenset())
    assert "claim.trainee.not-enrolled" in rules_of(refused(submit, uow, clock, trainee, principal=own))
    other = refused(submit, uow, clock, enrol(repo), principal=own)
    assert (other.status, other.code) == (403, "claim.other-trainee")


def test_staff_of_another_campus_do_not_see_the_trainee(uow, repo, clock) -> None:
    trainee = enrol(repo)
    elsewhere = Principal("fin-2", frozenset({"finance"}), frozenset({"seobu"}))
    assert refused(submit, uow, clock, trainee, principal=elsewhere).status == 404


# -- review -------------------------------------------------------------------------------------------
def test_approving_decides_once_and_tells_the_others(uow, repo, clock) -> None:
    out = approved(uow, clock, enrol(repo))
    assert out.status == "approved" and repo.claims[out.id].decided_by == "fin-1"
    assert repo.claims[out.id].decided_at is not None
    assert uow.emitted(events.CLAIM_DECIDED) == [
        {
            "claim_id": str(out.id),
            "trainee_id": str(out.trainee_id),
            "campus": CAMPUS,
            "decision": "approved",
            "amount": 14_500,
            "reasons": [],
        }
    ]
    again = refused(claims.approve, uow, principal=FINANCE, policy=POLICY, claim_id=out.id)
    assert (again.status, rules_of(again)) == (409, ["claim.already-decided"])
    assert len(uow.emitted(events.CLAIM_DECIDED)) == 1 and repo.locked == [out.id, out.id]


def test_approving_recounts_the_attempts_already_reimbursed(uow, repo, clock) -> None:
    trainee = enrol(repo)
    policy = ClaimPolicy(max_attempts=1)
    first = submit(uow, clock, trainee, exam_date=TODAY - timedelta(days=3))
    second = submit(uow, clock, trainee, exam_date=TODAY - timedelta(days=4))
    claims.approve(uow, principal=FINANCE, policy=policy, claim_id=first.id)
    problem = refused(claims.approve, uow, principal=FINANCE, policy=policy, claim_id=second.id)
    assert (problem.status, rules_of(problem)) == (409, ["claim.attempts"])
    assert repo.claims[second.id].status == "submitted" and len(uow.emitted(events.CLAIM_DECIDED)) == 1


def test_rejecting_keeps_the_reasons_and_sends_them(uow, repo, clock) -> None:
    out = submit(uow, clock, enrol(repo))
    rejected = claims.reject(
        uow,
        principal=FINANCE,
        claim_id=out.id,
        body=RejectIn(reasons=[{"code": "evidence.unreadable", "message": "the receipt scan is unreadable"}]),
    )
    assert rejected.status == "rejected"
    assert [r.model_dump() for r in rejected.reasons] == [
        {"rule": "evidence.unreadable", "message": "the receipt scan is unreadable", "field": None}
    ]
    assert repo.claims[out.id].reasons == [{"rule": "evidence.unreadable", "message": "the receipt scan is unreadable"}]
    [sent] = uow.emitted(events.CLAIM_DECIDED)
    assert (sent["decision"], sent["amount"], sent["reasons"]) == (
        "rejected",
        0,
        [{"code": "evidence.unreadable", "message": "the receipt scan is unreadable"}],
    )


def test_a_claim_of_another_campus_is_not_found(uow, repo, clock) -> None:
    out = submit(uow, clock, enrol(repo))
    elsewhere = Principal("fin-2", frozenset({"finance"}), frozenset({"seobu"}))
    assert refused(claims.approve, uow, principal=elsewhere, policy=POLICY, claim_id=out.id).status == 404
    assert refused(claims.get_claim, uow, principal=elsewhere, claim_id=out.id).status == 404
    assert uow.events == []


# -- paying once ------------------------------------------------------------------------------------------
def test_an_approved_claim_is_paid_once_and_a_retry_with_its_key_replays(uow, repo, clock) -> None:
    claim = approved(uow, clock, enrol(repo))
    paid = claims.pay(uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=key("k1"))
    assert paid.reference == f"PO-20270320-{claim.id.hex[:12].upper()}"  # the clock's date, not the machine's
    assert (paid.amount, paid.claim_id, paid.campus) == (14_500, claim.id, CAMPUS)
    assert repo.claims[claim.id].status == "paid" and list(repo.payouts) == [paid.id]
    assert repo.batches[paid.batch_id].payout_count == 1
    retry = claims.pay(uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=key("k1"))
    assert retry == paid and len(repo.payouts) == 1
    assert uow.emitted(events.CLAIM_PAID) == [
        {
            "claim_id": str(claim.id),
            "trainee_id": str(claim.trainee_id),
            "campus": CAMPUS,
            "amount": 14_500,
            "payout_reference": paid.reference,
        }
    ]


def test_a_second_payment_is_refused_naming_the_first(uow, repo, clock) -> None:
    claim = approved(uow, clock, enrol(repo))
    paid = claims.pay(uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=None)
    problem = refused(claims.pay, uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=key("other"))
    assert (problem.status, problem.code) == (409, "claim.already-paid")
    assert problem.extra["payout_reference"] == paid.reference and problem.extra["payout_id"] == str(paid.id)
    assert len(repo.payouts) == 1 and len(uow.emitted(events.CLAIM_PAID)) == 1
    assert ("fin-1:POST:/claims/{claim_id}/pay", "other") not in uow.keys  # the refused key is not kept


def test_a_key_reused_with_another_body_is_refused(uow, repo, clock) -> None:
    claim = approved(uow, clock, enrol(repo))
    claims.pay(uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=key("k1", "a"))
    problem = refused(claims.pay, uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=key("k1", "b"))
    assert (problem.status, problem.code) == (422, "idempotency-key-reused")


def test_only_an_approved_claim_is_paid(uow, repo, clock) -> None:
    claim = submit(uow, clock, enrol(repo))
    problem = refused(claims.pay, uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=key("k1"))
    assert (problem.status, rules_of(problem)) == (409, ["claim.not-approved"])
    assert repo.payouts == {} and repo.batches == {} and uow.events == []


# -- paying a batch and its bank file -----------------------------------------------------------------------
def test_a_batch_pays_every_approved_claim_of_the_campus_once_and_exports_them(uow, repo, clock) -> None:
    trainee = enrol(repo)
    paid = [approved(uow, clock, trainee, exam_date=TODAY - timedelta(days=d)) for d in (3, 4)]
    left = submit(uow, clock, trainee, exam_date=TODAY - timedelta(days=5))  # submitted, not approved
    other = approved(uow, clock, enrol(repo, campus="seobu"))
    idem = Idempotency(scope="fin-1:POST:/payouts", key="b1", request_hash="{}")
    batch = claims.pay_batch(uow, principal=FINANCE, clock=clock, body=BatchPayIn(campus=CAMPUS), idem=idem)
    assert (batch.payout_count, batch.total_amount) == (2, 29_000)
    assert {p.claim_id for p in batch.payouts} == {c.id for c in paid}
    assert [repo.claims[c].status for c in (paid[0].id, paid[1].id, left.id, other.id)] == [
        "paid",
        "paid",
        "submitted",
        "approved",
    ]
    assert {e["claim_id"] for e in uow.emitted(events.CLAIM_PAID)} == {str(c.id) for c in paid}
    assert claims.pay_batch(uow, principal=FINANCE, clock=clock, body=BatchPayIn(campus=CAMPUS), idem=idem) == batch
    assert len(uow.emitted(events.CLAIM_PAID)) == 2 and len(repo.batches) == 1

    content = claims.export_batch(uow, principal=FINANCE, cipher=CIPHER, batch_id=batch.id, fmt="csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == list(claims.EXPORT_HEADERS)
    assert sorted(r[0] for r in rows[1:]) == sorted(p.reference for p in batch.payouts)
    assert {r[1] for r in rows[1:]} == {"14500"}
    assert claims.get_batch(uow, principal=FINANCE, batch_id=batch.id).payouts == sorted(
        batch.payouts, key=lambda p: p.reference
    )

    nothing = refused(claims.pay_batch, uow, principal=FINANCE, clock=clock, body=BatchPayIn(campus=CAMPUS), idem=None)
    assert (nothing.status, rules_of(nothing)) == (409, ["payout.nothing-to-pay"])
    assert len(uow.emitted(events.CLAIM_PAID)) == 2


def test_a_batch_of_listed_claims_pays_only_those(uow, repo, clock) -> None:
    trainee = enrol(repo)
    a, b = (approved(uow, clock, trainee, exam_date=TODAY - timedelta(days=d)) for d in (3, 4))
    batch = claims.pay_batch(
        uow, principal=FINANCE, clock=clock, body=BatchPayIn(campus=CAMPUS, claim_ids=[b.id]), idem=None
    )
    assert [p.claim_id for p in batch.payouts] == [b.id] and repo.claims[a.id].status == "approved"


def test_listing_claims_carries_the_payout_reference_and_a_trainee_sees_only_theirs(uow, repo, clock) -> None:
    mine, theirs = enrol(repo), enrol(repo)
    claim = approved(uow, clock, mine)
    submit(uow, clock, theirs)
    paid = claims.pay(uow, principal=FINANCE, clock=clock, claim_id=claim.id, idem=None)
    page = claims.list_claims(
        uow, principal=FINANCE, page=PageParams(), campus=None, cohort_id=None, trainee_id=None, status="paid"
    )
    assert page.total == 1 and page.items[0].payout_reference == paid.reference
    trainee = Principal(str(mine), frozenset({"trainee"}), frozenset())
    own = claims.list_claims(
        uow, principal=trainee, page=PageParams(), campus=None, cohort_id=None, trainee_id=None, status=None
    )
    assert [c.id for c in own.items] == [claim.id]
    odd = Principal("not-a-uuid", frozenset({"trainee"}), frozenset())
    assert (
        claims.list_claims(
            uow, principal=odd, page=PageParams(), campus=None, cohort_id=None, trainee_id=None, status=None
        ).total
        == 0
    )


# -- qualifications obtained ----------------------------------------------------------------------------------
def test_a_result_counts_for_the_linked_cohort_and_is_announced(uow, repo, clock) -> None:
    trainee = enrol(repo, programme="JB-WELD", start=date(2026, 1, 5))
    enrol(repo, trainee, programme="OTHER", start=date(2026, 9, 1))  # later, but not preparing for WELD
    out = results.record(
        uow, principal=FINANCE, clock=clock, body=ResultIn(trainee_id=trainee, qualification_code=WELD, date=TODAY)
    )
    linked = repo.windows[0]
    assert (out.cohort_id, out.grade, out.obtained_on) == (linked.cohort_id, "craftsman", TODAY)
    assert len(repo.results) == 1 and repo.results[0].recorded_by == "fin-1"
    assert uow.emitted(events.QUALIFICATION_OBTAINED) == [
        {
            "trainee_id": str(trainee),
            "qualification_code": WELD,
            "grade": "craftsman",
            "date": str(TODAY),
            "campus": CAMPUS,
            "cohort_id": str(linked.cohort_id),
        }
    ]
    again = refused(
        results.record,
        uow,
        principal=FINANCE,
        clock=clock,
        body=ResultIn(trainee_id=trainee, qualification_code=WELD, date=TODAY),
    )
    assert (again.status, rules_of(again)) == (409, ["result.duplicate"])
    assert len(uow.emitted(events.QUALIFICATION_OBTAINED)) == 1


def test_a_result_after_the_clocks_today_or_of_an_unknown_trainee_is_refused(uow, repo, clock) -> None:
    trainee = enrol(repo)
    future = refused(
        results.record,
        uow,
        principal=FINANCE,
        clock=clock,
        body=ResultIn(trainee_id=trainee, qualification_code=WELD, date=TODAY + timedelta(days=1)),
    )
    assert (future.status, rules_of(future)) == (422, ["result.date.future"])
    assert future.errors[0].field == "date"
    unknown = refused(
        results.record,
        uow,
        principal=FINANCE,
        clock=clock,
        body=ResultIn(trainee_id=uuid.uuid4(), qualification_code=WELD, date=TODAY),
    )
    assert unknown.status == 404 and repo.results == [] and uow.events == []


def test_an_import_keeps_the_good_rows_and_reports_the_refused(uow, repo, clock) -> None:
    trainee = enrol(repo)
    content = (
        f"trainee_id,qualification_code,date\n{trainee},{WELD},{TODAY}\n{trainee},{WELD},{TODAY}\n"
        f"{trainee},NOPE,{TODAY}\n"
    ).encode()
    report = results.import_results(uow, principal=FINANCE, clock=clock, content=content, filename="r.csv")
    assert (report.imported, report.refused) == (1, 2)
    assert [r.errors[0].rule for r in report.report[1:]] == ["result.duplicate", "result.qualification.unknown"]
    assert len(repo.results) == 1 and len(uow.emitted(events.QUALIFICATION_OBTAINED)) == 1


# -- claim windows, from the consumer's events ------------------------------------------------------------------
def handle(uow: FakeUnitOfWork, clock: FixedClock, event_type: str, data: dict[str, Any]) -> None:
    """As the consumer does: the handler works in the open unit of work and the consumer commits."""
    parsed = events.EVENTS[event_type].data.model_validate(data)
    with uow:
        before = uow.committed
        HANDLERS[event_type](HandlerContext(uow=uow, settings=None, clock=clock), parsed, None)  # type: ignore[arg-type]
        assert uow.committed == before  # the handler did not commit
        uow.commit()


def test_windows_follow_enrollment_and_completion_in_any_order(uow, repo, clock) -> None:
    trainee, cohort = uuid.uuid4(), uuid.uuid4()
    handle(
        uow,
        clock,
        events.TRAINEE_COMPLETED,
        {
            "trainee_id": str(trainee),
            "cohort_id": str(cohort),
            "campus": CAMPUS,
            "programme_code": "JB-WELD",
            "qualification_codes": ["EXTRA"],
            "completion_date": "2026-12-31",
            "final_rate": 0.9,
        },
    )
    handle(
        uow,
        clock,
        events.TRAINEE_ENROLLED,
        {
            "trainee_id": str(trainee),
            "enrollment_id": str(uuid.uuid4()),
            "name": "T",
            "birth_date": "1995-06-01",
            "enrolled_on": "2026-06-01",
            "cohort": {
                "cohort_id": str(cohort),
                "programme_code": "JB-WELD",
                "programme_title": "Welding",
                "campus": CAMPUS,
                "track": "national_qualification",
                "total_hours": 960,
                "completion_threshold": 0.8,
                "qualification_codes": [WELD],
                "start_date": "2026-06-01",
                "end_date": "2026-12-31",
            },
        },
    )
    assert len(repo.windows) == 1  # one row per (trainee, cohort), whichever event came first
    [window] = windows.windows_of(uow, principal=FINANCE, trainee_id=trainee, policy=POLICY)
    assert (window.status, window.completion_date, window.start_date) == (
        "completed",
        date(2026, 12, 31),
        date(2026, 6, 1),
    )
    assert window.qualification_codes == ["EXTRA", WELD]
    assert window.last_exam_date == date(2027, 12, 31)
    assert windows.windows_of(uow, principal=FINANCE, trainee_id=trainee, policy=ClaimPolicy(window_months=6))[
        0
    ].last_exam_date == date(2027, 6, 30)
    # and the claim the window now admits
    assert submit(uow, clock, trainee).status == "submitted"


def test_a_withdrawal_closes_the_window_at_its_date(uow, repo, clock) -> None:
    trainee = enrol(repo)
    cohort = repo.windows[0].cohort_id
    handle(
        uow,
        clock,
        events.TRAINEE_WITHDRAWN,
        {
            "trainee_id": str(trainee),
            "enrollment_id": str(uuid.uuid4()),
            "cohort_id": str(cohort),
            "campus": CAMPUS,
            "programme_code": "JB-WELD",
            "date": str(TODAY - timedelta(days=10)),
            "reason": "personal",
        },
    )
    assert (repo.windows[0].status, repo.windows[0].closed_on) == ("withdrawn", TODAY - timedelta(days=10))
    assert rules_of(refused(submit, uow, clock, trainee)) == ["claim.window.after-withdrawal"]
    assert uow.events == []


def test_a_trainee_reads_only_their_own_windows(uow, repo) -> None:
    trainee = enrol(repo)
    other = Principal(str(uuid.uuid4()), frozenset({"trainee"}), frozenset())
    assert refused(windows.windows_of, uow, principal=other, trainee_id=trainee, policy=POLICY).status == 403
    me = Principal(str(trainee), frozenset({"trainee"}), frozenset())
    assert len(windows.windows_of(uow, principal=me, trainee_id=trainee, policy=POLICY)) == 1


# -- cohorts kept from their own events; slim enrollments -------------------------------------------------
def cohort_event(cohort: uuid.UUID, *, end: date, version: int = 1, codes: list[str] | None = None) -> dict[str, Any]:
    return dict(
        cohort_id=str(cohort),
        programme_code="JB-WELD",
        programme_title="Welding",
        campus=CAMPUS,
        track="other",
        total_hours=300,
        completion_threshold=0.8,
        qualification_codes=codes if codes is not None else [WELD],
        start_date="2025-09-01",
        end_date=end.isoformat(),
        plan_version=version,
    )


def slim_enrolled(trainee: uuid.UUID, cohort: uuid.UUID) -> dict[str, Any]:
    return dict(
        trainee_id=str(trainee),
        enrollment_id=str(uuid.uuid4()),
        name="Park",
        birth_date="1990-01-01",
        cohort_id=str(cohort),
        campus=CAMPUS,
        programme_code="JB-WELD",
        plan_version=1,
        enrolled_on="2025-09-01",
    )


def test_a_slim_enrollment_takes_its_dates_from_the_cohort_whichever_arrives_first(uow, repo, clock) -> None:
    early, late = uuid.uuid4(), uuid.uuid4()
    cohort = uuid.uuid4()
    handle(uow, clock, events.TRAINEE_ENROLLED, slim_enrolled(early, cohort))  # before the cohort: no dates yet
    [held] = repo.windows
    assert (held.start_date, held.end_date, held.qualification_codes) == (None, None, [])
    handle(uow, clock, events.COHORT_PUBLISHED, cohort_event(cohort, end=date(2026, 2, 27)))
    handle(uow, clock, events.TRAINEE_ENROLLED, slim_enrolled(late, cohort))
    for trainee in (early, late):
        row = repo.window(trainee, cohort)
        assert row is not None
        assert (row.start_date, row.end_date, row.qualification_codes) == (date(2025, 9, 1), date(2026, 2, 27), [WELD])


def test_an_extension_moves_the_window_of_an_enrolled_trainee(uow, repo, clock) -> None:
    trainee, cohort = uuid.uuid4(), uuid.uuid4()
    handle(uow, clock, events.COHORT_PUBLISHED, cohort_event(cohort, end=date(2026, 2, 27)))
    handle(uow, clock, events.TRAINEE_ENROLLED, slim_enrolled(trainee, cohort))
    exam = date(2027, 3, 10)  # more than 12 months after the first end date
    problem = refused(submit, uow, clock, trainee, exam_date=exam)
    assert rules_of(problem) == ["claim.window.after-end"]
    rescheduled = cohort_event(cohort, end=date(2026, 3, 31), version=2)
    rescheduled.update(
        change={"kind": "extend", "old_end_date": "2026-02-27", "new_end_date": "2026-03-31"}, reason="r"
    )
    handle(uow, clock, events.COHORT_RESCHEDULED, rescheduled)
    assert submit(uow, clock, trainee, exam_date=exam).status == "submitted"
    # an older plan arriving late changes nothing
    handle(uow, clock, events.COHORT_PUBLISHED, cohort_event(cohort, end=date(2026, 2, 27)))
    assert repo.window(trainee, cohort).end_date == date(2026, 3, 31)  # type: ignore[union-attr]


def test_a_late_enrollment_decided_not_completed_closes_the_window_at_the_cohort_s_end(uow, repo, clock) -> None:
    # the seat was taken after the cohort had ended: attendance decides the trainee at once, dated the closing day
    trainee, cohort = uuid.uuid4(), uuid.uuid4()
    start, end = TODAY - timedelta(days=70), TODAY - timedelta(days=10)
    handle(
        uow,
        clock,
        events.TRAINEE_ENROLLED,
        {
            "trainee_id": str(trainee),
            "enrollment_id": str(uuid.uuid4()),
            "name": "T",
            "birth_date": "1995-06-01",
            "enrolled_on": str(TODAY),
            "cohort": {
                "cohort_id": str(cohort),
                "programme_code": "JB-WELD",
                "programme_title": "Welding",
                "campus": CAMPUS,
                "track": "national_qualification",
                "total_hours": 960,
                "completion_threshold": 0.8,
                "qualification_codes": [WELD],
                "start_date": str(start),
                "end_date": str(end),
            },
        },
    )
    [open_window] = windows.windows_of(uow, principal=FINANCE, trainee_id=trainee, policy=POLICY)
    assert open_window.status == "enrolled" and (open_window.last_exam_date or TODAY) > TODAY  # undecided: still open
    handle(
        uow,
        clock,
        events.TRAINEE_NOT_COMPLETED,
        {
            "trainee_id": str(trainee),
            "cohort_id": str(cohort),
            "campus": CAMPUS,
            "programme_code": "JB-WELD",
            "date": str(end),
            "final_rate": 0.0,
            "reason": "below_threshold",
        },
    )
    [window] = windows.windows_of(uow, principal=FINANCE, trainee_id=trainee, policy=POLICY)
    assert (window.status, window.last_exam_date) == ("not_completed", end)
    problem = refused(submit, uow, clock, trainee, exam_date=TODAY - timedelta(days=3))
    assert rules_of(problem) == ["claim.window.after-dropout"]
    assert repo.claims == {} and uow.events == []


# -- payout accounts ---------------------------------------------------------------------------------------------
ACCOUNT = AccountIn(holder="김지우", bank="국민", account_number="123456-01-234567")


def test_an_account_is_stored_encrypted_and_answered_masked(uow, repo) -> None:
    trainee = enrol(repo)
    out = accounts.put_account(uow, principal=FINANCE, cipher=CIPHER, trainee_id=trainee, body=ACCOUNT)
    assert (out.holder, out.bank_code, out.bank_name, out.account_number, out.campus) == (
        "김지우",
        "004",
        "KB국민은행",
        "****4567",
        CAMPUS,
    )
    row = repo.accounts[trainee]
    assert "12345601234567" not in row.number_encrypted and "4567" not in row.number_encrypted
    assert CIPHER.decrypt(row.number_encrypted) == "12345601234567"
    assert accounts.get_account(uow, principal=FINANCE, trainee_id=trainee) == out
    assert (
        "1234560"
        not in accounts.list_accounts(uow, principal=FINANCE, page=PageParams(), campus=None).model_dump_json()
    )
    again = accounts.put_account(
        uow, principal=FINANCE, cipher=CIPHER, trainee_id=trainee, body=ACCOUNT.model_copy(update={"bank": "088"})
    )
    assert (again.bank_name, len(repo.accounts)) == ("신한은행", 1)


def test_an_account_names_every_failed_rule_and_an_unseen_trainee_is_not_found(uow, repo) -> None:
    trainee = enrol(repo)
    bad = refused(
        accounts.put_account,
        uow,
        principal=FINANCE,
        cipher=CIPHER,
        trainee_id=trainee,
        body=AccountIn(holder="김지우", bank="없는은행", account_number="12-34"),
    )
    assert (bad.status, rules_of(bad)) == (422, ["account.bank-unknown", "account.number-format"])
    elsewhere = Principal("fin-2", frozenset({"finance"}), frozenset({"seobu"}))
    for principal, who in ((FINANCE, uuid.uuid4()), (elsewhere, trainee)):
        missing = refused(accounts.put_account, uow, principal=principal, cipher=CIPHER, trainee_id=who, body=ACCOUNT)
        assert missing.status == 404
    assert repo.accounts == {}


def test_an_account_import_keeps_the_good_rows_and_reports_the_refused(uow, repo) -> None:
    a, b = enrol(repo), enrol(repo)
    content = (
        "trainee_id,holder,bank,account_number\n"
        f"{a},김지우,004,123456-01-234567\n"
        f"{b},이서연,없는은행,110123456789\n"
        f"{uuid.uuid4()},박민준,088,110123456789\n"
        "not-a-uuid,최유나,088,110123456789\n"
        f"{b},,088,110123456789\n"
    ).encode()
    report = accounts.import_accounts(uow, principal=FINANCE, cipher=CIPHER, content=content, filename="a.csv")
    assert (report.rows, report.imported, report.refused) == (5, 1, 4)
    assert [(r.row, r.status, [e.rule for e in r.errors]) for r in report.report] == [
        (2, "imported", []),
        (3, "refused", ["account.bank-unknown"]),
        (4, "refused", ["reference.trainee"]),
        (5, "refused", ["uuid"]),
        (6, "refused", ["string_too_short"]),
    ]
    assert list(repo.accounts) == [a]


def test_the_bank_file_carries_the_full_account_and_warns_of_payees_without_one(uow, repo, clock) -> None:
    with_account, without = enrol(repo), enrol(repo)
    accounts.put_account(uow, principal=FINANCE, cipher=CIPHER, trainee_id=with_account, body=ACCOUNT)
    approved(uow, clock, with_account, exam_date=TODAY - timedelta(days=3))
    approved(uow, clock, without, exam_date=TODAY - timedelta(days=3), receipt_number="QN-2027-0009999")
    batch = claims.pay_batch(uow, principal=FINANCE, clock=clock, body=BatchPayIn(campus=CAMPUS), idem=None)
    assert batch.payout_count == 2  # paid all the same: the file is made when exported
    assert [(w.rule, w.trainee_ids) for w in batch.warnings] == [("payout.account-missing", [without])]
    content = claims.export_batch(uow, principal=FINANCE, cipher=CIPHER, batch_id=batch.id, fmt="csv")
    header, *rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    by_trainee = {r[2]: dict(zip(header, r)) for r in rows}
    assert [by_trainee[str(with_account)][h] for h in header[-4:]] == ["김지우", "004", "KB국민은행", "12345601234567"]
    assert [by_trainee[str(without)][h] for h in header[-4:]] == ["", "", "", ""]

    accounts.put_account(uow, principal=FINANCE, cipher=CIPHER, trainee_id=without, body=ACCOUNT)
    assert claims.get_batch(uow, principal=FINANCE, batch_id=batch.id).warnings == []
    # a number whose key is no longer configured is refused by name, never exported garbled or empty
    lost = refused(
        claims.export_batch, uow, principal=FINANCE, cipher=AccountCipher([NEW_KEY]), batch_id=batch.id, fmt="csv"
    )
    assert (lost.status, rules_of(lost)) == (409, ["account.key-missing"])


def test_rotation_re_encrypts_old_key_rows_under_the_newest_key(uow, repo) -> None:
    trainees = [enrol(repo) for _ in range(3)]
    for t in trainees:
        accounts.put_account(uow, principal=FINANCE, cipher=CIPHER, trainee_id=t, body=ACCOUNT)
    before = {t: repo.accounts[t].number_encrypted for t in trainees}
    rotating = AccountCipher([NEW_KEY, OLD_KEY])
    assert rotating.decrypt(before[trainees[0]]) == "12345601234567"  # old rows stay readable meanwhile
    first = accounts.rotate(uow, cipher=rotating, limit=2)
    assert (first.rotated, first.remaining, first.key_id) == (2, 1, rotating.current_key_id)
    last = accounts.rotate(uow, cipher=rotating, limit=2)
    assert (last.rotated, last.remaining) == (1, 0)
    new_only = AccountCipher([NEW_KEY])
    for t in trainees:
        assert repo.accounts[t].number_encrypted != before[t]
        assert new_only.decrypt(repo.accounts[t].number_encrypted) == "12345601234567"
    assert accounts.rotate(uow, cipher=rotating, limit=2).rotated == 0
    lost = refused(accounts.rotate, uow, cipher=AccountCipher([OLD_KEY]), limit=10)
    assert (lost.status, rules_of(lost)) == (409, ["account.key-missing"])


def test_an_earlier_form_enrollment_carrying_an_older_plan_does_not_roll_a_window_back(uow, repo, clock) -> None:
    trainee, cohort = uuid.uuid4(), uuid.uuid4()
    rescheduled = cohort_event(cohort, end=date(2026, 3, 31), version=2)
    rescheduled.update(
        change={"kind": "extend", "old_end_date": "2026-02-27", "new_end_date": "2026-03-31"}, reason="r"
    )
    handle(uow, clock, events.COHORT_RESCHEDULED, rescheduled)
    old_form = {
        **{k: v for k, v in slim_enrolled(trainee, cohort).items() if k not in ("cohort_id", "plan_version")},
        "cohort": cohort_event(cohort, end=date(2026, 2, 27), version=1),  # in flight since before the extension
    }
    handle(uow, clock, events.TRAINEE_ENROLLED, old_form)
    row = repo.window(trainee, cohort)
    assert row is not None and row.end_date == date(2026, 3, 31)
    assert repo.cohort(cohort).plan_version == 2  # type: ignore[union-attr]
