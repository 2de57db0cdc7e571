"""Certification's repository: every statement, lock and savepoint the use cases need, built on one session.

The unit of work builds it on its session (``ServiceSpec.repository``); the use cases reach it as ``uow.repo``
and never see SQL. It also maps rows to the domain's objects (``ClaimWindow``, ``Qualification``,
``PriorClaim``), so the service layer hands the domain only what the domain knows.

Campus scope comes in as ``campuses``: the set a principal may see, or None for every campus
(``Principal.campus_filter()``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select
from sqlmodel import Session

from services.certification.adapters import orm
from services.certification.domain.claims import LIVE_STATUSES, REIMBURSED_STATUSES, PriorClaim
from services.certification.domain.qualifications import Qualification
from services.certification.domain.window import ClaimWindow
from shared.db import fast_execute
from shared.pagination import PageParams, paginate
from shared.queries import where_given

Campuses = frozenset[str] | None


class ClaimTaken(Exception):
    """A concurrent claim took the same exam or receipt between the checks and the insert (a unique index)."""


# -- mapping rows to the domain's objects (the fake repository uses these too) ------------------------------
def to_window(row: orm.ClaimWindow) -> ClaimWindow:
    return ClaimWindow(
        cohort_id=row.cohort_id,
        campus=row.campus,
        programme_code=row.programme_code,
        qualification_codes=frozenset(row.qualification_codes),
        start_date=row.start_date,
        status=row.status,
        completion_date=row.completion_date,
        closed_on=row.closed_on,
        end_date=row.end_date,
    )


def to_qualification(row: orm.Qualification | None) -> Qualification | None:
    if row is None:
        return None
    return Qualification(
        code=row.code,
        grade=row.grade,
        written_fee=row.written_fee,
        practical_fee=row.practical_fee,
        programme_codes=frozenset(row.programme_codes),
    )


def to_prior(row: orm.Claim) -> PriorClaim:
    return PriorClaim(row.qualification_code, row.stage, row.exam_date, row.status)


def _in(query: Select, column: object, campuses: Campuses) -> Select:
    return query if campuses is None else query.where(column.in_(campuses))  # type: ignore[attr-defined]


# A claim's submission is the busiest write of certification: its reads are built once, take their values as
# parameters and select only the columns the domain's objects need (no ORM rows to build and throw away).
_W, _C = orm.ClaimWindow, orm.Claim
_WINDOWS = (
    select(
        _W.cohort_id,
        _W.campus,
        _W.programme_code,
        _W.qualification_codes,
        _W.start_date,
        _W.status,
        _W.completion_date,
        _W.closed_on,
        _W.end_date,
    )
    .where(_W.trainee_id == bindparam("b_trainee"))
    .order_by(_W.start_date)
)
_WINDOWS_IN_CAMPUSES = _WINDOWS.where(_W.campus.in_(bindparam("b_campuses", expanding=True)))
_PRIOR_CLAIMS = select(_C.qualification_code, _C.stage, _C.exam_date, _C.status).where(
    _C.trainee_id == bindparam("b_trainee"),
    _C.qualification_code == bindparam("b_code"),
    _C.stage == bindparam("b_stage"),
)
_CLAIMS = orm.Claim.__table__  # type: ignore[attr-defined]
_INSERT_CLAIM = insert(_CLAIMS)
_RECEIPT_IN_USE = (
    select(_C.id).where(_C.receipt_key == bindparam("b_receipt"), _C.status.in_(sorted(LIVE_STATUSES))).limit(1)
)


# PostgreSQL: the four reads of a claim's submission as one statement, each part a JSON value (a submission's
# time went mostly to round trips: four reads of one row or none each, as costly as the insert).
_Q = orm.Qualification


def _claim_context_pg(windows: Select) -> Select:
    w = windows.subquery()
    return select(
        select(func.json_agg(func.json_build_array(*w.c))).select_from(w).scalar_subquery(),
        select(func.json_build_array(_Q.grade, _Q.written_fee, _Q.practical_fee, _Q.programme_codes))
        .where(_Q.code == bindparam("b_code"))
        .scalar_subquery(),
        select(func.json_agg(func.json_build_array(*_PRIOR_CLAIMS.selected_columns)))
        .where(_PRIOR_CLAIMS.whereclause)  # type: ignore[arg-type]
        .scalar_subquery(),
        _RECEIPT_IN_USE.exists(),
    )


_CLAIM_CONTEXT_PG = _claim_context_pg(_WINDOWS)
_CLAIM_CONTEXT_IN_CAMPUSES_PG = _claim_context_pg(_WINDOWS_IN_CAMPUSES)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


@dataclass(frozen=True)
class ClaimContext:
    """What the domain needs to assess a claim: the trainee's windows (earliest cohort first), the
    qualification, the trainee's other claims of its stage, and whether a live claim holds the receipt."""

    windows: list[ClaimWindow]
    qualification: Qualification | None
    prior: list[PriorClaim]
    receipt_in_use: bool


def claim_context_by_parts(
    repo: Any, trainee_id: uuid.UUID, campuses: Campuses, code: str, stage: str, receipt_key: str
) -> ClaimContext:
    """``claim_context`` read one part at a time, through ``repo``'s four reads (this repository off
    PostgreSQL, and the use-case tests' in-memory one)."""
    return ClaimContext(
        repo.claim_windows(trainee_id, campuses),
        repo.domain_qualification(code),
        repo.prior_claims(trainee_id, code, stage),
        repo.receipt_in_use(receipt_key),
    )


class CertificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """One row of an import: what fails inside is undone alone, the rows before it stay."""
        with self.session.begin_nested():
            yield

    # -- the catalogue ---------------------------------------------------------------------------------
    def qualification(self, code: str) -> orm.Qualification | None:
        return self.session.get(orm.Qualification, code)

    def domain_qualification(self, code: str) -> Qualification | None:
        return to_qualification(self.qualification(code))

    def lock_qualification(self, code: str) -> orm.Qualification | None:
        return self.session.get(orm.Qualification, code, with_for_update=True)

    def save_qualification(self, row: orm.Qualification) -> None:
        self.session.add(row)
        self.session.flush()

    def qualifications_page(
        self, page: PageParams, *, grade: str | None, programme_code: str | None
    ) -> tuple[list[orm.Qualification], int]:
        query = where_given(
            select(orm.Qualification).order_by(orm.Qualification.code), (orm.Qualification.grade, grade)
        )
        if programme_code:  # JSON membership differs per database: filter in Python (the catalogue is small)
            matching = [q for q in self.session.execute(query).scalars() if programme_code in q.programme_codes]
            return matching[page.offset : page.offset + page.limit], len(matching)
        return paginate(self.session, query, page)

    # -- the trainees' claim windows ---------------------------------------------------------------------
    def window_rows(self, trainee_id: uuid.UUID, campuses: Campuses) -> list[orm.ClaimWindow]:
        """The trainee's enrollments within ``campuses``, earliest cohort first."""
        query = _in(
            select(orm.ClaimWindow).where(orm.ClaimWindow.trainee_id == trainee_id), orm.ClaimWindow.campus, campuses
        )
        return list(self.session.execute(query.order_by(orm.ClaimWindow.start_date)).scalars())

    def claim_windows(self, trainee_id: uuid.UUID, campuses: Campuses) -> list[ClaimWindow]:
        """``window_rows`` as the domain's windows, read column by column."""
        if campuses is None:
            rows = self.session.execute(_WINDOWS, {"b_trainee": trainee_id})
        else:
            rows = self.session.execute(_WINDOWS_IN_CAMPUSES, {"b_trainee": trainee_id, "b_campuses": list(campuses)})
        return [
            ClaimWindow(
                cohort_id=r[0],
                campus=r[1],
                programme_code=r[2],
                qualification_codes=frozenset(r[3]),
                start_date=r[4],
                status=r[5],
                completion_date=r[6],
                closed_on=r[7],
                end_date=r[8],
            )
            for r in rows
        ]

    def window(self, trainee_id: uuid.UUID, cohort_id: uuid.UUID) -> orm.ClaimWindow | None:
        return self.session.execute(
            select(orm.ClaimWindow).where(
                orm.ClaimWindow.trainee_id == trainee_id, orm.ClaimWindow.cohort_id == cohort_id
            )
        ).scalar_one_or_none()

    def cohort(self, cohort_id: uuid.UUID) -> orm.CohortPlan | None:
        return self.session.get(orm.CohortPlan, cohort_id)

    def save_cohort(self, row: orm.CohortPlan) -> None:
        self.session.add(row)
        self.session.flush()

    def windows_of_cohort(self, cohort_id: uuid.UUID) -> list[orm.ClaimWindow]:
        return list(
            self.session.execute(select(orm.ClaimWindow).where(orm.ClaimWindow.cohort_id == cohort_id)).scalars()
        )

    def save_window(self, row: orm.ClaimWindow) -> None:
        """Write it now: the next event of the same batch for this (trainee, cohort) finds it."""
        self.session.add(row)
        self.session.flush()

    # -- claims ----------------------------------------------------------------------------------------
    def prior_claims(self, trainee_id: uuid.UUID, qualification_code: str, stage: str) -> list[PriorClaim]:
        """The trainee's other claims of this qualification and stage, whatever their status."""
        return [
            PriorClaim(*row)
            for row in self.session.execute(
                _PRIOR_CLAIMS, {"b_trainee": trainee_id, "b_code": qualification_code, "b_stage": stage}
            )
        ]

    def claim_context(
        self, trainee_id: uuid.UUID, campuses: Campuses, code: str, stage: str, receipt_key: str
    ) -> ClaimContext:
        """``claim_windows``, ``domain_qualification``, ``prior_claims`` and ``receipt_in_use`` together: on
        PostgreSQL in one statement, elsewhere one read each."""
        if self.session.get_bind().dialect.name != "postgresql":
            return claim_context_by_parts(self, trainee_id, campuses, code, stage, receipt_key)
        params: dict[str, object] = {
            "b_trainee": trainee_id,
            "b_code": code,
            "b_stage": stage,
            "b_receipt": receipt_key,
        }
        statement = _CLAIM_CONTEXT_PG
        if campuses is not None:
            statement, params["b_campuses"] = _CLAIM_CONTEXT_IN_CAMPUSES_PG, list(campuses)
        # the busiest read of a finance desk: straight to psycopg (see fast_execute)
        windows, qualification, prior, receipt_in_use = fast_execute(self.session, statement, params).fetchone()
        return ClaimContext(
            windows=[
                ClaimWindow(
                    cohort_id=uuid.UUID(w[0]),
                    campus=w[1],
                    programme_code=w[2],
                    qualification_codes=frozenset(w[3]),
                    start_date=_day(w[4]),
                    status=w[5],
                    completion_date=_day(w[6]),
                    closed_on=_day(w[7]),
                    end_date=_day(w[8]),
                )
                for w in sorted(windows or (), key=lambda w: (w[4] is None, w[4] or ""))  # as ORDER BY start_date
            ],
            qualification=None
            if qualification is None
            else Qualification(
                code=code,
                grade=qualification[0],
                written_fee=qualification[1],
                practical_fee=qualification[2],
                programme_codes=frozenset(qualification[3]),
            ),
            prior=[PriorClaim(p[0], p[1], date.fromisoformat(p[2]), p[3]) for p in prior or ()],
            receipt_in_use=bool(receipt_in_use),
        )

    def receipt_in_use(self, receipt_key: str) -> bool:
        """A live claim (not rejected) holds this normalised receipt number."""
        return self.session.execute(_RECEIPT_IN_USE, {"b_receipt": receipt_key}).first() is not None

    def add_claim(self, claim: orm.Claim) -> None:
        """Insert it now; ``ClaimTaken`` if a concurrent claim holds the same exam or receipt.

        One plain INSERT of its columns: the ORM's flush of a single new row costs more than the statement, and
        nothing changes the claim after it is submitted in the same unit of work."""
        try:
            fast_execute(self.session, _INSERT_CLAIM, {c.name: getattr(claim, c.name) for c in _CLAIMS.c})
        except IntegrityError as exc:
            raise ClaimTaken() from exc

    def claim(self, claim_id: uuid.UUID) -> orm.Claim | None:
        return self.session.execute(select(orm.Claim).where(orm.Claim.id == claim_id)).scalar_one_or_none()

    def lock_claim(self, claim_id: uuid.UUID) -> orm.Claim | None:
        """The claim, locked until the work ends: approving, rejecting and paying it are one at a time."""
        return self.session.execute(
            select(orm.Claim).where(orm.Claim.id == claim_id).with_for_update()
        ).scalar_one_or_none()

    def reimbursed_attempts(self, claim: orm.Claim) -> int:
        """The trainee's other claims of the claim's qualification and stage already approved or paid."""
        return self.session.execute(
            select(func.count())
            .select_from(orm.Claim)
            .where(
                orm.Claim.trainee_id == claim.trainee_id,
                orm.Claim.qualification_code == claim.qualification_code,
                orm.Claim.stage == claim.stage,
                orm.Claim.status.in_(REIMBURSED_STATUSES),
                orm.Claim.id != claim.id,
            )
        ).scalar_one()

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
        """Claims in submission order: ``of_trainee``'s own (a trainee's view), else those within ``campuses``."""
        query = select(orm.Claim).order_by(orm.Claim.submitted_at, orm.Claim.id)
        if of_trainee is not None:
            query = query.where(orm.Claim.trainee_id == of_trainee)
        else:
            query = _in(query, orm.Claim.campus, campuses)
        query = where_given(
            query,
            (orm.Claim.campus, campus),
            (orm.Claim.cohort_id, cohort_id),
            (orm.Claim.trainee_id, trainee_id),
            (orm.Claim.status, status),
        )
        return paginate(self.session, query, page)

    def lock_payable_claims(self, campus: str, claim_ids: list[uuid.UUID] | None) -> list[orm.Claim]:
        """The campus's approved claims (or those of ``claim_ids`` among them), locked, in id order."""
        query = (
            select(orm.Claim).where(orm.Claim.campus == campus, orm.Claim.status == "approved").order_by(orm.Claim.id)
        )
        if claim_ids is not None:
            query = query.where(orm.Claim.id.in_(claim_ids))
        return list(self.session.execute(query.with_for_update()).scalars())

    # -- payouts ---------------------------------------------------------------------------------------
    def payout_of(self, claim_id: uuid.UUID) -> orm.Payout | None:
        return self.session.execute(select(orm.Payout).where(orm.Payout.claim_id == claim_id)).scalar_one_or_none()

    def payout_references(self, claim_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        ids = list(claim_ids)
        if not ids:
            return {}
        return dict(
            self.session.execute(
                select(orm.Payout.claim_id, orm.Payout.reference).where(orm.Payout.claim_id.in_(ids))
            ).all()
        )  # type: ignore[arg-type]

    def add_batch(self, batch: orm.PayoutBatch, payouts: list[orm.Payout]) -> None:
        """The batch, then its payouts (their unique claim id is what pays a claim once)."""
        self.session.add(batch)
        self.session.flush()
        self.session.add_all(payouts)
        self.session.flush()

    def batch(self, batch_id: uuid.UUID) -> orm.PayoutBatch | None:
        return self.session.get(orm.PayoutBatch, batch_id)

    def payouts_of_batch(self, batch_id: uuid.UUID) -> list[orm.Payout]:
        return list(
            self.session.execute(
                select(orm.Payout).where(orm.Payout.batch_id == batch_id).order_by(orm.Payout.reference)
            ).scalars()
        )

    def batches_page(
        self, page: PageParams, *, campuses: Campuses, campus: str | None
    ) -> tuple[list[orm.PayoutBatch], int]:
        query = _in(select(orm.PayoutBatch), orm.PayoutBatch.campus, campuses).order_by(
            orm.PayoutBatch.created_at.desc(), orm.PayoutBatch.id
        )
        return paginate(self.session, where_given(query, (orm.PayoutBatch.campus, campus)), page)

    def bank_rows(self, batch_id: uuid.UUID) -> list[tuple]:
        """The bank file's rows of a batch: ids, amounts, and the payee's account as stored (the holder, bank code
        and name, the encrypted number: ``None`` for a trainee without one); ``paid_on`` is the UTC date."""
        A = orm.PayoutAccount
        rows = self.session.execute(
            select(
                orm.Payout.reference,
                orm.Payout.amount,
                orm.Payout.trainee_id,
                orm.Payout.campus,
                orm.Payout.claim_id,
                orm.Claim.qualification_code,
                orm.Claim.stage,
                orm.Claim.exam_date,
                orm.Claim.receipt_number,
                orm.Claim.admission_slip_number,
                orm.Payout.paid_at,
                A.holder,
                A.bank_code,
                A.bank_name,
                A.number_encrypted,
            )
            .join(orm.Claim, orm.Claim.id == orm.Payout.claim_id)
            .outerjoin(A, A.trainee_id == orm.Payout.trainee_id)
            .where(orm.Payout.batch_id == batch_id)
            .order_by(orm.Payout.reference)
        ).all()
        return [
            (
                r[0],
                r[1],
                str(r[2]),
                r[3],
                str(r[4]),
                r[5],
                r[6],
                r[7].isoformat(),
                r[8],
                r[9],
                r[10].date().isoformat(),
                r[11],
                r[12],
                r[13],
                r[14],
            )
            for r in rows
        ]

    def trainees_without_account(self, batch_id: uuid.UUID) -> list[uuid.UUID]:
        """The payees of a batch who have no payout account yet, in id order."""
        A = orm.PayoutAccount
        return list(
            self.session.execute(
                select(orm.Payout.trainee_id)
                .outerjoin(A, A.trainee_id == orm.Payout.trainee_id)
                .where(orm.Payout.batch_id == batch_id, A.trainee_id.is_(None))
                .distinct()
                .order_by(orm.Payout.trainee_id)
            ).scalars()
        )

    # -- payout accounts -----------------------------------------------------------------------------------
    def account(self, trainee_id: uuid.UUID, *, lock: bool = False) -> orm.PayoutAccount | None:
        return self.session.get(orm.PayoutAccount, trainee_id, with_for_update=lock or None)

    def save_account(self, row: orm.PayoutAccount) -> None:
        self.session.add(row)
        self.session.flush()

    def accounts_page(
        self, page: PageParams, *, campuses: Campuses, campus: str | None
    ) -> tuple[list[orm.PayoutAccount], int]:
        A = orm.PayoutAccount
        query = _in(select(A), A.campus, campuses).order_by(A.campus, A.trainee_id)
        return paginate(self.session, where_given(query, (A.campus, campus)), page)

    def accounts_under_old_keys(self, current_key_id: str, limit: int) -> list[orm.PayoutAccount]:
        """Up to ``limit`` accounts encrypted under another key than ``current_key_id``, locked; on PostgreSQL
        rows another rotation holds are skipped, so two operators rotating at once share the work."""
        A = orm.PayoutAccount
        query = select(A).where(A.key_id != current_key_id).order_by(A.trainee_id).limit(limit)
        postgres = self.session.get_bind().dialect.name == "postgresql"
        return list(self.session.execute(query.with_for_update(skip_locked=postgres)).scalars())

    def count_under_old_keys(self, current_key_id: str) -> int:
        A = orm.PayoutAccount
        return self.session.execute(select(func.count()).where(A.key_id != current_key_id)).scalar_one()

    # -- qualifications obtained -----------------------------------------------------------------------
    def holds(self, trainee_id: uuid.UUID, qualification_code: str) -> bool:
        """The trainee's obtaining this qualification is already recorded."""
        return (
            self.session.execute(
                select(orm.QualificationObtained.id).where(
                    orm.QualificationObtained.trainee_id == trainee_id,
                    orm.QualificationObtained.qualification_code == qualification_code,
                )
            ).first()
            is not None
        )

    def add_result(self, result: orm.QualificationObtained) -> None:
        self.session.add(result)
        self.session.flush()

    def results_page(
        self,
        page: PageParams,
        *,
        campuses: Campuses,
        campus: str | None,
        cohort_id: uuid.UUID | None,
        trainee_id: uuid.UUID | None,
    ) -> tuple[list[orm.QualificationObtained], int]:
        query = _in(select(orm.QualificationObtained), orm.QualificationObtained.campus, campuses).order_by(
            orm.QualificationObtained.obtained_on, orm.QualificationObtained.id
        )
        query = where_given(
            query,
            (orm.QualificationObtained.campus, campus),
            (orm.QualificationObtained.cohort_id, cohort_id),
            (orm.QualificationObtained.trainee_id, trainee_id),
        )
        return paginate(self.session, query, page)
