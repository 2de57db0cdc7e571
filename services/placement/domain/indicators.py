"""Report indicators, with the reference computation the SQL report must agree with.

Per completer (early-employment leavers included), on the report date ``as_of``:
- employment rate now: latest outcome dated on or before ``as_of``;
- employment rate at 6 and 12 months: latest outcome dated on or before completion + 6
  (12) months, over the completers who have reached that point by ``as_of``;
- median monthly wage of those whose latest outcome (as of ``as_of``) is ``employed``
  with a wage;
- certificate attainment: completers with a qualification obtained no later than 12
  months after completion (and by ``as_of``), over all completers;
- WIOA equivalents: employed (or self-employed) by the latest outcome as of the last
  day of the 2nd (4th) calendar quarter after the exit quarter, over completers whose
  quarter has ended by ``as_of`` (WIOA excludes nobody for further education); median
  earnings in the 2nd quarter = median of monthly wage × 3 of those employed then.

The SQL report finds "the latest outcome as of a date" as ``max(sort_key)`` over the
outcomes dated on or before it: ``sort_key`` packs, most significant first, the
outcome date, the recording sequence, the category code and the wage, so the
maximum is the latest outcome and carries its category and wage with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from services.placement.domain.calendar import add_months, quarter_after
from services.placement.domain.outcomes import (
    CATEGORIES,
    EMPLOYED,
    Outcome,
    Ratio,
    employment_rate,
    latest_as_of,
    median,
)

EPOCH = date(2000, 1, 1)
WAGE_BITS = 30
CATEGORY_BITS = 3
SEQ_BITS = 10
MAX_SEQ = (1 << SEQ_BITS) - 1
WAGE_SHIFT = 1 << WAGE_BITS
CATEGORY_SPAN = 1 << CATEGORY_BITS


def sort_key(as_of: date, seq: int, category: str, monthly_wage: int | None) -> int:
    days = (as_of - EPOCH).days
    if days < 0:
        raise ValueError("outcomes are dated from 2000-01-01")
    wage = 0 if monthly_wage is None else monthly_wage + 1
    if not 0 <= wage < WAGE_SHIFT:
        raise ValueError("wage out of range")
    packed = ((days << SEQ_BITS) | min(max(seq, 0), MAX_SEQ)) * CATEGORY_SPAN + CATEGORIES.index(category)
    return packed * WAGE_SHIFT + wage


def decode_key(key: int) -> tuple[str, int | None]:
    """The category and wage packed in a sort key."""
    wage = key % WAGE_SHIFT
    category = CATEGORIES[(key // WAGE_SHIFT) % CATEGORY_SPAN]
    return category, (wage - 1 if wage else None)


@dataclass(frozen=True)
class Checkpoints:
    """The dates a graduate's indicators look at, fixed at completion."""

    at_6m: date
    at_12m: date
    cert_deadline: date
    q2_end: date
    q4_end: date


def checkpoints(completion_date: date) -> Checkpoints:
    return Checkpoints(
        at_6m=add_months(completion_date, 6),
        at_12m=add_months(completion_date, 12),
        cert_deadline=add_months(completion_date, 12),
        q2_end=quarter_after(completion_date, 2)[1],
        q4_end=quarter_after(completion_date, 4)[1],
    )


@dataclass
class GraduateFacts:
    completion_date: date
    outcomes: list[Outcome] = field(default_factory=list)
    first_qualification: date | None = None


@dataclass(frozen=True)
class Indicators:
    completers: int
    employment_rate: Ratio
    employment_rate_6m: Ratio
    employment_rate_12m: Ratio
    median_monthly_wage: int | None
    wage_count: int
    certificate_attainment: Ratio
    wioa_employment_q2: Ratio
    wioa_employment_q4: Ratio
    wioa_median_earnings_q2: int | None
    wioa_earnings_count: int


def _category(o: Outcome | None) -> str | None:
    return o.category if o else None


def compute(graduates: list[GraduateFacts], as_of: date) -> Indicators:
    """The reference computation (pure Python) of every indicator."""
    now, six, twelve, q2, q4 = [], [], [], [], []
    wages, q2_earnings = [], []
    certified = 0
    for g in graduates:
        cp = checkpoints(g.completion_date)
        latest = latest_as_of(g.outcomes, as_of)
        now.append(_category(latest))
        if latest and latest.category == "employed" and latest.monthly_wage is not None:
            wages.append(latest.monthly_wage)
        if cp.at_6m <= as_of:
            six.append(_category(latest_as_of(g.outcomes, cp.at_6m)))
        if cp.at_12m <= as_of:
            twelve.append(_category(latest_as_of(g.outcomes, cp.at_12m)))
        if cp.q2_end <= as_of:
            o = latest_as_of(g.outcomes, cp.q2_end)
            q2.append(o is not None and o.category in EMPLOYED)
            if o and o.category == "employed" and o.monthly_wage is not None:
                q2_earnings.append(o.monthly_wage * 3)
        if cp.q4_end <= as_of:
            o = latest_as_of(g.outcomes, cp.q4_end)
            q4.append(o is not None and o.category in EMPLOYED)
        if g.first_qualification is not None and g.first_qualification <= min(cp.cert_deadline, as_of):
            certified += 1
    return Indicators(
        completers=len(graduates),
        employment_rate=employment_rate(now),
        employment_rate_6m=employment_rate(six),
        employment_rate_12m=employment_rate(twelve),
        median_monthly_wage=median(wages),
        wage_count=len(wages),
        certificate_attainment=Ratio(certified, len(graduates)),
        wioa_employment_q2=Ratio(sum(q2), len(q2)),
        wioa_employment_q4=Ratio(sum(q4), len(q4)),
        wioa_median_earnings_q2=median(q2_earnings),
        wioa_earnings_count=len(q2_earnings),
    )
