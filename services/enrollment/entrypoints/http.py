"""Enrollment's HTTP API: thin views over the use cases (each opens and commits its own unit of work)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from services.enrollment.adapters.repository import EnrollmentRepository
from services.enrollment.domain.policy import AdmissionsPolicy
from services.enrollment.schemas import (
    ApplicantIn,
    ApplicantOut,
    ApplicationIn,
    ApplicationOut,
    CampusIn,
    CampusOut,
    CohortIn,
    CohortOut,
    CohortStats,
    EnrollmentOut,
    ImportReport,
    ProgrammeIn,
    ProgrammeOut,
    RejectIn,
    ScoreIn,
    SelectionOut,
    SessionOut,
    WithdrawIn,
)
from services.enrollment.service_layer import (
    applicants,
    applications,
    catalogue,
    enrollments,
    imports,
    seats,
    selection,
)
from services.enrollment.service_layer.policy import admissions_policy
from shared.auth import Principal, require_roles
from shared.db import ReleasingRoute
from shared.idempotency import IdempotencyDep
from shared.inputs import Day, clean_parameters
from shared.pagination import Page, PageDep
from shared.unit_of_work import ClockDep, UnitOfWork, get_unit_of_work

Reader = Annotated[Principal, Depends(require_roles("admissions", "auditor", "instructor", "finance", "placement"))]
Writer = Annotated[Principal, Depends(require_roles("admissions"))]
ApplicationStatus = Literal[
    "submitted", "ineligible", "selected", "waitlisted", "accepted", "declined", "rejected", "withdrawn"
]


async def _policy(request: Request) -> AdmissionsPolicy:
    return admissions_policy(request.app.state.settings)


PolicyDep = Annotated[AdmissionsPolicy, Depends(_policy)]
Uow = Annotated[UnitOfWork[EnrollmentRepository], Depends(get_unit_of_work)]  # UnitOfWorkDep, typed
router = APIRouter(route_class=ReleasingRoute, dependencies=[Depends(clean_parameters)])


# -- campuses and programmes --------------------------------------------------
@router.post("/campuses", response_model=CampusOut, status_code=201, tags=["programmes"])
def create_campus(body: CampusIn, uow: Uow, principal: Writer) -> CampusOut:
    return catalogue.create_campus(uow, principal=principal, body=body)


@router.get("/campuses", response_model=list[CampusOut], tags=["programmes"])
def list_campuses(uow: Uow, principal: Reader) -> list[CampusOut]:
    return catalogue.list_campuses(uow, principal=principal)


@router.post("/programmes", response_model=ProgrammeOut, status_code=201, tags=["programmes"])
def create_programme(body: ProgrammeIn, uow: Uow, principal: Writer) -> ProgrammeOut:
    return catalogue.create_programme(uow, principal=principal, body=body)


@router.get("/programmes", response_model=Page[ProgrammeOut], tags=["programmes"])
def list_programmes(
    uow: Uow, principal: Reader, page: PageDep, campus: str | None = None, track: str | None = None
) -> Page[ProgrammeOut]:
    return catalogue.list_programmes(uow, principal=principal, page=page, campus=campus, track=track)


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut, tags=["programmes"])
def get_programme(programme_id: uuid.UUID, uow: Uow, principal: Reader) -> ProgrammeOut:
    return catalogue.get_programme(uow, principal=principal, programme_id=programme_id)


# -- cohorts ------------------------------------------------------------------
@router.post(
    "/cohorts",
    response_model=CohortOut,
    status_code=201,
    tags=["cohorts"],
    summary="Publish a cohort: its sessions come from the timetable; cohort.published goes out",
)
def create_cohort(body: CohortIn, uow: Uow, principal: Writer) -> CohortOut:
    return catalogue.create_cohort(uow, principal=principal, body=body)


@router.get("/cohorts", response_model=Page[CohortOut], tags=["cohorts"])
def list_cohorts(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    campus: str | None = None,
    programme_id: uuid.UUID | None = None,
    open_on: Annotated[Day | None, Query(description="application window open on this day")] = None,
) -> Page[CohortOut]:
    return catalogue.list_cohorts(
        uow, principal=principal, page=page, campus=campus, programme_id=programme_id, open_on=open_on
    )


@router.get("/cohorts/{cohort_id}", response_model=CohortOut, tags=["cohorts"])
def get_cohort(cohort_id: uuid.UUID, uow: Uow, principal: Reader) -> CohortOut:
    return catalogue.get_cohort(uow, principal=principal, cohort_id=cohort_id)


@router.get("/cohorts/{cohort_id}/sessions", response_model=list[SessionOut], tags=["cohorts"])
def cohort_sessions(cohort_id: uuid.UUID, uow: Uow, principal: Reader) -> list[SessionOut]:
    return catalogue.sessions_of(uow, principal=principal, cohort_id=cohort_id)


@router.get(
    "/cohorts/{cohort_id}/stats",
    response_model=CohortStats,
    tags=["cohorts"],
    summary="Applications, competition ratio and seats",
)
def cohort_stats(cohort_id: uuid.UUID, uow: Uow, principal: Reader, policy: PolicyDep) -> CohortStats:
    return catalogue.cohort_stats(uow, principal=principal, policy=policy, cohort_id=cohort_id)


@router.post(
    "/cohorts/{cohort_id}/selection",
    response_model=SelectionOut,
    tags=["selection"],
    summary="Run selection: priority quota, then score and application time; the rest are waitlisted",
)
def run_selection(cohort_id: uuid.UUID, uow: Uow, principal: Writer, policy: PolicyDep) -> SelectionOut:
    return selection.run_selection(uow, principal=principal, policy=policy, cohort_id=cohort_id)


# -- applicants and applications ---------------------------------------------
@router.post("/applicants", response_model=ApplicantOut, status_code=201, tags=["applications"])
def create_applicant(body: ApplicantIn, uow: Uow, principal: Writer, clock: ClockDep) -> ApplicantOut:
    return applicants.create_applicant(uow, principal=principal, clock=clock, body=body)


@router.get("/applicants", response_model=Page[ApplicantOut], tags=["applications"])
def list_applicants(uow: Uow, principal: Reader, page: PageDep, campus: str | None = None) -> Page[ApplicantOut]:
    return applicants.list_applicants(uow, principal=principal, page=page, campus=campus)


@router.get("/applicants/{applicant_id}", response_model=ApplicantOut, tags=["applications"])
def get_applicant(applicant_id: uuid.UUID, uow: Uow, principal: Reader) -> ApplicantOut:
    return applicants.get_applicant(uow, principal=principal, applicant_id=applicant_id)


@router.post(
    "/applications",
    response_model=ApplicationOut,
    status_code=201,
    tags=["applications"],
    summary="Apply; an ineligible application is kept with every failed rule in `reasons`",
)
def submit_application(
    body: ApplicationIn, uow: Uow, principal: Writer, policy: PolicyDep, clock: ClockDep
) -> ApplicationOut:
    return applications.submit_application(uow, principal=principal, policy=policy, clock=clock, body=body)


@router.post(
    "/applications/import",
    response_model=ImportReport,
    tags=["applications"],
    summary="Bulk import from CSV or XLSX, with a report of every row",
)
def import_applications(
    uow: Uow,
    principal: Writer,
    policy: PolicyDep,
    clock: ClockDep,
    cohort_id: Annotated[uuid.UUID, Form()],
    file: Annotated[UploadFile, File(description=".csv or .xlsx")],
) -> ImportReport:
    content = file.file.read()
    return imports.import_applications(
        uow,
        principal=principal,
        policy=policy,
        clock=clock,
        cohort_id=cohort_id,
        content=content,
        filename=file.filename or "",
    )


@router.get("/applications", response_model=Page[ApplicationOut], tags=["applications"])
def list_applications(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    campus: str | None = None,
    cohort_id: uuid.UUID | None = None,
    status: ApplicationStatus | None = None,
) -> Page[ApplicationOut]:
    return applications.list_applications(
        uow, principal=principal, page=page, campus=campus, cohort_id=cohort_id, status=status
    )


@router.get("/applications/{application_id:uuid}", response_model=ApplicationOut, tags=["applications"])
def get_application(application_id: uuid.UUID, uow: Uow, principal: Reader) -> ApplicationOut:
    return applications.get_application(uow, principal=principal, application_id=application_id)


@router.put("/applications/{application_id}/score", response_model=ApplicationOut, tags=["applications"])
def set_score(application_id: uuid.UUID, body: ScoreIn, uow: Uow, principal: Writer) -> ApplicationOut:
    return applications.set_score(uow, principal=principal, application_id=application_id, score=body.score)


@router.post("/applications/{application_id}/reject", response_model=ApplicationOut, tags=["applications"])
def reject(application_id: uuid.UUID, body: RejectIn, uow: Uow, principal: Writer) -> ApplicationOut:
    return applications.reject(uow, principal=principal, application_id=application_id, reason=body.reason)


@router.post(
    "/applications/{application_id}/accept",
    response_model=ApplicationOut,
    tags=["seats"],
    summary="Take the offered seat (send an Idempotency-Key to retry safely); trainee.enrolled goes out",
)
def accept(
    application_id: uuid.UUID, uow: Uow, principal: Writer, policy: PolicyDep, clock: ClockDep, idem: IdempotencyDep
) -> ApplicationOut:
    return seats.accept(uow, principal=principal, policy=policy, clock=clock, application_id=application_id, idem=idem)


@router.post(
    "/applications/{application_id}/decline",
    response_model=ApplicationOut,
    tags=["seats"],
    summary="Decline the offered seat; the next on the waitlist is offered it",
)
def decline(application_id: uuid.UUID, uow: Uow, principal: Writer) -> ApplicationOut:
    return seats.decline(uow, principal=principal, application_id=application_id)


# -- enrollments --------------------------------------------------------------
@router.get("/enrollments", response_model=Page[EnrollmentOut], tags=["enrollments"])
def list_enrollments(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    campus: str | None = None,
    cohort_id: uuid.UUID | None = None,
    trainee_id: uuid.UUID | None = None,
    status: Literal["enrolled", "withdrawn", "completed", "not_completed"] | None = None,
) -> Page[EnrollmentOut]:
    return enrollments.list_enrollments(
        uow, principal=principal, page=page, campus=campus, cohort_id=cohort_id, trainee_id=trainee_id, status=status
    )


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut, tags=["enrollments"])
def get_enrollment(enrollment_id: uuid.UUID, uow: Uow, principal: Reader) -> EnrollmentOut:
    return enrollments.get_enrollment(uow, principal=principal, enrollment_id=enrollment_id)


@router.post(
    "/enrollments/{enrollment_id}/withdraw",
    response_model=EnrollmentOut,
    tags=["enrollments"],
    summary="Withdraw; before the start the seat goes to the next on the waitlist",
)
def withdraw(enrollment_id: uuid.UUID, body: WithdrawIn, uow: Uow, principal: Writer, clock: ClockDep) -> EnrollmentOut:
    return enrollments.withdraw(uow, principal=principal, clock=clock, enrollment_id=enrollment_id, body=body)
