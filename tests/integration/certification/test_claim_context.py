"""A claim's submission reads its context in one statement on PostgreSQL; it must read what the four reads
it replaced read (the SQLite path still makes them one by one): windows in cohort order with their dates and
qualification codes, the fees, the other claims of the stage, and a live claim holding the receipt."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.certification.adapters import orm
from services.certification.adapters.orm import Base
from services.certification.adapters.repository import CertificationRepository, ClaimContext
from shared.db import KERNEL_METADATA, Database

TRAINEE = uuid.uuid4()
LATER, EARLIER, UNDATED = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def claim(code: str, stage: str, exam: date, status: str, receipt: str) -> orm.Claim:
    now = datetime.now(UTC)
    return orm.Claim(
        trainee_id=TRAINEE,
        cohort_id=EARLIER,
        campus="seoul",
        qualification_code=code,
        stage=stage,
        exam_date=exam,
        amount_paid=14_500,
        standard_fee=14_500,
        amount=14_500,
        receipt_number=receipt,
        receipt_key=receipt,
        admission_slip_number="S-1",
        status=status,
        submitted_by="staff",
        submitted_at=now,
        updated_at=now,
    )


@pytest.fixture(params=["postgresql", "sqlite"])
def repo(request, tmp_path):  # noqa: ANN001, ANN201
    url = (
        request.getfixturevalue("databases").new("claimctx")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path}/claims.db"
    )
    db = Database(url)
    Base.metadata.create_all(db.engine)
    KERNEL_METADATA.create_all(db.engine)
    with db.session() as session:
        session.add(
            orm.Qualification(
                code="WELD", name="Welding", grade="craftsman", written_fee=14_500, programme_codes=["P-1", "P-2"]
            )
        )
        session.add(orm.Qualification(code="CNC", name="CNC", grade="craftsman", practical_fee=60_000))
        for cohort, campus, start, status, done in (
            (LATER, "busan", date(2027, 3, 2), "enrolled", None),
            (UNDATED, "seoul", None, "enrolled", None),
            (EARLIER, "seoul", date(2026, 3, 2), "completed", date(2026, 9, 1)),
        ):
            session.add(
                orm.ClaimWindow(
                    trainee_id=TRAINEE,
                    cohort_id=cohort,
                    campus=campus,
                    programme_code="P-1",
                    qualification_codes=["WELD", "CNC"],
                    start_date=start,
                    end_date=None if start is None else start.replace(month=start.month + 5),
                    status=status,
                    completion_date=done,
                )
            )
        session.add(orm.ClaimWindow(trainee_id=uuid.uuid4(), cohort_id=LATER, campus="busan", programme_code="P-1"))
        session.flush()
        session.add(claim("WELD", "written", date(2026, 5, 1), "rejected", "R-1"))
        session.add(claim("WELD", "written", date(2026, 6, 1), "paid", "R-2"))
        session.add(claim("WELD", "practical", date(2026, 7, 1), "submitted", "R-3"))
        session.commit()
    yield db
    db.dispose()


def both(db: Database, *args: object) -> tuple[ClaimContext, ClaimContext]:
    """The context as the one-statement read gives it, and as the four reads give it."""
    with db.session() as session:
        repo = CertificationRepository(session)
        one = repo.claim_context(*args)  # type: ignore[arg-type]
        trainee, campuses, code, stage, receipt = args
        four = ClaimContext(
            repo.claim_windows(trainee, campuses),  # type: ignore[arg-type]
            repo.domain_qualification(code),  # type: ignore[arg-type]
            repo.prior_claims(trainee, code, stage),  # type: ignore[arg-type]
            repo.receipt_in_use(receipt),  # type: ignore[arg-type]
        )
    return one, four


def test_the_context_of_a_claim_is_read_whole(repo: Database) -> None:
    one, four = both(repo, TRAINEE, None, "WELD", "written", "R-2")
    assert one == four
    # by start date (an undated window is last on PostgreSQL, first on SQLite; each path as its database sorts)
    assert [w.cohort_id for w in one.windows if w.start_date] == [EARLIER, LATER]
    assert {w.cohort_id for w in one.windows} == {EARLIER, LATER, UNDATED}
    earlier = next(w for w in one.windows if w.cohort_id == EARLIER)
    assert earlier.completion_date == date(2026, 9, 1) and earlier.end_date == date(2026, 8, 2)
    assert earlier.qualification_codes == frozenset({"WELD", "CNC"})
    assert one.qualification is not None and one.qualification.written_fee == 14_500
    assert one.qualification.programme_codes == frozenset({"P-1", "P-2"})
    assert sorted(p.status for p in one.prior) == ["paid", "rejected"]
    assert one.receipt_in_use


def test_the_context_follows_campus_scope_and_absences(repo: Database) -> None:
    one, four = both(repo, TRAINEE, frozenset({"busan"}), "NONE", "written", "R-1")
    assert one == four
    assert [w.cohort_id for w in one.windows] == [LATER]
    assert one.qualification is None and one.prior == [] and not one.receipt_in_use  # R-1's claim was rejected

    one, four = both(repo, uuid.uuid4(), frozenset({"seoul"}), "CNC", "practical", "R-9")
    assert one == four
    assert one.windows == [] and one.qualification is not None and one.qualification.written_fee is None
