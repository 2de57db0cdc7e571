"""An in-memory stand-in for ``PlacementRepository``: the same methods the use-case tests reach, over dicts.

It stores the same ORM objects the real one does. Rows added since the last commit are forgotten on rollback
(``FakeUnitOfWork`` calls ``commit``/``rollback`` here), so a refused use case leaves nothing behind. Changes
to rows already stored are not undone: the use cases refuse before they change anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import date
from typing import Any

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
from services.placement.adapters.repository import IndicatorCounts, ReportFilter
from services.placement.domain import indicators
from services.placement.domain.outcomes import Outcome as Fact
from shared.pagination import PageParams

Scope = Collection[str] | None


def _page(rows: list[Any], page: PageParams) -> tuple[list[Any], int]:
    return rows[page.offset : page.offset + page.limit], len(rows)


def _visible(rows: Iterable[Any], scope: Scope, **given: Any) -> list[Any]:
    return [
        r
        for r in rows
        if (scope is None or r.campus in scope)
        and all(v is None or v == "" or getattr(r, k) == v for k, v in given.items())
    ]


class FakePlacementRepository:
    def __init__(self) -> None:
        self.graduates_: dict[uuid.UUID, Graduate] = {}
        self.followups: dict[uuid.UUID, Followup] = {}
        self.contacts: dict[uuid.UUID, ContactAttempt] = {}
        self.outcomes_: dict[uuid.UUID, Outcome] = {}
        self.qualifications: dict[uuid.UUID, Qualification] = {}
        self.employers_: dict[uuid.UUID, Employer] = {}
        self.postings_: dict[uuid.UUID, Posting] = {}
        self.internships_: dict[uuid.UUID, Internship] = {}
        self.incentives_: dict[uuid.UUID, Incentive] = {}
        self.targets_: dict[str, ProgrammeTarget] = {}
        self.locked: list[Any] = []  # (kind, id) of every row a use case locked
        self._added: list[tuple[dict[Any, Any], Any]] = []

    # -- the unit of work's end -------------------------------------------------------------------
    def commit(self) -> None:
        self._added = []

    def rollback(self) -> None:
        for store, key in reversed(self._added):
            store.pop(key, None)
        self._added = []

    def _add(self, store: dict[Any, Any], key: Any, row: Any) -> None:
        store[key] = row
        self._added.append((store, key))

    # -- graduates ---------------------------------------------------------------------------------
    def graduate(self, graduate_id: uuid.UUID, *, lock: bool = False) -> Graduate | None:
        if lock:
            self.locked.append(("graduate", graduate_id))
        return self.graduates_.get(graduate_id)

    def add_graduate(self, graduate: Graduate, followups: Iterable[Followup]) -> None:
        self._add(self.graduates_, graduate.id, graduate)
        for f in followups:
            self._add(self.followups, f.id, f)

    def has_graduate_from(self, campus: str) -> bool:
        return any(g.campus == campus for g in self.graduates_.values())

    def first_qualification(self, trainee_id: uuid.UUID) -> date | None:
        return min((q.obtained_on for q in self.qualifications.values() if q.trainee_id == trainee_id), default=None)

    def qualification_known(self, trainee_id: uuid.UUID, code: str, obtained_on: date) -> bool:
        return any(
            (q.trainee_id, q.qualification_code, q.obtained_on) == (trainee_id, code, obtained_on)
            for q in self.qualifications.values()
        )

    def add_qualification(self, qualification: Qualification) -> None:
        self._add(self.qualifications, qualification.id, qualification)

    def qualifications_of(self, trainee_id: uuid.UUID) -> list[Qualification]:
        return sorted(
            (q for q in self.qualifications.values() if q.trainee_id == trainee_id), key=lambda q: q.obtained_on
        )

    # -- follow-ups and contacts --------------------------------------------------------------------
    def followup(self, followup_id: uuid.UUID) -> Followup | None:
        return self.followups.get(followup_id)

    def followups_of(self, graduate_id: uuid.UUID) -> list[Followup]:
        return sorted((f for f in self.followups.values() if f.graduate_id == graduate_id), key=lambda f: f.months)

    def open_followups(self, graduate_id: uuid.UUID) -> list[Followup]:
        return [f for f in self.followups_of(graduate_id) if f.done_at is None]

    def add_contact(self, attempt: ContactAttempt) -> None:
        self._add(self.contacts, attempt.id, attempt)

    # -- outcomes -----------------------------------------------------------------------------------
    def add_outcome(self, outcome: Outcome) -> None:
        self._add(self.outcomes_, outcome.id, outcome)

    def outcomes_of(self, graduate_id: uuid.UUID) -> list[Outcome]:
        return sorted(
            (o for o in self.outcomes_.values() if o.graduate_id == graduate_id), key=lambda o: (o.as_of, o.seq)
        )

    # -- employers and postings ---------------------------------------------------------------------
    def employer(self, employer_id: uuid.UUID) -> Employer | None:
        return self.employers_.get(employer_id)

    def add_employer(self, employer: Employer) -> None:
        self._add(self.employers_, employer.id, employer)

    def posting(self, posting_id: uuid.UUID, *, lock: bool = False) -> Posting | None:
        if lock:
            self.locked.append(("posting", posting_id))
        return self.postings_.get(posting_id)

    def add_posting(self, posting: Posting) -> None:
        self._add(self.postings_, posting.id, posting)

    def postings(
        self, *, scope: Scope, page: PageParams, campus: str | None, employer_id: uuid.UUID | None, status: str | None
    ) -> tuple[list[Posting], int]:
        rows = _visible(self.postings_.values(), scope, campus=campus, employer_id=employer_id, status=status)
        return _page(sorted(rows, key=lambda p: (p.created_at, str(p.id))), page)

    # -- internships and incentives -----------------------------------------------------------------
    def internship(self, internship_id: uuid.UUID, *, lock: bool = False) -> Internship | None:
        if lock:
            self.locked.append(("internship", internship_id))
        return self.internships_.get(internship_id)

    def in_active_internship(self, graduate_id: uuid.UUID) -> bool:
        return any(i.graduate_id == graduate_id and i.status == "active" for i in self.internships_.values())

    def add_internship(self, internship: Internship) -> None:
        self._add(self.internships_, internship.id, internship)

    def internships(
        self, *, scope: Scope, page: PageParams, campus: str | None, status: str | None, graduate_id: uuid.UUID | None
    ) -> tuple[list[Internship], int]:
        rows = _visible(self.internships_.values(), scope, campus=campus, status=status, graduate_id=graduate_id)
        return _page(sorted(rows, key=lambda i: (i.start_date, str(i.id))), page)

    def incentive_of(self, internship_id: uuid.UUID) -> Incentive | None:
        return next((i for i in self.incentives_.values() if i.internship_id == internship_id), None)

    def add_incentive(self, incentive: Incentive) -> None:
        self._add(self.incentives_, incentive.id, incentive)

    def incentives(self, *, scope: Scope, page: PageParams, campus: str | None) -> tuple[list[Incentive], int]:
        rows = _visible(self.incentives_.values(), scope, campus=campus)
        return _page(sorted(rows, key=lambda i: (i.due_on, str(i.id))), page)

    # -- targets ------------------------------------------------------------------------------------
    def targets(self) -> list[ProgrammeTarget]:
        return [self.targets_[k] for k in sorted(self.targets_)]

    def target(self, programme_code: str, *, lock: bool = False) -> ProgrammeTarget | None:
        if lock:
            self.locked.append(("target", programme_code))
        return self.targets_.get(programme_code)

    def add_target(self, target: ProgrammeTarget) -> None:
        self._add(self.targets_, target.programme_code, target)

    def refresh(self, row: Any) -> None:
        pass

    # -- the employment report: the domain's reference computation, as the database's counts ----------
    def employment_counts(
        self, where: ReportFilter, group_by: str | None
    ) -> tuple[list[IndicatorCounts], IndicatorCounts]:
        chosen = [
            g
            for g in self.graduates_.values()
            if (where.scope is None or g.campus in where.scope)
            and (not where.campus or g.campus == where.campus)
            and (not where.cohort_id or g.cohort_id == where.cohort_id)
            and (not where.programme_code or g.programme_code == where.programme_code)
            and (not where.completed_from or g.completion_date >= where.completed_from)
            and (not where.completed_to or g.completion_date <= where.completed_to)
            and g.completion_date <= where.as_of
        ]
        total = self._counts(None, chosen, where.as_of)
        if not group_by:
            return [], total
        column = {"campus": "campus", "programme": "programme_code", "cohort": "cohort_id"}[group_by]
        groups: dict[str, list[Graduate]] = {}
        for g in chosen:
            groups.setdefault(str(getattr(g, column)), []).append(g)
        return [self._counts(k, groups[k], where.as_of) for k in sorted(groups)], total

    def _counts(self, group: str | None, graduates: list[Graduate], as_of: date) -> IndicatorCounts:
        facts = [
            indicators.GraduateFacts(
                completion_date=g.completion_date,
                first_qualification=g.first_qualification,
                outcomes=[Fact(o.category, o.as_of, o.seq, o.monthly_wage) for o in self.outcomes_of(g.id)],
            )
            for g in graduates
        ]
        r = indicators.compute(facts, as_of)
        n = r.completers
        # Only the differences reach the report (reached - excluded), so the excluded go in as 0 there.
        return IndicatorCounts(
            group=group,
            completers=n,
            employed_now=r.employment_rate.numerator,
            excluded_now=n - r.employment_rate.denominator,
            reached_6m=r.employment_rate_6m.denominator,
            employed_6m=r.employment_rate_6m.numerator,
            excluded_6m=0,
            reached_12m=r.employment_rate_12m.denominator,
            employed_12m=r.employment_rate_12m.numerator,
            excluded_12m=0,
            certified=r.certificate_attainment.numerator,
            reached_q2=r.wioa_employment_q2.denominator,
            employed_q2=r.wioa_employment_q2.numerator,
            reached_q4=r.wioa_employment_q4.denominator,
            employed_q4=r.wioa_employment_q4.numerator,
            wage_median=r.median_monthly_wage,
            wage_count=r.wage_count,
            earnings_median=r.wioa_median_earnings_q2,
            earnings_count=r.wioa_earnings_count,
        )
