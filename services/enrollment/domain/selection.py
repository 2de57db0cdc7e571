"""Selection: the priority quota first, then score, ties by application time; the rest wait.

At least ``quota_percent`` of the seats, rounded up, go first to priority applicants
when enough of them apply; the remaining seats go to everyone left by score, earlier
application first on a tie. Leaving-care applicants are admitted on top of capacity.
Everyone else forms the ordered waitlist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

PRIORITY_QUOTA_PERCENT = 30


@dataclass(frozen=True)
class SelectionPolicy:
    priority_quota_percent: int = PRIORITY_QUOTA_PERCENT  # share of the seats, rounded up


@dataclass(frozen=True)
class Candidate:
    application_id: uuid.UUID
    score: float
    applied_at: datetime
    priority: bool = False
    above_capacity: bool = False


@dataclass
class SelectionResult:
    quota: int
    selected: list[uuid.UUID] = field(default_factory=list)
    priority_selected: list[uuid.UUID] = field(default_factory=list)  # every priority applicant selected
    under_quota: list[uuid.UUID] = field(default_factory=list)  # those of them who took a seat of the quota
    above_capacity: list[uuid.UUID] = field(default_factory=list)
    waitlist: list[uuid.UUID] = field(default_factory=list)


def priority_quota(capacity: int, quota_percent: int = PRIORITY_QUOTA_PERCENT) -> int:
    """Seats reserved for priority applicants: ``quota_percent`` of capacity, rounded up (exact integers)."""
    return -(-capacity * quota_percent // 100)


def rank_key(c: Candidate) -> tuple[float, datetime, str]:
    return (-c.score, c.applied_at, str(c.application_id))


def select(candidates: list[Candidate], capacity: int, quota_percent: int = PRIORITY_QUOTA_PERCENT) -> SelectionResult:
    result = SelectionResult(quota=priority_quota(capacity, quota_percent))
    result.above_capacity = [
        c.application_id for c in sorted((c for c in candidates if c.above_capacity), key=rank_key)
    ]
    ranked = sorted((c for c in candidates if not c.above_capacity), key=rank_key)
    quota_taken = [c for c in ranked if c.priority][: min(result.quota, capacity)]
    taken_ids = {c.application_id for c in quota_taken}
    rest = [c for c in ranked if c.application_id not in taken_ids]
    open_seats = capacity - len(quota_taken)
    by_merit = rest[:open_seats]
    merit_ids = {c.application_id for c in by_merit}
    chosen = taken_ids | merit_ids
    result.selected = [c.application_id for c in ranked if c.application_id in chosen]
    result.priority_selected = [c.application_id for c in ranked if c.application_id in chosen and c.priority]
    result.under_quota = [c.application_id for c in quota_taken]
    result.waitlist = [c.application_id for c in rest[open_seats:]]
    return result


def competition_ratio(applications: int, capacity: int) -> float:
    """Applications per seat, to two decimals (Seoul reported 1.86 : 1)."""
    return round(applications / capacity, 2) if capacity else 0.0
