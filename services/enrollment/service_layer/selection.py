"""Selection and the waitlist: the priority quota first, then score; a freed seat goes to the next waiting.

Every change of seat counts (selection, a decline, a withdrawal, a rejection) locks the
cohort row first, so on PostgreSQL they run one at a time per cohort and capacity holds under any
concurrency; SQLite serialises all writers anyway.
"""

from __future__ import annotations

import uuid
from datetime import date

from services.enrollment.adapters.orm import Application, Cohort
from services.enrollment.adapters.repository import Decision, EnrollmentRepository
from services.enrollment.domain.eligibility import LEAVING_CARE_AGES
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.domain.seats import cohort_ended, joining_failures
from services.enrollment.domain.selection import select as select_for
from services.enrollment.schemas import SelectionOut
from services.enrollment.service_layer import outgoing
from shared.auth import Principal
from shared.clock import Clock
from shared.db import utcnow
from shared.problems import RuleFailure, RuleViolation, not_found
from shared.unit_of_work import UnitOfWork

Uow = UnitOfWork[EnrollmentRepository]


def run_selection(
    uow: Uow, *, principal: Principal, policy: AdmissionsPolicy, clock: Clock, cohort_id: uuid.UUID
) -> SelectionOut:
    with uow:
        cohort = uow.repo.visible_cohort(principal, cohort_id, lock=True)
        if cohort.selection_done_at is not None:
            raise RuleViolation(
                [RuleFailure("selection.already-run", "selection has already run for this cohort")], status=409
            )
        # an ended cohort offers no seat: the applications stay submitted, nobody is told "selected". Later than the
        # late-join limit selection still runs: staff may be recording a round whose trainees joined in time.
        if ended := cohort_ended(cohort.end_date, clock.today()):
            raise RuleViolation(ended, status=409)
        found = uow.repo.candidates(cohort.id)
        result = select_for([c for c, _ in found], cohort.capacity, policy.selection.priority_quota_percent)
        now = utcnow()
        decisions: list[Decision] = []
        priority = set(result.under_quota)  # a priority applicant beyond the quota got in on score, and says so
        for app_id in result.selected:
            why = (
                [RuleFailure("selection.priority-quota", "selected under the priority quota")]
                if app_id in priority
                else [RuleFailure("selection.score", "selected by score")]
            )
            decisions.append((app_id, "selected", None, why))
        low, high = LEAVING_CARE_AGES
        for app_id in result.above_capacity:
            decisions.append(
                (
                    app_id,
                    "selected",
                    None,
                    [RuleFailure("selection.leaving-care", f"admitted above capacity (leaving care, {low}-{high})")],
                )
            )
        for position, app_id in enumerate(result.waitlist, start=1):
            decisions.append(
                (app_id, "waitlisted", position, [RuleFailure("selection.waitlist", f"waitlist position {position}")])
            )
        decided = outgoing.selection_decided(cohort, decisions, {c.application_id: a for c, a in found})
        uow.emit_many_alongside(decided, lambda: uow.repo.record_decisions(decisions, now))
        cohort.selection_done_at = now
        uow.repo.save()
        uow.commit()
        return SelectionOut(
            cohort_id=cohort.id,
            capacity=cohort.capacity,
            priority_quota=result.quota,
            selected_within_capacity=len(result.selected),
            selected_above_capacity=len(result.above_capacity),
            priority_selected=len(result.priority_selected),
            above_capacity=len(result.above_capacity),
            waitlisted=len(result.waitlist),
        )


def promote_next(uow: Uow, cohort: Cohort, *, policy: AdmissionsPolicy, today: date) -> Application | None:
    """Offer a freed seat to the first on the waitlist, in the open work (the caller holds the cohort lock).

    Once the seat could no longer be taken (the cohort ended, or it is too late to join), nobody is promoted:
    the waitlist stays as it is rather than offering a seat that accepting would refuse."""
    if joining_failures(cohort.start_date, cohort.end_date, today, policy.joining):
        return None
    if uow.repo.seats_taken(cohort.id) >= cohort.capacity:
        return None
    nxt = uow.repo.first_waitlisted(cohort.id)
    if nxt is None:
        return None
    why = RuleFailure("selection.promoted", f"promoted from waitlist position {nxt.waitlist_position}")
    nxt.status, nxt.waitlist_position, nxt.reasons = "selected", None, [why.as_dict()]
    nxt.decided_at = nxt.updated_at = utcnow()
    uow.repo.save()
    uow.emit(*outgoing.application_decided(nxt, "selected", [why]))
    return nxt


def seat_change(
    repo: EnrollmentRepository, principal: Principal, application_id: uuid.UUID
) -> tuple[Application, Cohort]:
    """Lock the cohort (seat counts change), then the application, in that order everywhere."""
    app = repo.visible_application(principal, application_id)
    cohort = repo.visible_cohort(principal, app.cohort_id, lock=True)
    locked = repo.lock_application(application_id)
    if locked is None or not principal.sees_campus(locked.campus):
        raise not_found("application", application_id)
    return locked, cohort
