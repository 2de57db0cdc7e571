"""Enrollment's HTTP API: thin views over the service layer."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from services.enrollment.schemas import (ApplicantIn, ApplicantOut, ApplicationIn, ApplicationOut, CampusIn,
                                         CampusOut, CohortIn, CohortOut, CohortStats, EnrollmentOut, ImportReport,
                                         ProgrammeIn, ProgrammeOut, RejectIn, ScoreIn, SelectionOut, SessionOut,
                                         WithdrawIn)
from services.enrollment.service_layer import admissions, catalogue, imports
from services.enrollment.settings import Settings
from shared.auth import Principal, require_roles
from shared.db import ReleasingRoute, SessionDep
from shared.idempotency import IdempotencyDep
from shared.inputs import Day, clean_parameters
from shared.pagination import Page, PageDep

Reader = Annotated[Principal, Depends(require_roles("admissions", "auditor", "instructor", "finance", "placement"))]
Writer = Annotated[Principal, Depends(require_roles("admissions"))]
ApplicationStatus = Literal["submitted", "ineligible", "selected", "waitlisted", "accepted", "declined", "rejected",
                            "withdrawn"]


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(_settings)]
router = APIRouter(route_class=ReleasingRoute, dependencies=[Depends(clean_parameters)])


# -- campuses and programmes --------------------------------------------------
@router.post("/campuses", response_model=CampusOut, status_code=201, tags=["programmes"])
def create_campus(body: CampusIn, session: SessionDep, principal: Writer) -> CampusOut:
    return CampusOut.model_validate(catalogue.create_campus(session, principal=principal, body=body),
                                    from_attributes=True)


@router.get("/campuses", response_model=list[CampusOut], tags=["programmes"])
def list_campuses(session: SessionDep, principal: Reader) -> list[CampusOut]:
    return [CampusOut.model_validate(c, from_attributes=True)
            for c in catalogue.list_campuses(session, principal=principal)]


@router.post("/programmes", response_model=ProgrammeOut, status_code=201, tags=["programmes"])
def create_programme(body: ProgrammeIn, session: SessionDep, principal: Writer) -> ProgrammeOut:
    return catalogue.programme_out(catalogue.create_programme(session, principal=principal, body=body))


@router.get("/programmes", response_model=Page[ProgrammeOut], tags=["programmes"])
def list_programmes(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None,
                    track: str | None = None) -> Page[ProgrammeOut]:
    items, total = catalogue.list_programmes(session, principal=principal, page=page, campus=campus, track=track)
    return Page(items=[catalogue.programme_out(p) for p in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut, tags=["programmes"])
def get_programme(programme_id: uuid.UUID, session: SessionDep, principal: Reader) -> ProgrammeOut:
    return catalogue.programme_out(catalogue.get_programme(session, principal=principal, programme_id=programme_id))


# -- cohorts ------------------------------------------------------------------
@router.post("/cohorts", response_model=CohortOut, status_code=201, tags=["cohorts"],
             summary="Publish a cohort: its sessions come from the timetable; cohort.published goes out")
def create_cohort(body: CohortIn, session: SessionDep, principal: Writer) -> CohortOut:
    return catalogue.cohort_out(*catalogue.create_cohort(session, principal=principal, body=body))


@router.get("/cohorts", response_model=Page[CohortOut], tags=["cohorts"])
def list_cohorts(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None,
                 programme_id: uuid.UUID | None = None,
                 open_on: Annotated[Day | None, Query(description="application window open on this day")] = None,
                 ) -> Page[CohortOut]:
    items, total = catalogue.list_cohorts(session, principal=principal, page=page, campus=campus,
                                          programme_id=programme_id, open_on=open_on)
    return Page(items=[catalogue.cohort_out(c, p) for c, p in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/cohorts/{cohort_id}", response_model=CohortOut, tags=["cohorts"])
def get_cohort(cohort_id: uuid.UUID, session: SessionDep, principal: Reader) -> CohortOut:
    return catalogue.cohort_out(*catalogue.get_cohort(session, principal=principal, cohort_id=cohort_id))


@router.get("/cohorts/{cohort_id}/sessions", response_model=list[SessionOut], tags=["cohorts"])
def cohort_sessions(cohort_id: uuid.UUID, session: SessionDep, principal: Reader) -> list[SessionOut]:
    return [SessionOut.model_validate(s) for s in catalogue.sessions_of(session, principal=principal,
                                                                         cohort_id=cohort_id)]


@router.get("/cohorts/{cohort_id}/stats", response_model=CohortStats, tags=["cohorts"],
            summary="Applications, competition ratio and seats")
def cohort_stats(cohort_id: uuid.UUID, session: SessionDep, principal: Reader, settings: SettingsDep) -> CohortStats:
    return catalogue.cohort_stats(session, principal=principal, cohort_id=cohort_id,
                                  quota_percent=settings.priority_quota_percent)


@router.post("/cohorts/{cohort_id}/selection", response_model=SelectionOut, tags=["selection"],
             summary="Run selection: priority quota, then score and application time; the rest are waitlisted")
def run_selection(cohort_id: uuid.UUID, session: SessionDep, principal: Writer,
                  settings: SettingsDep) -> SelectionOut:
    return admissions.run_selection(session, principal=principal, settings=settings, cohort_id=cohort_id)


# -- applicants and applications ---------------------------------------------
def _applicant_out(a) -> ApplicantOut:  # type: ignore[no-untyped-def]
    return ApplicantOut.model_validate(a, from_attributes=True)


@router.post("/applicants", response_model=ApplicantOut, status_code=201, tags=["applications"])
def create_applicant(body: ApplicantIn, session: SessionDep, principal: Writer) -> ApplicantOut:
    return _applicant_out(admissions.create_applicant(session, principal=principal, body=body))


@router.get("/applicants", response_model=Page[ApplicantOut], tags=["applications"])
def list_applicants(session: SessionDep, principal: Reader, page: PageDep,
                    campus: str | None = None) -> Page[ApplicantOut]:
    items, total = admissions.list_applicants(session, principal=principal, page=page, campus=campus)
    return Page(items=[_applicant_out(a) for a in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/applicants/{applicant_id}", response_model=ApplicantOut, tags=["applications"])
def get_applicant(applicant_id: uuid.UUID, session: SessionDep, principal: Reader) -> ApplicantOut:
    return _applicant_out(admissions.get_applicant(session, principal=principal, applicant_id=applicant_id))


@router.post("/applications", response_model=ApplicationOut, status_code=201, tags=["applications"],
             summary="Apply; an ineligible application is kept with every failed rule in `reasons`")
def submit_application(body: ApplicationIn, session: SessionDep, principal: Writer,
                       settings: SettingsDep) -> ApplicationOut:
    app = admissions.submit_application(session, principal=principal, settings=settings, body=body)
    session.commit()
    return admissions.application_out(app)


@router.post("/applications/import", response_model=ImportReport, tags=["applications"],
             summary="Bulk import from CSV or XLSX, with a report of every row")
def import_applications(session: SessionDep, principal: Writer, settings: SettingsDep,
                        cohort_id: Annotated[uuid.UUID, Form()],
                        file: Annotated[UploadFile, File(description=".csv or .xlsx")]) -> ImportReport:
    content = file.file.read()
    return imports.import_applications(session, principal=principal, settings=settings, cohort_id=cohort_id,
                                       content=content, filename=file.filename or "")


@router.get("/applications", response_model=Page[ApplicationOut], tags=["applications"])
def list_applications(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None,
                      cohort_id: uuid.UUID | None = None,
                      status: ApplicationStatus | None = None) -> Page[ApplicationOut]:
    items, total = admissions.list_applications(session, principal=principal, page=page, campus=campus,
                                                cohort_id=cohort_id, status=status)
    return Page(items=[admissions.application_out(a) for a in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/applications/{application_id:uuid}", response_model=ApplicationOut, tags=["applications"])
def get_application(application_id: uuid.UUID, session: SessionDep, principal: Reader) -> ApplicationOut:
    app = admissions.load_application(session, principal=principal, application_id=application_id)
    return admissions.application_out(app, admissions.enrollment_id_of(session, app.id))


@router.put("/applications/{application_id}/score", response_model=ApplicationOut, tags=["applications"])
def set_score(application_id: uuid.UUID, body: ScoreIn, session: SessionDep, principal: Writer) -> ApplicationOut:
    return admissions.application_out(admissions.set_score(session, principal=principal,
                                                           application_id=application_id, score=body.score))


@router.post("/applications/{application_id}/reject", response_model=ApplicationOut, tags=["applications"])
def reject(application_id: uuid.UUID, body: RejectIn, session: SessionDep, principal: Writer) -> ApplicationOut:
    return admissions.application_out(admissions.reject(session, principal=principal,
                                                        application_id=application_id, reason=body.reason))


@router.post("/applications/{application_id}/accept", response_model=ApplicationOut, tags=["seats"],
             summary="Take the offered seat (send an Idempotency-Key to retry safely); trainee.enrolled goes out")
def accept(application_id: uuid.UUID, session: SessionDep, principal: Writer, settings: SettingsDep,
           idem: IdempotencyDep) -> ApplicationOut:
    return admissions.accept(session, principal=principal, settings=settings, application_id=application_id,
                             idem=idem)


@router.post("/applications/{application_id}/decline", response_model=ApplicationOut, tags=["seats"],
             summary="Decline the offered seat; the next on the waitlist is offered it")
def decline(application_id: uuid.UUID, session: SessionDep, principal: Writer) -> ApplicationOut:
    return admissions.application_out(admissions.decline(session, principal=principal,
                                                         application_id=application_id))


# -- enrollments --------------------------------------------------------------
@router.get("/enrollments", response_model=Page[EnrollmentOut], tags=["enrollments"])
def list_enrollments(session: SessionDep, principal: Reader, page: PageDep, campus: str | None = None,
                     cohort_id: uuid.UUID | None = None, trainee_id: uuid.UUID | None = None,
                     status: Literal["enrolled", "withdrawn", "completed", "not_completed"] | None = None,
                     ) -> Page[EnrollmentOut]:
    items, total = admissions.list_enrollments(session, principal=principal, page=page, campus=campus,
                                               cohort_id=cohort_id, trainee_id=trainee_id, status=status)
    return Page(items=[admissions.enrollment_out(e) for e in items], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut, tags=["enrollments"])
def get_enrollment(enrollment_id: uuid.UUID, session: SessionDep, principal: Reader) -> EnrollmentOut:
    return admissions.enrollment_out(admissions.load_enrollment(session, principal=principal,
                                                                enrollment_id=enrollment_id))


@router.post("/enrollments/{enrollment_id}/withdraw", response_model=EnrollmentOut, tags=["enrollments"],
             summary="Withdraw; before the start the seat goes to the next on the waitlist")
def withdraw(enrollment_id: uuid.UUID, body: WithdrawIn, session: SessionDep, principal: Writer) -> EnrollmentOut:
    return admissions.enrollment_out(admissions.withdraw(session, principal=principal,
                                                         enrollment_id=enrollment_id, body=body))
