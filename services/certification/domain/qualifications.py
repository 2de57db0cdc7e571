"""National technical qualifications: grade, two stages, the standard fee of each stage.

A qualification (국가기술자격 종목) has a grade (craftsman 기능사, industrial engineer
산업기사, engineer 기사, master 기능장) and two stages, written (필기) and practical (실기),
each with a standard fee. DOMAIN.md states one fee: craftsman written, 14,500 KRW;
practical fees vary by trade, up to 166,700 KRW. A fee the centre has not set yet is
``None``, and a stage without a standard fee cannot be reimbursed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GRADES = ("craftsman", "industrial_engineer", "engineer", "master")
STAGES = ("written", "practical")
CRAFTSMAN_WRITTEN_FEE = 14_500  # DOMAIN.md
HIGHEST_KNOWN_PRACTICAL_FEE = 166_700  # DOMAIN.md: "practical fees vary by trade, up to 166,700 KRW"


@dataclass(frozen=True)
class Qualification:
    code: str
    grade: str
    written_fee: int | None = None
    practical_fee: int | None = None
    programme_codes: frozenset[str] = field(default_factory=frozenset)

    def standard_fee(self, stage: str) -> int | None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        return self.written_fee if stage == "written" else self.practical_fee


def reimbursable_amount(amount_paid: int, standard_fee: int) -> int:
    """The amount reimbursed: the lesser of the amount paid and the standard fee (whole KRW)."""
    if amount_paid < 0 or standard_fee < 0:
        raise ValueError("amounts are never negative")
    return min(amount_paid, standard_fee)
