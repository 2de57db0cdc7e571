"""Attendance's HTTP API: thin views over the service layer."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.attendance.schemas import (AtRiskRow, BulkCheckInIn, BulkReport, CheckInIn, CloseOut, CohortOut,
                                         MarkDetail, MarkIn, MarkOut, RosterRow, SessionOut, SessionRoster, Sheet,
                                         StandingOut)
from services.attendance.service_layer import marks, roster, standing
from services.attendance.settings import Settings
from shared.auth import Principal, require_roles
from shared.db import ReleasingRoute, SessionDep
from shared.inputs import clean_parameters
from shared.pagination import Page, PageDep, paginate
from shared.spreadsheets import XLSX_MEDIA_TYPE

Reader = Annotated[Principal, Depends(require_roles("instructor", "auditor", "admissions", "finance", "placement"))]
Marker = Annotated[Principal, Depends(require_roles("instructor"))]
CheckInner = Annotated[Principal, Depends(require_roles("instructor", "trainee"))]
SelfReader = Annotated[Principal, Depends(require_roles("instructor", "auditor", "admissions", "finance",
                                                        "placement", "trainee"))]


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(_settings)]
router = APIRouter(route_class=ReleasingRoute, dependencies=[Depends(clean_parameters)])


# -- cohorts, sessions, rosters -----------------------------------------------
@router.get("/cohorts", response_model=Page[CohortOut], tags=["cohorts"])
def list_cohorts(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None) -> Page[CohortOut]:
    items, total = paginate(session, roster.list_cohorts(session, principal=principal, campus=campus), page)
    return Page(items=[roster.cohort_out(session, c) for c in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/cohorts/{cohort_id}", response_model=CohortOut, tags=["cohorts"])
def get_cohort(cohort_id: uuid.UUID, session: SessionDep, principal: Reader) -> CohortOut:
    return roster.cohort_out(session, roster.load_cohort(session, principal=principal, cohort_id=cohort_id))


@router.get("/cohorts/{cohort_id}/sessions", response_model=list[SessionOut], tags=["cohorts"])
def cohort_sessions(cohort_id: uuid.UUID, session: SessionDep, principal: Reader) -> list[SessionOut]:
    cohort = roster.load_cohort(session, principal=principal, cohort_id=cohort_id)
    return [roster.session_out(s) for s in roster.sessions_of(session, cohort.id)]


@router.get("/cohorts/{cohort_id}/roster", response_model=list[RosterRow], tags=["cohorts"])
def cohort_roster(cohort_id: uuid.UUID, session: SessionDep, principal: Reader) -> list[RosterRow]:
    cohort = roster.load_cohort(session, principal=principal, cohort_id=cohort_id)
    return [roster.roster_row(e) for e in roster.roster_of(session, cohort.id)]


@router.post("/cohorts/{cohort_id}/close", response_model=CloseOut, tags=["cohorts"],
             summary="End the cohort now: every trainee's completion is decided and published once")
def close_cohort(cohort_id: uuid.UUID, session: SessionDep, principal: Marker, settings: SettingsDep) -> CloseOut:
    return standing.close_cohort(session, principal=principal, settings=settings, cohort_id=cohort_id)


@router.get("/sessions/{session_id}/roster", response_model=SessionRoster, tags=["cohorts"],
            summary="The session's roster with every trainee's mark")
def session_roster(session_id: uuid.UUID, session: SessionDep, principal: Reader,
                   settings: SettingsDep) -> SessionRoster:
    return marks.session_roster(session, principal=principal, settings=settings, session_id=session_id)


# -- check-ins ------------------------------------------------------------------
@router.post("/sessions/{session_id}/check-ins", response_model=MarkOut, tags=["check-ins"],
             summary="One check-in or check-out; a trainee checks in only itself during its session")
def check_in(session_id: uuid.UUID, body: CheckInIn, session: SessionDep, principal: CheckInner,
             settings: SettingsDep) -> MarkOut:
    return marks.check_in(session, principal=principal, settings=settings, session_id=session_id, body=body)


@router.post("/sessions/{session_id}/check-ins/bulk", response_model=BulkReport, tags=["check-ins"],
             summary="Many readings at once (kiosk, card reader); a report row per reading")
def bulk_check_in(session_id: uuid.UUID, body: BulkCheckInIn, session: SessionDep, principal: Marker,
                  settings: SettingsDep) -> BulkReport:
    return marks.bulk_check_in(session, principal=principal, settings=settings, session_id=session_id, body=body)


# -- marks ----------------------------------------------------------------------
@router.put("/sessions/{session_id}/marks/{trainee_id}", response_model=MarkDetail, tags=["marks"],
            summary="Set or correct a mark with a reason; excused needs a reason code and evidence")
def set_mark(session_id: uuid.UUID, trainee_id: uuid.UUID, body: MarkIn, session: SessionDep, principal: Marker,
             settings: SettingsDep) -> MarkDetail:
    return marks.set_mark(session, principal=principal, settings=settings, session_id=session_id,
                          trainee_id=trainee_id, body=body)


@router.get("/sessions/{session_id}/marks/{trainee_id}", response_model=MarkDetail, tags=["marks"],
            summary="A mark with the history of its changes")
def get_mark(session_id: uuid.UUID, trainee_id: uuid.UUID, session: SessionDep, principal: SelfReader,
             settings: SettingsDep) -> MarkDetail:
    return marks.get_mark(session, principal=principal, settings=settings, session_id=session_id,
                          trainee_id=trainee_id)


# -- standing and reports ---------------------------------------------------------
@router.get("/trainees/{trainee_id}/attendance", response_model=list[StandingOut], tags=["standing"],
            summary="Rate, absences after conversion, maximum possible rate, at-risk and monthly allowance")
def trainee_attendance(trainee_id: uuid.UUID, session: SessionDep, principal: SelfReader, settings: SettingsDep,
                       cohort_id: uuid.UUID | None = None) -> list[StandingOut]:
    return standing.trainee_attendance(session, principal=principal, settings=settings, trainee_id=trainee_id,
                                       cohort_id=cohort_id)


@router.get("/cohorts/{cohort_id}/sheet", response_model=Sheet, tags=["reports"],
            summary="The cohort's attendance sheet for a month, as JSON or XLSX",
            responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}})
def month_sheet(cohort_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep,
                month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
                format: Literal["json", "xlsx"] = "json") -> Sheet | Response:
    sheet = standing.month_sheet(session, principal=principal, settings=settings, cohort_id=cohort_id, month=month)
    if format == "xlsx":
        return Response(standing.sheet_xlsx(sheet), media_type=XLSX_MEDIA_TYPE, headers={
            "Content-Disposition": f'attachment; filename="attendance-{cohort_id}-{month}.xlsx"'})
    return sheet


@router.get("/at-risk", response_model=Page[AtRiskRow], tags=["reports"],
            summary="Trainees at risk of not completing, per campus")
def at_risk(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None,
            cohort_id: uuid.UUID | None = None) -> Page[AtRiskRow]:
    items, total = paginate(session, standing.at_risk_list(session, principal=principal, campus=campus,
                                                           cohort_id=cohort_id), page)
    return Page(items=[standing.at_risk_row(e) for e in items], total=total, limit=page.limit, offset=page.offset)
