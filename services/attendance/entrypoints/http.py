"""Attendance's HTTP API: thin views over the use cases in the service layer."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.attendance.schemas import (
    AtRiskRow,
    BulkCheckInIn,
    BulkReport,
    CheckInIn,
    CloseOut,
    CohortOut,
    MarkDetail,
    MarkIn,
    MarkOut,
    QrCodeOut,
    RosterRow,
    SessionOut,
    SessionRoster,
    Sheet,
    StandingOut,
    TraineeMarkRow,
)
from services.attendance.service_layer import marks, roster, standing
from services.attendance.service_layer.policy import AttendancePolicy, policy_of
from shared.auth import Principal, require_roles
from shared.db import ReleasingRoute
from shared.inputs import clean_parameters
from shared.pagination import Page, PageDep
from shared.spreadsheets import XLSX_MEDIA_TYPE
from shared.unit_of_work import ClockDep, UnitOfWorkDep

Reader = Annotated[Principal, Depends(require_roles("instructor", "auditor", "admissions", "finance", "placement"))]
Marker = Annotated[Principal, Depends(require_roles("instructor"))]
CheckInner = Annotated[Principal, Depends(require_roles("instructor", "trainee"))]
SelfReader = Annotated[
    Principal, Depends(require_roles("instructor", "auditor", "admissions", "finance", "placement", "trainee"))
]


async def _policy(request: Request) -> AttendancePolicy:
    """The policy of the app's settings, built on the first request that needs it (the settings never change)."""
    state = request.app.state
    policy = getattr(state, "attendance_policy", None)
    if policy is None or policy[0] is not state.settings:
        policy = state.attendance_policy = (state.settings, policy_of(state.settings))
    return policy[1]


PolicyDep = Annotated[AttendancePolicy, Depends(_policy)]
router = APIRouter(route_class=ReleasingRoute, dependencies=[Depends(clean_parameters)])


# -- cohorts, sessions, rosters -----------------------------------------------
@router.get("/cohorts", response_model=Page[CohortOut], tags=["cohorts"])
def list_cohorts(uow: UnitOfWorkDep, principal: Reader, page: PageDep, campus: str | None = None) -> Page[CohortOut]:
    return roster.list_cohorts(uow, principal=principal, campus=campus, page=page)


@router.get("/cohorts/{cohort_id}", response_model=CohortOut, tags=["cohorts"])
def get_cohort(cohort_id: uuid.UUID, uow: UnitOfWorkDep, principal: Reader) -> CohortOut:
    return roster.get_cohort(uow, principal=principal, cohort_id=cohort_id)


@router.get("/cohorts/{cohort_id}/sessions", response_model=list[SessionOut], tags=["cohorts"])
def cohort_sessions(cohort_id: uuid.UUID, uow: UnitOfWorkDep, principal: Reader) -> list[SessionOut]:
    return roster.cohort_sessions(uow, principal=principal, cohort_id=cohort_id)


@router.get("/cohorts/{cohort_id}/roster", response_model=list[RosterRow], tags=["cohorts"])
def cohort_roster(cohort_id: uuid.UUID, uow: UnitOfWorkDep, principal: Reader) -> list[RosterRow]:
    return roster.cohort_roster(uow, principal=principal, cohort_id=cohort_id)


@router.post(
    "/cohorts/{cohort_id}/close",
    response_model=CloseOut,
    tags=["cohorts"],
    summary="End the cohort now: every trainee's completion is decided and published once",
)
def close_cohort(
    cohort_id: uuid.UUID, uow: UnitOfWorkDep, principal: Marker, policy: PolicyDep, clock: ClockDep
) -> CloseOut:
    return standing.close_cohort(uow, principal=principal, policy=policy, clock=clock, cohort_id=cohort_id)


@router.get(
    "/sessions/{session_id}/roster",
    response_model=SessionRoster,
    tags=["cohorts"],
    summary="The session's roster with every trainee's mark",
)
def session_roster(session_id: uuid.UUID, uow: UnitOfWorkDep, principal: Reader, clock: ClockDep) -> SessionRoster:
    return marks.session_roster(uow, principal=principal, clock=clock, session_id=session_id)


# -- check-ins ------------------------------------------------------------------
@router.post(
    "/sessions/{session_id}/check-ins",
    response_model=MarkOut,
    tags=["check-ins"],
    summary="One check-in or check-out; a trainee checks in only itself during its session",
)
def check_in(
    session_id: uuid.UUID,
    body: CheckInIn,
    uow: UnitOfWorkDep,
    principal: CheckInner,
    policy: PolicyDep,
    clock: ClockDep,
) -> MarkOut:
    return marks.check_in(uow, principal=principal, policy=policy, clock=clock, session_id=session_id, body=body)


@router.get(
    "/sessions/{session_id}/qr-code",
    response_model=QrCodeOut,
    tags=["check-ins"],
    summary="The session's rotating check-in code now (changes every 30 s) for the kiosk or the instructor",
    description="Show it as a QR code (or as text) in the classroom. A trainee checks in with it "
    "(`code` in the check-in body) within its window or the next; an older code of this "
    "session is refused as `check-in.code-expired`, another session's as "
    "`check-in.code-foreign-session`.",
)
def session_qr_code(
    session_id: uuid.UUID, uow: UnitOfWorkDep, principal: Marker, policy: PolicyDep, clock: ClockDep
) -> QrCodeOut:
    return marks.qr_code(uow, principal=principal, policy=policy, clock=clock, session_id=session_id)


@router.post(
    "/sessions/{session_id}/check-ins/bulk",
    response_model=BulkReport,
    tags=["check-ins"],
    summary="Many readings at once (kiosk, card reader); a report row per reading",
)
def bulk_check_in(
    session_id: uuid.UUID,
    body: BulkCheckInIn,
    uow: UnitOfWorkDep,
    principal: Marker,
    policy: PolicyDep,
    clock: ClockDep,
) -> BulkReport:
    return marks.bulk_check_in(uow, principal=principal, policy=policy, clock=clock, session_id=session_id, body=body)


# -- marks ----------------------------------------------------------------------
@router.put(
    "/sessions/{session_id}/marks/{trainee_id}",
    response_model=MarkDetail,
    tags=["marks"],
    summary="Set or correct a mark with a reason; excused needs a reason code and evidence",
)
def set_mark(
    session_id: uuid.UUID,
    trainee_id: uuid.UUID,
    body: MarkIn,
    uow: UnitOfWorkDep,
    principal: Marker,
    policy: PolicyDep,
    clock: ClockDep,
) -> MarkDetail:
    return marks.set_mark(
        uow, principal=principal, policy=policy, clock=clock, session_id=session_id, trainee_id=trainee_id, body=body
    )


@router.get(
    "/sessions/{session_id}/marks/{trainee_id}",
    response_model=MarkDetail,
    tags=["marks"],
    summary="A mark with the history of its changes",
)
def get_mark(
    session_id: uuid.UUID, trainee_id: uuid.UUID, uow: UnitOfWorkDep, principal: SelfReader, clock: ClockDep
) -> MarkDetail:
    return marks.get_mark(uow, principal=principal, clock=clock, session_id=session_id, trainee_id=trainee_id)


@router.get(
    "/trainees/{trainee_id}/marks",
    response_model=list[TraineeMarkRow],
    tags=["marks"],
    summary="The sessions of a trainee's cohorts with the trainee's marks; a trainee reads only its own",
)
def trainee_marks(
    trainee_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: SelfReader,
    clock: ClockDep,
    date_from: Annotated[date | None, Query(description="first day (inclusive)")] = None,
    date_to: Annotated[date | None, Query(description="last day (inclusive)")] = None,
) -> list[TraineeMarkRow]:
    return marks.trainee_marks(
        uow, principal=principal, clock=clock, trainee_id=trainee_id, date_from=date_from, date_to=date_to
    )


# -- standing and reports ---------------------------------------------------------
@router.get(
    "/trainees/{trainee_id}/attendance",
    response_model=list[StandingOut],
    tags=["standing"],
    summary="Rate, absences after conversion, maximum possible rate, at-risk and monthly allowance",
)
def trainee_attendance(
    trainee_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: SelfReader,
    policy: PolicyDep,
    clock: ClockDep,
    cohort_id: uuid.UUID | None = None,
) -> list[StandingOut]:
    return standing.trainee_attendance(
        uow, principal=principal, policy=policy, clock=clock, trainee_id=trainee_id, cohort_id=cohort_id
    )


@router.get(
    "/cohorts/{cohort_id}/sheet",
    response_model=Sheet,
    tags=["reports"],
    summary="The cohort's attendance sheet for a month, as JSON or XLSX",
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
)
def month_sheet(
    cohort_id: uuid.UUID,
    uow: UnitOfWorkDep,
    principal: Reader,
    policy: PolicyDep,
    clock: ClockDep,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
    format: Literal["json", "xlsx"] = "json",
) -> Sheet | Response:
    sheet = standing.month_sheet(uow, principal=principal, policy=policy, clock=clock, cohort_id=cohort_id, month=month)
    if format == "xlsx":
        return Response(
            standing.sheet_xlsx(sheet),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="attendance-{cohort_id}-{month}.xlsx"'},
        )
    return sheet


@router.get(
    "/at-risk",
    response_model=Page[AtRiskRow],
    tags=["reports"],
    summary="Trainees at risk of not completing, per campus",
)
def at_risk(
    uow: UnitOfWorkDep, principal: Reader, page: PageDep, campus: str | None = None, cohort_id: uuid.UUID | None = None
) -> Page[AtRiskRow]:
    return standing.at_risk_list(uow, principal=principal, campus=campus, cohort_id=cohort_id, page=page)
