"""Placement's repository: every statement, lock and per-database branch the use cases need, on one Session.

The use cases (``service_layer/``) ask for graduates, follow-ups, outcomes, employers, postings, internships,
incentives and targets by what they mean; this module knows how that is read from and written to the tables.
Campus scope is passed as ``scope``: the campuses the caller sees, or ``None`` for all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, select, tuple_
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from services.placement.adapters.orm import (
    ContactAttempt,
    Employer,
    Followup,
    Graduate,
    Incentive,
    Internship,
    Outcome,
    Posting,
    ProgrammeTarget,
    Qualification,
)
from services.placement.domain import indicators, outcomes
from shared.pagination import PageParams, paginate

Scope = Collection[str] | None

GROUPS = {"campus": Graduate.campus, "programme": Graduate.programme_code, "cohort": Graduate.cohort_id}
CODES = {c: i for i, c in enumerate(outcomes.CATEGORIES)}
EMPLOYED_CODES = [CODES[c] for c in outcomes.EMPLOYED]
EXCLUDED_CODES = [CODES[c] for c in outcomes.NOT_TARGETS]


def _scoped(query: Select, column: Any, scope: Scope) -> Select:
    return query if scope is None else query.where(column.in_(list(scope)))


def _given(query: Select, *filters: tuple[Any, Any]) -> Select:
    for column, value in filters:
        if value:
            query = query.where(column == value)
    return query


@dataclass(frozen=True)
class ReportFilter:
    """Which completers a report counts (all dates inclusive)."""

    as_of: date
    scope: Scope = None
    campus: str | None = None
    cohort_id: uuid.UUID | None = None
    programme_code: str | None = None
    completed_from: date | None = None
    completed_to: date | None = None


@dataclass(frozen=True)
class IndicatorCounts:
    """One report row's numerators, denominators and medians, as counted by the database."""

    group: str | None
    completers: int
    employed_now: int
    excluded_now: int
    reached_6m: int
    employed_6m: int
    excluded_6m: int
    reached_12m: int
    employed_12m: int
    excluded_12m: int
    certified: int
    reached_q2: int
    employed_q2: int
    reached_q4: int
    employed_q4: int
    wage_median: int | None
    wage_count: int
    earnings_median: int | None
    earnings_count: int

    @classmethod
    def empty(cls, group: str | None = None) -> IndicatorCounts:
        return cls(group, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, 0, None, 0)


def _cat(key: ColumnElement) -> ColumnElement:
    return (key // indicators.WAGE_SHIFT) % indicators.CATEGORY_SPAN  # // is integer division in SQL


def _wage(key: ColumnElement) -> ColumnElement:
    return key % indicators.WAGE_SHIFT - 1  # -1: no wage (or no outcome when the key is NULL)


def _count(cond: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _half_up(value: float | None) -> int | None:
    return None if value is None else int(float(value) + 0.5)


class PlacementRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # -- graduates ---------------------------------------------------------------------------------
    def graduate(self, graduate_id: uuid.UUID, *, lock: bool = False) -> Graduate | None:
        if lock:
            return self.session.execute(select(Graduate).where(Graduate.id == graduate_id).with_for_update()).scalar()
        return self.session.get(Graduate, graduate_id)

    def add_graduate(self, graduate: Graduate, followups: Iterable[Followup]) -> None:
        self.session.add(graduate)
        self.session.flush()  # no ORM relationships: the graduate row goes in before its follow-ups
        for f in followups:
            self.session.add(f)
        self.session.flush()

    def graduates(
        self, *, scope: Scope, page: PageParams, campus: str | None, cohort_id: uuid.UUID | None, officer: str | None
    ) -> tuple[list[Graduate], int]:
        query = _scoped(select(Graduate).order_by(Graduate.completion_date, Graduate.id), Graduate.campus, scope)
        query = _given(query, (Graduate.campus, campus), (Graduate.cohort_id, cohort_id), (Graduate.officer, officer))
        return paginate(self.session, query, page)

    def has_graduate_from(self, campus: str) -> bool:
        return self.session.execute(select(Graduate.id).where(Graduate.campus == campus).limit(1)).first() is not None

    def still_looking(self, campus: str) -> list[tuple[Graduate, int | None]]:
        """The campus's graduates not in an active internship, each with the sort key of their latest outcome."""
        latest = (
            select(Outcome.graduate_id, func.max(Outcome.sort_key).label("k"))
            .where(Outcome.campus == campus)
            .group_by(Outcome.graduate_id)
            .subquery()
        )
        interning = select(Internship.graduate_id).where(Internship.status == "active")
        rows = self.session.execute(
            select(Graduate, latest.c.k)
            .outerjoin(latest, latest.c.graduate_id == Graduate.id)
            .where(Graduate.campus == campus, Graduate.id.not_in(interning))
        ).all()
        return [(g, k) for g, k in rows]

    # -- qualifications ------------------------------------------------------------------------------
    def first_qualification(self, trainee_id: uuid.UUID) -> date | None:
        return self.session.execute(
            select(func.min(Qualification.obtained_on)).where(Qualification.trainee_id == trainee_id)
        ).scalar_one()

    def qualification_known(self, trainee_id: uuid.UUID, code: str, obtained_on: date) -> bool:
        return (
            self.session.execute(
                select(Qualification.id).where(
                    Qualification.trainee_id == trainee_id,
                    Qualification.qualification_code == code,
                    Qualification.obtained_on == obtained_on,
                )
            ).first()
            is not None
        )

    def add_qualification(self, qualification: Qualification) -> None:
        self.session.add(qualification)
        self.session.flush()

    def qualifications_of(self, trainee_id: uuid.UUID) -> list[Qualification]:
        return list(
            self.session.execute(
                select(Qualification).where(Qualification.trainee_id == trainee_id).order_by(Qualification.obtained_on)
            ).scalars()
        )

    def holders(self, codes: Collection[str]) -> dict[uuid.UUID, set[str]]:
        """Who obtained which of these qualifications."""
        held: dict[uuid.UUID, set[str]] = {}
        if codes:
            for trainee_id, code in self.session.execute(
                select(Qualification.trainee_id, Qualification.qualification_code).where(
                    Qualification.qualification_code.in_(list(codes))
                )
            ):
                held.setdefault(trainee_id, set()).add(code)
        return held

    # -- follow-ups and contacts --------------------------------------------------------------------
    def followup(self, followup_id: uuid.UUID) -> Followup | None:
        return self.session.get(Followup, followup_id)

    def followups_of(self, graduate_id: uuid.UUID) -> list[Followup]:
        return list(
            self.session.execute(
                select(Followup).where(Followup.graduate_id == graduate_id).order_by(Followup.months)
            ).scalars()
        )

    def open_followups(self, graduate_id: uuid.UUID) -> list[Followup]:
        return list(
            self.session.execute(
                select(Followup).where(and_(Followup.graduate_id == graduate_id, Followup.done_at.is_(None)))
            ).scalars()
        )

    def worklist(
        self,
        *,
        scope: Scope,
        page: PageParams,
        on: date,
        campus: str | None,
        officer: str | None,
        cohort_id: uuid.UUID | None,
        status: str | None,
        unassigned: bool,
    ) -> tuple[list[tuple[Followup, Graduate]], int]:
        """Open follow-ups whose window has opened by ``on`` (or those of one status), oldest due first."""
        query = select(Followup, Graduate).join(Graduate, Graduate.id == Followup.graduate_id)
        query = _scoped(query, Followup.campus, scope)
        query = _given(query, (Followup.campus, campus), (Graduate.officer, officer))
        if unassigned:
            query = query.where(Graduate.officer.is_(None))
        if cohort_id:
            query = query.where(Graduate.cohort_id == cohort_id)
        open_ = Followup.done_at.is_(None)
        if status is None:
            query = query.where(open_, Followup.window_opens <= on)
        elif status == "due":
            query = query.where(open_, Followup.window_opens <= on, Followup.overdue_after >= on)
        elif status == "overdue":
            query = query.where(open_, Followup.overdue_after < on)
        elif status == "upcoming":
            query = query.where(open_, Followup.window_opens > on)
        else:
            query = query.where(Followup.done_at.is_not(None))
        total = self.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.session.execute(
            query.order_by(Followup.due_date, Followup.id).limit(page.limit).offset(page.offset)
        ).all()
        return [(f, g) for f, g in rows], total

    def add_contact(self, attempt: ContactAttempt) -> None:
        self.session.add(attempt)
        self.session.flush()

    def contacts_of(self, followup_id: uuid.UUID) -> list[ContactAttempt]:
        return list(
            self.session.execute(
                select(ContactAttempt)
                .where(ContactAttempt.followup_id == followup_id)
                .order_by(ContactAttempt.attempted_at, ContactAttempt.id)
            ).scalars()
        )

    # -- outcomes -----------------------------------------------------------------------------------
    def add_outcome(self, outcome: Outcome) -> None:
        self.session.add(outcome)
        self.session.flush()

    def outcomes_of(self, graduate_id: uuid.UUID) -> list[Outcome]:
        return list(
            self.session.execute(
                select(Outcome).where(Outcome.graduate_id == graduate_id).order_by(Outcome.as_of, Outcome.seq)
            ).scalars()
        )

    def outcomes(
        self, *, scope: Scope, page: PageParams, graduate_id: uuid.UUID | None, campus: str | None, category: str | None
    ) -> tuple[list[Outcome], int]:
        query = _scoped(select(Outcome).order_by(Outcome.recorded_at, Outcome.id), Outcome.campus, scope)
        query = _given(
            query, (Outcome.graduate_id, graduate_id), (Outcome.campus, campus), (Outcome.category, category)
        )
        return paginate(self.session, query, page)

    # -- employers and postings ---------------------------------------------------------------------
    def employer(self, employer_id: uuid.UUID) -> Employer | None:
        return self.session.get(Employer, employer_id)

    def add_employer(self, employer: Employer) -> None:
        self.session.add(employer)
        self.session.flush()

    def employers(self, *, scope: Scope, page: PageParams, campus: str | None) -> tuple[list[Employer], int]:
        query = _scoped(select(Employer).order_by(Employer.name, Employer.id), Employer.campus, scope)
        return paginate(self.session, _given(query, (Employer.campus, campus)), page)

    def posting(self, posting_id: uuid.UUID, *, lock: bool = False) -> Posting | None:
        if lock:
            return self.session.execute(select(Posting).where(Posting.id == posting_id).with_for_update()).scalar()
        return self.session.get(Posting, posting_id)

    def add_posting(self, posting: Posting) -> None:
        self.session.add(posting)
        self.session.flush()

    def postings(
        self, *, scope: Scope, page: PageParams, campus: str | None, employer_id: uuid.UUID | None, status: str | None
    ) -> tuple[list[Posting], int]:
        query = _scoped(select(Posting).order_by(Posting.created_at, Posting.id), Posting.campus, scope)
        query = _given(query, (Posting.campus, campus), (Posting.employer_id, employer_id), (Posting.status, status))
        return paginate(self.session, query, page)

    # -- internships and incentives -----------------------------------------------------------------
    def internship(self, internship_id: uuid.UUID, *, lock: bool = False) -> Internship | None:
        query = select(Internship).where(Internship.id == internship_id)
        return self.session.execute(query.with_for_update() if lock else query).scalar()

    def in_active_internship(self, graduate_id: uuid.UUID) -> bool:
        return (
            self.session.execute(
                select(Internship.id).where(Internship.graduate_id == graduate_id, Internship.status == "active")
            ).first()
            is not None
        )

    def add_internship(self, internship: Internship) -> None:
        self.session.add(internship)
        self.session.flush()

    def internships(
        self, *, scope: Scope, page: PageParams, campus: str | None, status: str | None, graduate_id: uuid.UUID | None
    ) -> tuple[list[Internship], int]:
        query = _scoped(select(Internship).order_by(Internship.start_date, Internship.id), Internship.campus, scope)
        query = _given(
            query, (Internship.campus, campus), (Internship.status, status), (Internship.graduate_id, graduate_id)
        )
        return paginate(self.session, query, page)

    def incentive_of(self, internship_id: uuid.UUID) -> Incentive | None:
        return self.session.execute(select(Incentive).where(Incentive.internship_id == internship_id)).scalar()

    def add_incentive(self, incentive: Incentive) -> None:
        self.session.add(incentive)
        self.session.flush()

    def incentives(self, *, scope: Scope, page: PageParams, campus: str | None) -> tuple[list[Incentive], int]:
        query = _scoped(select(Incentive).order_by(Incentive.due_on, Incentive.id), Incentive.campus, scope)
        return paginate(self.session, _given(query, (Incentive.campus, campus)), page)

    # -- targets ------------------------------------------------------------------------------------
    def targets(self) -> list[ProgrammeTarget]:
        return list(self.session.execute(select(ProgrammeTarget).order_by(ProgrammeTarget.programme_code)).scalars())

    def target(self, programme_code: str, *, lock: bool = False) -> ProgrammeTarget | None:
        return self.session.get(ProgrammeTarget, programme_code, with_for_update=lock or None)

    def add_target(self, target: ProgrammeTarget) -> None:
        self.session.add(target)
        self.session.flush()

    def refresh(self, row: Any) -> None:
        """Reload a row's columns after a flush (server-side values)."""
        self.session.flush()
        self.session.refresh(row)

    # -- the employment report ----------------------------------------------------------------------
    def employment_counts(
        self, where: ReportFilter, group_by: str | None
    ) -> tuple[list[IndicatorCounts], IndicatorCounts]:
        """The report's rows (one per group; none without ``group_by``) and its total, in one SQL aggregation.

        The inner query makes one row per graduate with, for each checkpoint, ``max(sort_key)`` over the
        outcomes dated on or before it (the latest outcome then; see ``domain.indicators``). The outer query
        decodes category and wage from those keys and counts. PostgreSQL computes the medians too
        (``percentile_cont``) and the total in the same pass (GROUPING SETS); on SQLite the medians come from
        a second pass in Python and the total from a second aggregation."""
        conds: list[ColumnElement] = []
        if where.scope is not None:
            conds.append(Graduate.campus.in_(list(where.scope)))
        if where.campus:
            conds.append(Graduate.campus == where.campus)
        if where.cohort_id:
            conds.append(Graduate.cohort_id == where.cohort_id)
        if where.programme_code:
            conds.append(Graduate.programme_code == where.programme_code)
        if where.completed_from:
            conds.append(Graduate.completion_date >= where.completed_from)
        if where.completed_to:
            conds.append(Graduate.completion_date <= where.completed_to)
        conds.append(Graduate.completion_date <= where.as_of)
        group_col = GROUPS[group_by] if group_by else None
        postgres = self._postgres
        rows = self._aggregate(conds, where.as_of, group_col, postgres)
        if group_col is None:
            return [], rows[0][1]
        if postgres:  # one pass: GROUPING SETS ((group), ()) gave the total row too
            totals = [r for is_total, r in rows if is_total]
            return [r for is_total, r in rows if not is_total], totals[0] if totals else IndicatorCounts.empty()
        return [r for _, r in rows], self._aggregate(conds, where.as_of, None, postgres)[0][1]

    def _aggregate(
        self, conds: list[ColumnElement], as_of: date, group_col: Any, postgres: bool
    ) -> list[tuple[bool, IndicatorCounts]]:
        key = Outcome.sort_key
        inner_cols = [
            Graduate.id.label("gid"),
            Graduate.at_6m,
            Graduate.at_12m,
            Graduate.q2_end,
            Graduate.q4_end,
            Graduate.cert_deadline,
            Graduate.first_qualification,
            func.max(key).filter(Outcome.as_of <= as_of).label("k_now"),
            func.max(key).filter(Outcome.as_of <= Graduate.at_6m).label("k6"),
            func.max(key).filter(Outcome.as_of <= Graduate.at_12m).label("k12"),
            func.max(key).filter(Outcome.as_of <= Graduate.q2_end).label("kq2"),
            func.max(key).filter(Outcome.as_of <= Graduate.q4_end).label("kq4"),
        ]
        group_cols = [Graduate.id]
        if group_col is not None:
            inner_cols.insert(0, group_col.label("grp"))
        inner = (
            select(*inner_cols)
            .select_from(Graduate)
            .outerjoin(Outcome, Outcome.graduate_id == Graduate.id)
            .where(*conds)
            .group_by(*group_cols, *([group_col] if group_col is not None else []))
            .subquery()
        )
        c = inner.c
        reached6, reached12 = c.at_6m <= as_of, c.at_12m <= as_of
        reached_q2, reached_q4 = c.q2_end <= as_of, c.q4_end <= as_of
        wage_now_ok = and_(_cat(c.k_now) == CODES["employed"], _wage(c.k_now) >= 0)
        wage_q2_ok = and_(reached_q2, _cat(c.kq2) == CODES["employed"], _wage(c.kq2) >= 0)
        cols: list[Any] = [
            func.count().label("completers"),
            _count(_cat(c.k_now).in_(EMPLOYED_CODES)).label("emp_now"),
            _count(_cat(c.k_now).in_(EXCLUDED_CODES)).label("exc_now"),
            _count(reached6).label("reached6"),
            _count(and_(reached6, _cat(c.k6).in_(EMPLOYED_CODES))).label("emp6"),
            _count(and_(reached6, _cat(c.k6).in_(EXCLUDED_CODES))).label("exc6"),
            _count(reached12).label("reached12"),
            _count(and_(reached12, _cat(c.k12).in_(EMPLOYED_CODES))).label("emp12"),
            _count(and_(reached12, _cat(c.k12).in_(EXCLUDED_CODES))).label("exc12"),
            _count(and_(c.first_qualification <= c.cert_deadline, c.first_qualification <= as_of)).label("certified"),
            _count(reached_q2).label("reached_q2"),
            _count(and_(reached_q2, _cat(c.kq2).in_(EMPLOYED_CODES))).label("emp_q2"),
            _count(reached_q4).label("reached_q4"),
            _count(and_(reached_q4, _cat(c.kq4).in_(EMPLOYED_CODES))).label("emp_q4"),
            _count(wage_now_ok).label("wage_n"),
            _count(wage_q2_ok).label("earn_n"),
        ]
        if postgres:
            cols += [
                func.percentile_cont(0.5).within_group(_wage(c.k_now)).filter(wage_now_ok).label("wage_median"),
                func.percentile_cont(0.5).within_group(_wage(c.kq2) * 3).filter(wage_q2_ok).label("earn_median"),
            ]
        grouped = "grp" in c
        query = select(*([c.grp] if grouped else [literal(None).label("grp")]), *cols).select_from(inner)
        if grouped and postgres:
            query = (
                query.add_columns(func.grouping(c.grp).label("is_total"))
                .group_by(func.grouping_sets(c.grp, tuple_()))
                .order_by(func.grouping(c.grp), c.grp)
            )
        elif grouped:
            query = query.group_by(c.grp).order_by(c.grp)
        result = self.session.execute(query).mappings().all()
        medians: dict[Any, tuple[list[int], list[int]]] = {}
        if not postgres:
            wage_rows = self.session.execute(
                select(
                    *([c.grp] if grouped else [literal(None).label("grp")]),
                    case((wage_now_ok, _wage(c.k_now)), else_=None).label("w"),
                    case((wage_q2_ok, _wage(c.kq2) * 3), else_=None).label("e"),
                )
                .select_from(inner)
                .where((wage_now_ok) | (wage_q2_ok))
            ).all()
            for grp, w, e in wage_rows:
                bucket = medians.setdefault(grp, ([], []))
                if w is not None:
                    bucket[0].append(int(w))
                if e is not None:
                    bucket[1].append(int(e))
        out: list[tuple[bool, IndicatorCounts]] = []
        for r in result:
            if postgres:
                wage, earn = _half_up(r["wage_median"]), _half_up(r["earn_median"])
                wage_n, earn_n = int(r["wage_n"]), int(r["earn_n"])
            else:
                w, e = medians.get(r["grp"], ([], []))
                wage, earn, wage_n, earn_n = outcomes.median(w), outcomes.median(e), len(w), len(e)
            grp = r["grp"]
            out.append(
                (
                    bool(r.get("is_total") or 0),
                    IndicatorCounts(
                        group=None if grp is None else str(grp),
                        completers=int(r["completers"]),
                        employed_now=int(r["emp_now"]),
                        excluded_now=int(r["exc_now"]),
                        reached_6m=int(r["reached6"]),
                        employed_6m=int(r["emp6"]),
                        excluded_6m=int(r["exc6"]),
                        reached_12m=int(r["reached12"]),
                        employed_12m=int(r["emp12"]),
                        excluded_12m=int(r["exc12"]),
                        certified=int(r["certified"]),
                        reached_q2=int(r["reached_q2"]),
                        employed_q2=int(r["emp_q2"]),
                        reached_q4=int(r["reached_q4"]),
                        employed_q4=int(r["emp_q4"]),
                        wage_median=wage,
                        wage_count=wage_n,
                        earnings_median=earn,
                        earnings_count=earn_n,
                    ),
                )
            )
        if not out:
            out.append((False, IndicatorCounts.empty()))
        return out
