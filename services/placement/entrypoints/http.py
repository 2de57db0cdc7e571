"""Placement's HTTP API: thin views over the use cases (each opens and commits its own unit of work)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.placement.adapters.repository import PlacementRepository
from services.placement.schemas import (
    Category,
    ContactIn,
    ContactOut,
    ConvertIn,
    EmployerIn,
    EmployerOut,
    FollowupOut,
    FollowupStatus,
    GraduateDetail,
    GraduateOut,
    IncentiveOut,
    InternshipEndIn,
    InternshipIn,
    InternshipOut,
    InternshipStatus,
    MatchOut,
    OfficerIn,
    OutcomeIn,
    OutcomeOut,
    PostingCloseIn,
    PostingIn,
    PostingOut,
    PostingStatus,
    ReportOut,
    TargetIn,
    TargetOut,
)
from services.placement.service_layer import employers, followups, graduates, internships, outcomes, reports, targets
from services.placement.settings import Settings
from shared.auth import Principal, require_roles
from shared.db import ReleasingRoute
from shared.idempotency import IdempotencyDep
from shared.inputs import Day, QueryFlag, clean_parameters
from shared.pagination import Page, PageDep
from shared.spreadsheets import XLSX_MEDIA_TYPE
from shared.unit_of_work import ClockDep, UnitOfWork, get_unit_of_work

Reader = Annotated[Principal, Depends(require_roles("placement", "auditor", "finance"))]
Writer = Annotated[Principal, Depends(require_roles("placement"))]
OnDay = Annotated[Day | None, Query(description="default: today")]
GroupBy = Literal["campus", "programme", "cohort"]
Uow = Annotated[UnitOfWork[PlacementRepository], Depends(get_unit_of_work)]


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(_settings)]
router = APIRouter(route_class=ReleasingRoute, dependencies=[Depends(clean_parameters)])


# -- graduates --------------------------------------------------------------------
@router.get("/graduates", response_model=Page[GraduateOut], tags=["graduates"])
def list_graduates(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    campus: str | None = None,
    cohort_id: uuid.UUID | None = None,
    officer: str | None = None,
) -> Page[GraduateOut]:
    return graduates.list_graduates(
        uow, principal=principal, page=page, campus=campus, cohort_id=cohort_id, officer=officer
    )


@router.get(
    "/graduates/{graduate_id}",
    response_model=GraduateDetail,
    tags=["graduates"],
    summary="A graduate with follow-ups, outcomes and qualifications obtained",
)
def get_graduate(
    graduate_id: uuid.UUID, uow: Uow, clock: ClockDep, principal: Reader, on: OnDay = None
) -> GraduateDetail:
    return graduates.graduate_detail(uow, clock, principal=principal, graduate_id=graduate_id, on=on)


@router.put(
    "/graduates/{graduate_id}/officer",
    response_model=GraduateOut,
    tags=["graduates"],
    summary="Assign (or unassign) the placement officer who follows this graduate",
)
def assign_officer(graduate_id: uuid.UUID, body: OfficerIn, uow: Uow, principal: Writer) -> GraduateOut:
    return graduates.assign_officer(uow, principal=principal, graduate_id=graduate_id, officer=body.officer)


# -- follow-ups -----------------------------------------------------------------------
@router.get(
    "/followups",
    response_model=Page[FollowupOut],
    tags=["followups"],
    summary="The worklist: open follow-ups that are due or overdue on `on` (or one status), oldest first",
)
def worklist(
    uow: Uow,
    clock: ClockDep,
    principal: Reader,
    page: PageDep,
    on: OnDay = None,
    campus: str | None = None,
    officer: Annotated[str | None, Query(description="the assigned officer; `me` for yourself")] = None,
    unassigned: QueryFlag = False,
    cohort_id: uuid.UUID | None = None,
    status: FollowupStatus | None = None,
) -> Page[FollowupOut]:
    if officer == "me":
        officer = principal.sub
    return followups.worklist(
        uow,
        clock,
        principal=principal,
        page=page,
        on=on,
        campus=campus,
        officer=officer,
        cohort_id=cohort_id,
        status=status,
        unassigned=unassigned,
    )


@router.get("/followups/{followup_id}", response_model=FollowupOut, tags=["followups"])
def get_followup(followup_id: uuid.UUID, uow: Uow, clock: ClockDep, principal: Reader, on: OnDay = None) -> FollowupOut:
    return followups.get_followup(uow, clock, principal=principal, followup_id=followup_id, on=on)


@router.post(
    "/followups/{followup_id}/contacts",
    response_model=ContactOut,
    status_code=201,
    tags=["followups"],
    summary="Log a contact attempt: when, channel, result",
)
def log_contact(followup_id: uuid.UUID, body: ContactIn, uow: Uow, clock: ClockDep, principal: Writer) -> ContactOut:
    return followups.log_contact(uow, clock, principal=principal, followup_id=followup_id, body=body)


@router.get("/followups/{followup_id}/contacts", response_model=list[ContactOut], tags=["followups"])
def list_contacts(followup_id: uuid.UUID, uow: Uow, principal: Reader) -> list[ContactOut]:
    return followups.list_contacts(uow, principal=principal, followup_id=followup_id)


# -- outcomes ---------------------------------------------------------------------------
@router.post(
    "/outcomes",
    response_model=OutcomeOut,
    status_code=201,
    tags=["outcomes"],
    summary="Record a dated outcome; open follow-ups whose window has opened are closed; outcome.recorded goes out",
)
def record_outcome(body: OutcomeIn, uow: Uow, principal: Writer) -> OutcomeOut:
    return outcomes.record_outcome(uow, principal=principal, body=body)


@router.get("/outcomes", response_model=Page[OutcomeOut], tags=["outcomes"])
def list_outcomes(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    graduate_id: uuid.UUID | None = None,
    campus: str | None = None,
    category: Category | None = None,
) -> Page[OutcomeOut]:
    return outcomes.list_outcomes(
        uow, principal=principal, page=page, graduate_id=graduate_id, campus=campus, category=category
    )


# -- employers and postings -------------------------------------------------------------
@router.post("/employers", response_model=EmployerOut, status_code=201, tags=["employers"])
def create_employer(
    body: EmployerIn, uow: Uow, clock: ClockDep, principal: Writer, settings: SettingsDep
) -> EmployerOut:
    return employers.create_employer(uow, clock, principal=principal, settings=settings, body=body)


@router.get("/employers", response_model=Page[EmployerOut], tags=["employers"])
def list_employers(uow: Uow, principal: Reader, page: PageDep, campus: str | None = None) -> Page[EmployerOut]:
    return employers.list_employers(uow, principal=principal, page=page, campus=campus)


@router.get("/employers/{employer_id}", response_model=EmployerOut, tags=["employers"])
def get_employer(employer_id: uuid.UUID, uow: Uow, principal: Reader) -> EmployerOut:
    return employers.get_employer(uow, principal=principal, employer_id=employer_id)


@router.post("/postings", response_model=PostingOut, status_code=201, tags=["employers"])
def create_posting(body: PostingIn, uow: Uow, principal: Writer, settings: SettingsDep) -> PostingOut:
    return employers.create_posting(uow, principal=principal, settings=settings, body=body)


@router.get("/postings", response_model=Page[PostingOut], tags=["employers"])
def list_postings(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    settings: SettingsDep,
    campus: str | None = None,
    employer_id: uuid.UUID | None = None,
    status: PostingStatus | None = None,
) -> Page[PostingOut]:
    return employers.list_postings(
        uow, principal=principal, settings=settings, page=page, campus=campus, employer_id=employer_id, status=status
    )


@router.get("/postings/{posting_id}", response_model=PostingOut, tags=["employers"])
def get_posting(posting_id: uuid.UUID, uow: Uow, principal: Reader, settings: SettingsDep) -> PostingOut:
    return employers.get_posting(uow, principal=principal, settings=settings, posting_id=posting_id)


@router.post(
    "/postings/{posting_id}/close",
    response_model=PostingOut,
    tags=["employers"],
    summary="Close a posting: it takes no new internship (rule posting.closed); closing it again answers the "
    "same closed posting",
)
def close_posting(
    posting_id: uuid.UUID, uow: Uow, principal: Writer, settings: SettingsDep, body: PostingCloseIn | None = None
) -> PostingOut:
    return employers.close_posting(
        uow, principal=principal, settings=settings, posting_id=posting_id, body=body or PostingCloseIn()
    )


@router.get(
    "/postings/{posting_id}/matches",
    response_model=list[MatchOut],
    tags=["internships"],
    summary="Graduates still looking, ranked by the posting's qualifications they hold or trained for",
)
def matches(
    posting_id: uuid.UUID, uow: Uow, principal: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[MatchOut]:
    return employers.matches(uow, principal=principal, posting_id=posting_id, limit=limit)


# -- internships and incentives -------------------------------------------------------------
@router.post(
    "/internships",
    response_model=InternshipOut,
    status_code=201,
    tags=["internships"],
    summary="Place a graduate in a 3-month internship paid at the living wage (Idempotency-Key accepted)",
)
def start_internship(
    body: InternshipIn, uow: Uow, principal: Writer, settings: SettingsDep, idem: IdempotencyDep
) -> InternshipOut:
    return internships.start_internship(uow, principal=principal, settings=settings, body=body, idem=idem)


@router.get("/internships", response_model=Page[InternshipOut], tags=["internships"])
def list_internships(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    campus: str | None = None,
    status: InternshipStatus | None = None,
    graduate_id: uuid.UUID | None = None,
) -> Page[InternshipOut]:
    return internships.list_internships(
        uow, principal=principal, page=page, campus=campus, status=status, graduate_id=graduate_id
    )


@router.get("/internships/{internship_id}", response_model=InternshipOut, tags=["internships"])
def get_internship(internship_id: uuid.UUID, uow: Uow, principal: Reader) -> InternshipOut:
    return internships.get_internship(uow, principal=principal, internship_id=internship_id)


@router.post(
    "/internships/{internship_id}/convert",
    response_model=InternshipOut,
    tags=["internships"],
    summary="Permanent hire: the employer's incentive falls due, once; incentive.due goes out "
    "(send an Idempotency-Key to retry safely)",
)
def convert(
    internship_id: uuid.UUID, body: ConvertIn, uow: Uow, principal: Writer, settings: SettingsDep, idem: IdempotencyDep
) -> InternshipOut:
    return internships.convert(
        uow, principal=principal, settings=settings, internship_id=internship_id, body=body, idem=idem
    )


@router.post(
    "/internships/{internship_id}/end",
    response_model=InternshipOut,
    tags=["internships"],
    summary="End an active internship early: the last partial month is paid pro rata for the calendar days "
    "worked; it can no longer be converted (send an Idempotency-Key to retry safely)",
)
def end_internship(
    internship_id: uuid.UUID,
    body: InternshipEndIn,
    uow: Uow,
    clock: ClockDep,
    principal: Writer,
    idem: IdempotencyDep,
) -> InternshipOut:
    return internships.end_early(uow, clock, principal=principal, internship_id=internship_id, body=body, idem=idem)


@router.get("/incentives", response_model=Page[IncentiveOut], tags=["internships"])
def list_incentives(uow: Uow, principal: Reader, page: PageDep, campus: str | None = None) -> Page[IncentiveOut]:
    return internships.list_incentives(uow, principal=principal, page=page, campus=campus)


# -- targets ------------------------------------------------------------------------------
ProgrammeCode = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.get(
    "/targets",
    response_model=list[TargetOut],
    tags=["reports"],
    summary="Every programme's employment-rate target (the dashboard's target lines)",
)
def list_targets(uow: Uow, principal: Reader) -> list[TargetOut]:
    return targets.list_targets(uow)


@router.get("/targets/{programme_code}", response_model=TargetOut, tags=["reports"])
def get_target(programme_code: ProgrammeCode, uow: Uow, principal: Reader) -> TargetOut:
    return targets.get_target(uow, programme_code)


@router.put(
    "/targets/{programme_code}",
    response_model=TargetOut,
    tags=["reports"],
    summary="Set a programme's employment-rate target (e.g. 0.75); one per programme, centre-wide",
)
def set_target(programme_code: ProgrammeCode, body: TargetIn, uow: Uow, principal: Writer) -> TargetOut:
    return targets.set_target(uow, principal=principal, programme_code=programme_code, body=body)


# -- reports ------------------------------------------------------------------------------
def _report(
    uow: Uow,
    clock: ClockDep,
    principal: Reader,
    as_of: OnDay = None,
    campus: str | None = None,
    cohort_id: uuid.UUID | None = None,
    programme_code: str | None = None,
    completed_from: OnDay = None,
    completed_to: OnDay = None,
    group_by: GroupBy | None = None,
) -> ReportOut:
    return reports.build(
        uow,
        clock,
        principal=principal,
        as_of=as_of,
        campus=campus,
        cohort_id=cohort_id,
        programme_code=programme_code,
        completed_from=completed_from,
        completed_to=completed_to,
        group_by=group_by,
    )


ReportDep = Annotated[ReportOut, Depends(_report)]


@router.get(
    "/reports/employment",
    response_model=ReportOut,
    tags=["reports"],
    summary="Employment rate now, at 6 and 12 months, median wage, certificates and WIOA equivalents, "
    "each with numerator and denominator; per campus, programme or cohort",
)
def employment_report(report: ReportDep) -> ReportOut:
    return report


@router.get(
    "/reports/employment.xlsx",
    tags=["reports"],
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the same report as a workbook"}},
)
def employment_report_xlsx(report: ReportDep) -> Response:
    return Response(
        reports.to_xlsx(report),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="employment-{report.as_of}.xlsx"'},
    )
