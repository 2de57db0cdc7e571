"""Placement's HTTP API: thin views over the service layer."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from services.placement.schemas import (Category, ContactIn, ContactOut, ConvertIn, EmployerIn, EmployerOut,
                                        FollowupOut, FollowupStatus, GraduateDetail, GraduateOut, IncentiveOut,
                                        InternshipIn, InternshipOut, MatchOut, OfficerIn, OutcomeIn, OutcomeOut,
                                        PostingIn, PostingOut, ReportOut)
from services.placement.service_layer import graduates, internships, reports
from services.placement.settings import Settings
from shared.auth import Principal, require_roles
from shared.db import ReleasingRoute, SessionDep
from shared.idempotency import IdempotencyDep
from shared.inputs import Day, QueryFlag, clean_parameters
from shared.pagination import Page, PageDep
from shared.spreadsheets import XLSX_MEDIA_TYPE

Reader = Annotated[Principal, Depends(require_roles("placement", "auditor", "finance"))]
Writer = Annotated[Principal, Depends(require_roles("placement"))]
OnDay = Annotated[Day | None, Query(description="default: today")]
GroupBy = Literal["campus", "programme", "cohort"]


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(_settings)]
router = APIRouter(route_class=ReleasingRoute, dependencies=[Depends(clean_parameters)])


# -- graduates --------------------------------------------------------------------
@router.get("/graduates", response_model=Page[GraduateOut], tags=["graduates"])
def list_graduates(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None,
                   cohort_id: uuid.UUID | None = None, officer: str | None = None) -> Page[GraduateOut]:
    items, total = graduates.list_graduates(session, principal=principal, page=page, campus=campus,
                                            cohort_id=cohort_id, officer=officer)
    return Page(items=[graduates.graduate_out(g) for g in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/graduates/{graduate_id}", response_model=GraduateDetail, tags=["graduates"],
            summary="A graduate with follow-ups, outcomes and qualifications obtained")
def get_graduate(graduate_id: uuid.UUID, session: SessionDep, principal: Reader, on: OnDay = None) -> GraduateDetail:
    return graduates.graduate_detail(session, principal=principal, graduate_id=graduate_id, on=on or date.today())


@router.put("/graduates/{graduate_id}/officer", response_model=GraduateOut, tags=["graduates"],
            summary="Assign (or unassign) the placement officer who follows this graduate")
def assign_officer(graduate_id: uuid.UUID, body: OfficerIn, session: SessionDep, principal: Writer) -> GraduateOut:
    return graduates.graduate_out(graduates.assign_officer(session, principal=principal, graduate_id=graduate_id,
                                                           officer=body.officer))


# -- follow-ups -----------------------------------------------------------------------
@router.get("/followups", response_model=Page[FollowupOut], tags=["followups"],
            summary="The worklist: open follow-ups that are due or overdue on `on` (or one status), oldest first")
def worklist(session: SessionDep, principal: Reader, page: PageDep, on: OnDay = None, campus: str | None = None,
             officer: Annotated[str | None, Query(description="the assigned officer; `me` for yourself")] = None,
             unassigned: QueryFlag = False, cohort_id: uuid.UUID | None = None,
             status: FollowupStatus | None = None) -> Page[FollowupOut]:
    if officer == "me":
        officer = principal.sub
    items, total = graduates.worklist(session, principal=principal, page=page, on=on or date.today(), campus=campus,
                                      officer=officer, cohort_id=cohort_id, status=status, unassigned=unassigned)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/followups/{followup_id}", response_model=FollowupOut, tags=["followups"])
def get_followup(followup_id: uuid.UUID, session: SessionDep, principal: Reader, on: OnDay = None) -> FollowupOut:
    return graduates.get_followup(session, principal=principal, followup_id=followup_id, on=on or date.today())


@router.post("/followups/{followup_id}/contacts", response_model=ContactOut, status_code=201, tags=["followups"],
             summary="Log a contact attempt: when, channel, result")
def log_contact(followup_id: uuid.UUID, body: ContactIn, session: SessionDep, principal: Writer) -> ContactOut:
    return graduates.log_contact(session, principal=principal, followup_id=followup_id, body=body)


@router.get("/followups/{followup_id}/contacts", response_model=list[ContactOut], tags=["followups"])
def list_contacts(followup_id: uuid.UUID, session: SessionDep, principal: Reader) -> list[ContactOut]:
    return graduates.list_contacts(session, principal=principal, followup_id=followup_id)


# -- outcomes ---------------------------------------------------------------------------
@router.post("/outcomes", response_model=OutcomeOut, status_code=201, tags=["outcomes"],
             summary="Record a dated outcome; open follow-ups whose window has opened are closed; "
                     "outcome.recorded goes out")
def record_outcome(body: OutcomeIn, session: SessionDep, principal: Writer) -> OutcomeOut:
    return graduates.record_outcome(session, principal=principal, body=body)


@router.get("/outcomes", response_model=Page[OutcomeOut], tags=["outcomes"])
def list_outcomes(session: SessionDep, principal: Reader, page: PageDep, graduate_id: uuid.UUID | None = None,
                  campus: str | None = None, category: Category | None = None) -> Page[OutcomeOut]:
    items, total = graduates.list_outcomes(session, principal=principal, page=page, graduate_id=graduate_id,
                                           campus=campus, category=category)
    return Page(items=[graduates.outcome_out(o) for o in items], total=total, limit=page.limit, offset=page.offset)


# -- employers and postings -------------------------------------------------------------
@router.post("/employers", response_model=EmployerOut, status_code=201, tags=["employers"])
def create_employer(body: EmployerIn, session: SessionDep, principal: Writer, settings: SettingsDep) -> EmployerOut:
    return EmployerOut.model_validate(internships.create_employer(session, principal=principal, settings=settings,
                                                                  body=body), from_attributes=True)


@router.get("/employers", response_model=Page[EmployerOut], tags=["employers"])
def list_employers(session: SessionDep, principal: Reader, page: PageDep,
                   campus: str | None = None) -> Page[EmployerOut]:
    items, total = internships.list_employers(session, principal=principal, page=page, campus=campus)
    return Page(items=[EmployerOut.model_validate(e, from_attributes=True) for e in items], total=total,
                limit=page.limit, offset=page.offset)


@router.get("/employers/{employer_id}", response_model=EmployerOut, tags=["employers"])
def get_employer(employer_id: uuid.UUID, session: SessionDep, principal: Reader) -> EmployerOut:
    return EmployerOut.model_validate(internships.load_employer(session, principal, employer_id), from_attributes=True)


@router.post("/postings", response_model=PostingOut, status_code=201, tags=["employers"])
def create_posting(body: PostingIn, session: SessionDep, principal: Writer, settings: SettingsDep) -> PostingOut:
    return internships.posting_out(internships.create_posting(session, principal=principal, settings=settings,
                                                              body=body), settings)


@router.get("/postings", response_model=Page[PostingOut], tags=["employers"])
def list_postings(session: SessionDep, principal: Reader, page: PageDep, settings: SettingsDep,
                  campus: str | None = None, employer_id: uuid.UUID | None = None,
                  status: Literal["open", "closed"] | None = None) -> Page[PostingOut]:
    items, total = internships.list_postings(session, principal=principal, page=page, campus=campus,
                                             employer_id=employer_id, status=status)
    return Page(items=[internships.posting_out(p, settings) for p in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/postings/{posting_id}", response_model=PostingOut, tags=["employers"])
def get_posting(posting_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep) -> PostingOut:
    return internships.posting_out(internships.load_posting(session, principal, posting_id), settings)


@router.get("/postings/{posting_id}/matches", response_model=list[MatchOut], tags=["internships"],
            summary="Graduates still looking, ranked by the posting's qualifications they hold or trained for")
def matches(posting_id: uuid.UUID, session: SessionDep, principal: Reader,
            limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[MatchOut]:
    return internships.matches(session, principal=principal, posting_id=posting_id, limit=limit)


# -- internships and incentives -------------------------------------------------------------
@router.post("/internships", response_model=InternshipOut, status_code=201, tags=["internships"],
             summary="Place a graduate in a 3-month internship paid at the living wage (Idempotency-Key accepted)")
def start_internship(body: InternshipIn, session: SessionDep, principal: Writer, settings: SettingsDep,
                     idem: IdempotencyDep) -> InternshipOut:
    return internships.start_internship(session, principal=principal, settings=settings, body=body, idem=idem)


@router.get("/internships", response_model=Page[InternshipOut], tags=["internships"])
def list_internships(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None,
                     status: Literal["active", "completed", "converted", "cancelled"] | None = None,
                     graduate_id: uuid.UUID | None = None) -> Page[InternshipOut]:
    items, total = internships.list_internships(session, principal=principal, page=page, campus=campus,
                                                status=status, graduate_id=graduate_id)
    return Page(items=[internships.internship_out(i) for i in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/internships/{internship_id}", response_model=InternshipOut, tags=["internships"])
def get_internship(internship_id: uuid.UUID, session: SessionDep, principal: Reader) -> InternshipOut:
    return internships.get_internship(session, principal=principal, internship_id=internship_id)


@router.post("/internships/{internship_id}/convert", response_model=InternshipOut, tags=["internships"],
             summary="Permanent hire: the employer's incentive falls due, once; incentive.due goes out "
                     "(send an Idempotency-Key to retry safely)")
def convert(internship_id: uuid.UUID, body: ConvertIn, session: SessionDep, principal: Writer,
            settings: SettingsDep, idem: IdempotencyDep) -> InternshipOut:
    return internships.convert(session, principal=principal, settings=settings, internship_id=internship_id,
                               body=body, idem=idem)


@router.get("/incentives", response_model=Page[IncentiveOut], tags=["internships"])
def list_incentives(session: SessionDep, principal: Reader, page: PageDep,
                    campus: str | None = None) -> Page[IncentiveOut]:
    items, total = internships.list_incentives(session, principal=principal, page=page, campus=campus)
    return Page(items=[IncentiveOut.model_validate(i, from_attributes=True) for i in items], total=total,
                limit=page.limit, offset=page.offset)


# -- reports ------------------------------------------------------------------------------
def _report(session: SessionDep, principal: Reader, as_of: OnDay = None, campus: str | None = None,
            cohort_id: uuid.UUID | None = None, programme_code: str | None = None,
            completed_from: OnDay = None, completed_to: OnDay = None,
            group_by: GroupBy | None = None) -> ReportOut:
    return reports.build(session, principal=principal, as_of=as_of or date.today(), campus=campus,
                         cohort_id=cohort_id, programme_code=programme_code, completed_from=completed_from,
                         completed_to=completed_to, group_by=group_by)


ReportDep = Annotated[ReportOut, Depends(_report)]


@router.get("/reports/employment", response_model=ReportOut, tags=["reports"],
            summary="Employment rate now, at 6 and 12 months, median wage, certificates and WIOA equivalents, "
                    "each with numerator and denominator; per campus, programme or cohort")
def employment_report(report: ReportDep) -> ReportOut:
    return report


@router.get("/reports/employment.xlsx", tags=["reports"], response_class=Response,
            responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the same report as a workbook"}})
def employment_report_xlsx(report: ReportDep) -> Response:
    return Response(reports.to_xlsx(report), media_type=XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="employment-{report.as_of}.xlsx"'})
