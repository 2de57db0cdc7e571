"""An in-memory stand-in for ``CertificationRepository``: the same methods the use cases call, over dicts.

It stores the service's own ORM objects, never attached to a session. What a unit of work adds and then
does not commit is taken out again on rollback (and what a failed savepoint added), as the database would;
the unique indexes a claim and a payout rely on are checked on insert.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from services.certification.adapters import orm
from services.certification.adapters.repository import (
    Campuses,
    ClaimContext,
    ClaimTaken,
    claim_context_by_parts,
    to_prior,
    to_qualification,
    to_window,
)
from services.certification.domain.claims import LIVE_STATUSES, REIMBURSED_STATUSES, PriorClaim
from services.certification.domain.qualifications import Qualification
from services.certification.domain.window import ClaimWindow
from shared.pagination import PageParams


def _page(items: list[Any], page: PageParams) -> tuple[list[Any], int]:
    return items[page.offset : page.offset + page.limit], len(items)


def _given(row: Any, **filters: Any) -> bool:
    return all(getattr(row, name) == value for name, value in filters.items() if value)


def _seen(campus: str, campuses: Campuses) -> bool:
    return campuses is None or campus in campuses


class FakeCertificationRepository:
    def __init__(self) -> None:
        self.qualifications: dict[str, orm.Qualification] = {}
        self.windows: list[orm.ClaimWindow] = []
        self.claims: dict[uuid.UUID, orm.Claim] = {}
        self.cohorts: dict[uuid.UUID, orm.CohortPlan] = {}
        self.batches: dict[uuid.UUID, orm.PayoutBatch] = {}
        self.payouts: dict[uuid.UUID, orm.Payout] = {}
        self.results: list[orm.QualificationObtained] = []
        self.accounts: dict[uuid.UUID, orm.PayoutAccount] = {}
        self.locked: list[uuid.UUID] = []  # claim ids in the order the use cases locked them
        self._added: list[tuple[Any, Any]] = []  # (store, object) since the last commit

    # -- the unit of work's ends --------------------------------------------------------------------------
    def commit(self) -> None:
        self._added = []

    def rollback(self) -> None:
        self._undo(0)

    def _undo(self, mark: int) -> None:
        for store, obj in reversed(self._added[mark:]):
            if isinstance(store, dict):
                store.pop(next(k for k, v in store.items() if v is obj))
            else:
                store.remove(obj)
        del self._added[mark:]

    def _put(self, store: Any, key: Any, obj: Any) -> None:
        if isinstance(store, dict):
            if key in store:
                return
            store[key] = obj
        else:
            if any(o is obj for o in store):
                return
            store.append(obj)
        self._added.append((store, obj))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        mark = len(self._added)
        try:
            yield
        except BaseException:
            self._undo(mark)
            raise

    # -- the catalogue -----------------------------------------------------------------------------------
    def qualification(self, code: str) -> orm.Qualification | None:
        return self.qualifications.get(code)

    def domain_qualification(self, code: str) -> Qualification | None:
        return to_qualification(self.qualification(code))

    def lock_qualification(self, code: str) -> orm.Qualification | None:
        return self.qualifications.get(code)

    def save_qualification(self, row: orm.Qualification) -> None:
        self._put(self.qualifications, row.code, row)

    def qualifications_page(
        self, page: PageParams, *, grade: str | None, programme_code: str | None
    ) -> tuple[list[orm.Qualification], int]:
        rows = [
            q
            for _, q in sorted(self.qualifications.items())
            if _given(q, grade=grade) and (not programme_code or programme_code in q.programme_codes)
        ]
        return _page(rows, page)

    # -- windows --------------------------------------------------------------------------------------------
    def window_rows(self, trainee_id: uuid.UUID, campuses: Campuses) -> list[orm.ClaimWindow]:
        rows = [w for w in self.windows if w.trainee_id == trainee_id and _seen(w.campus, campuses)]
        return sorted(rows, key=lambda w: (w.start_date is None, w.start_date))

    def claim_windows(self, trainee_id: uuid.UUID, campuses: Campuses) -> list[ClaimWindow]:
        return [to_window(r) for r in self.window_rows(trainee_id, campuses)]

    def window(self, trainee_id: uuid.UUID, cohort_id: uuid.UUID) -> orm.ClaimWindow | None:
        return next((w for w in self.windows if w.trainee_id == trainee_id and w.cohort_id == cohort_id), None)

    def save_window(self, row: orm.ClaimWindow) -> None:
        self._put(self.windows, None, row)

    def cohort(self, cohort_id: uuid.UUID) -> orm.CohortPlan | None:
        return self.cohorts.get(cohort_id)

    def save_cohort(self, row: orm.CohortPlan) -> None:
        self.cohorts[row.id] = row

    def windows_of_cohort(self, cohort_id: uuid.UUID) -> list[orm.ClaimWindow]:
        return [w for w in self.windows if w.cohort_id == cohort_id]

    # -- claims ----------------------------------------------------------------------------------------------
    def prior_claims(self, trainee_id: uuid.UUID, qualification_code: str, stage: str) -> list[PriorClaim]:
        return [
            to_prior(c)
            for c in self.claims.values()
            if c.trainee_id == trainee_id and c.qualification_code == qualification_code and c.stage == stage
        ]

    def claim_context(
        self, trainee_id: uuid.UUID, campuses: Campuses, code: str, stage: str, receipt_key: str
    ) -> ClaimContext:
        return claim_context_by_parts(self, trainee_id, campuses, code, stage, receipt_key)

    def receipt_in_use(self, receipt_key: str) -> bool:
        return any(c.receipt_key == receipt_key and c.status in LIVE_STATUSES for c in self.claims.values())

    def add_claim(self, claim: orm.Claim) -> None:
        # the two partial unique indexes of the claim table (live = not rejected)
        for other in self.claims.values():
            if other.status == "rejected":
                continue
            if other.receipt_key == claim.receipt_key or (
                (other.trainee_id, other.qualification_code, other.stage, other.exam_date)
                == (claim.trainee_id, claim.qualification_code, claim.stage, claim.exam_date)
            ):
                raise ClaimTaken()
        self._put(self.claims, claim.id, claim)

    def claim(self, claim_id: uuid.UUID) -> orm.Claim | None:
        return self.claims.get(claim_id)

    def lock_claim(self, claim_id: uuid.UUID) -> orm.Claim | None:
        self.locked.append(claim_id)
        return self.claims.get(claim_id)

    def reimbursed_attempts(self, claim: orm.Claim) -> int:
        return sum(
            1
            for c in self.claims.values()
            if c.trainee_id == claim.trainee_id
            and c.qualification_code == claim.qualification_code
            and c.stage == claim.stage
            and c.status in REIMBURSED_STATUSES
            and c.id != claim.id
        )

    def claims_page(
        self,
        page: PageParams,
        *,
        campuses: Campuses,
        of_trainee: uuid.UUID | None,
        campus: str | None,
        cohort_id: uuid.UUID | None,
        trainee_id: uuid.UUID | None,
        status: str | None,
    ) -> tuple[list[orm.Claim], int]:
        rows = [
            c
            for c in self.claims.values()
            if (c.trainee_id == of_trainee if of_trainee is not None else _seen(c.campus, campuses))
            and _given(c, campus=campus, cohort_id=cohort_id, trainee_id=trainee_id, status=status)
        ]
        return _page(sorted(rows, key=lambda c: (c.submitted_at, str(c.id))), page)

    def lock_payable_claims(self, campus: str, claim_ids: list[uuid.UUID] | None) -> list[orm.Claim]:
        rows = sorted(
            (
                c
                for c in self.claims.values()
                if c.campus == campus and c.status == "approved" and (claim_ids is None or c.id in claim_ids)
            ),
            key=lambda c: str(c.id),
        )
        self.locked += [c.id for c in rows]
        return rows

    # -- payouts ---------------------------------------------------------------------------------------------
    def payout_of(self, claim_id: uuid.UUID) -> orm.Payout | None:
        return next((p for p in self.payouts.values() if p.claim_id == claim_id), None)

    def payout_references(self, claim_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        ids = set(claim_ids)
        return {p.claim_id: p.reference for p in self.payouts.values() if p.claim_id in ids}

    def add_batch(self, batch: orm.PayoutBatch, payouts: list[orm.Payout]) -> None:
        for payout in payouts:  # the unique claim_id and reference of the payout table
            if self.payout_of(payout.claim_id) or any(p.reference == payout.reference for p in self.payouts.values()):
                raise AssertionError(f"a second payout of claim {payout.claim_id}: the unique index refuses it")
        self._put(self.batches, batch.id, batch)
        for payout in payouts:
            self._put(self.payouts, payout.id, payout)

    def batch(self, batch_id: uuid.UUID) -> orm.PayoutBatch | None:
        return self.batches.get(batch_id)

    def payouts_of_batch(self, batch_id: uuid.UUID) -> list[orm.Payout]:
        return sorted((p for p in self.payouts.values() if p.batch_id == batch_id), key=lambda p: p.reference)

    def batches_page(
        self, page: PageParams, *, campuses: Campuses, campus: str | None
    ) -> tuple[list[orm.PayoutBatch], int]:
        rows = [b for b in self.batches.values() if _seen(b.campus, campuses) and _given(b, campus=campus)]
        return _page(sorted(rows, key=lambda b: b.created_at, reverse=True), page)

    def bank_rows(self, batch_id: uuid.UUID) -> list[tuple]:
        rows = []
        for p in self.payouts_of_batch(batch_id):
            c = self.claims[p.claim_id]
            rows.append(
                (
                    p.reference,
                    p.amount,
                    str(p.trainee_id),
                    p.campus,
                    str(p.claim_id),
                    c.qualification_code,
                    c.stage,
                    c.exam_date.isoformat(),
                    c.receipt_number,
                    c.admission_slip_number,
                    p.paid_at.date().isoformat(),
                    *self._account_cells(p.trainee_id),
                )
            )
        return rows

    def _account_cells(self, trainee_id: uuid.UUID) -> tuple[str | None, ...]:
        a = self.accounts.get(trainee_id)
        return (a.holder, a.bank_code, a.bank_name, a.number_encrypted) if a else (None, None, None, None)

    def trainees_without_account(self, batch_id: uuid.UUID) -> list[uuid.UUID]:
        payees = {p.trainee_id for p in self.payouts_of_batch(batch_id)}
        return sorted((t for t in payees if t not in self.accounts), key=str)

    # -- payout accounts ---------------------------------------------------------------------------------------
    def account(self, trainee_id: uuid.UUID, *, lock: bool = False) -> orm.PayoutAccount | None:
        return self.accounts.get(trainee_id)

    def save_account(self, row: orm.PayoutAccount) -> None:
        self._put(self.accounts, row.trainee_id, row)

    def accounts_page(
        self, page: PageParams, *, campuses: Campuses, campus: str | None
    ) -> tuple[list[orm.PayoutAccount], int]:
        rows = [a for a in self.accounts.values() if _seen(a.campus, campuses) and _given(a, campus=campus)]
        return _page(sorted(rows, key=lambda a: (a.campus, str(a.trainee_id))), page)

    def accounts_under_old_keys(self, current_key_id: str, limit: int) -> list[orm.PayoutAccount]:
        rows = sorted(
            (a for a in self.accounts.values() if a.key_id != current_key_id), key=lambda a: str(a.trainee_id)
        )
        return rows[:limit]

    def count_under_old_keys(self, current_key_id: str) -> int:
        return sum(1 for a in self.accounts.values() if a.key_id != current_key_id)

    # -- qualifications obtained -----------------------------------------------------------------------------
    def holds(self, trainee_id: uuid.UUID, qualification_code: str) -> bool:
        return any(r.trainee_id == trainee_id and r.qualification_code == qualification_code for r in self.results)

    def add_result(self, result: orm.QualificationObtained) -> None:
        if self.holds(result.trainee_id, result.qualification_code):
            raise AssertionError("the unique (trainee, qualification) index refuses a second result")
        self._put(self.results, None, result)

    def results_page(
        self,
        page: PageParams,
        *,
        campuses: Campuses,
        campus: str | None,
        cohort_id: uuid.UUID | None,
        trainee_id: uuid.UUID | None,
    ) -> tuple[list[orm.QualificationObtained], int]:
        rows = [
            r
            for r in self.results
            if _seen(r.campus, campuses) and _given(r, campus=campus, cohort_id=cohort_id, trainee_id=trainee_id)
        ]
        return _page(sorted(rows, key=lambda r: (r.obtained_on, str(r.id))), page)
