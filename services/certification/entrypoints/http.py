"""Certification's HTTP API: each view passes its unit of work (and clock, policy) to one use case and returns
its answer; the use case opens, commits and closes the work."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from services.certification.adapters.repository import CertificationRepository
from services.certification.adapters.vault import AccountCipher
from services.certification.domain.claims import ClaimPolicy
from services.certification.schemas import (
    AccountIn,
    AccountOut,
    BatchPayIn,
    ClaimIn,
    ClaimOut,
    ImportReport,
    PayoutBatchOut,
    PayoutOut,
    QualificationIn,
    QualificationOut,
    RejectIn,
    ResultIn,
    ResultOut,
    RotationOut,
    WindowOut,
)
from services.certification.service_layer import accounts, catalogue, claims, results, windows
from services.certification.service_layer.policy import claim_policy
from shared.auth import Principal, PrincipalDep, require_roles
from shared.db import ReleasingRoute
from shared.idempotency import IdempotencyDep
from shared.inputs import clean_parameters
from shared.pagination import Page, PageDep
from shared.problems import Problem
from shared.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from shared.unit_of_work import ClockDep, UnitOfWork, get_unit_of_work

Reader = Annotated[Principal, Depends(require_roles("finance", "auditor", "admissions", "instructor", "placement"))]
Finance = Annotated[Principal, Depends(require_roles("finance"))]
FinanceOrTrainee = Annotated[Principal, Depends(require_roles("finance", "auditor", "trainee"))]
Claimant = Annotated[Principal, Depends(require_roles("finance", "trainee"))]
ClaimStatus = Literal["submitted", "approved", "rejected", "paid"]


async def _policy(request: Request) -> ClaimPolicy:
    """The policy of the app's settings, built on the first request that needs it (the settings never change)."""
    state = request.app.state
    policy = getattr(state, "claim_policy", None)
    if policy is None or policy[0] is not state.settings:
        policy = state.claim_policy = (state.settings, claim_policy(state.settings))
    return policy[1]


PolicyDep = Annotated[ClaimPolicy, Depends(_policy)]


async def _cipher(request: Request) -> AccountCipher:
    """The account numbers' cipher, built from the settings' keys on the first request that needs it."""
    state = request.app.state
    cipher = getattr(state, "account_cipher", None)
    if cipher is None or cipher[0] is not state.settings:
        cipher = state.account_cipher = (state.settings, AccountCipher(state.settings.account_key_values()))
    return cipher[1]


CipherDep = Annotated[AccountCipher, Depends(_cipher)]
FinanceReader = Annotated[Principal, Depends(require_roles("finance", "auditor"))]
Operator = Annotated[Principal, Depends(require_roles("campus_admin"))]
# The unit of work of the request's use case, whose repository is certification's (``UnitOfWorkDep``, typed).
Uow = Annotated[UnitOfWork[CertificationRepository], Depends(get_unit_of_work)]


class _QualificationCode(Convertor[str]):
    """A qualification code in a path: any segment but ``import``, which is the importer's path (POST only), so
    GET or PUT /qualifications/import is a 405 naming POST, as the OpenAPI document says, not a qualification."""

    regex = r"(?!import$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("qualification_code", _QualificationCode())
router = APIRouter(route_class=ReleasingRoute, dependencies=[Depends(clean_parameters)])


# -- qualifications -----------------------------------------------------------------
@router.put(
    "/qualifications/{code:qualification_code}",
    response_model=QualificationOut,
    tags=["qualifications"],
    summary="Create or replace a qualification (grade, standard fee per stage, linked programmes)",
)
def put_qualification(code: str, body: QualificationIn, uow: Uow, principal: Finance) -> QualificationOut:
    if code != body.code:
        raise Problem(422, "validation-error", "The request is not valid", "The path code and body code differ.")
    return catalogue.upsert_qualification(uow, principal=principal, body=body)


@router.get("/qualifications", response_model=Page[QualificationOut], tags=["qualifications"])
def list_qualifications(
    uow: Uow, principal: PrincipalDep, page: PageDep, grade: str | None = None, programme_code: str | None = None
) -> Page[QualificationOut]:
    return catalogue.list_qualifications(
        uow, principal=principal, page=page, grade=grade, programme_code=programme_code
    )


@router.get("/qualifications/{code:qualification_code}", response_model=QualificationOut, tags=["qualifications"])
def get_qualification(code: str, uow: Uow, principal: PrincipalDep) -> QualificationOut:
    return catalogue.get_qualification(uow, principal=principal, code=code)


@router.post(
    "/qualifications/import",
    response_model=ImportReport,
    tags=["qualifications"],
    summary="Import the catalogue from CSV or XLSX (blank fee = to be set by the centre)",
)
def import_qualifications(
    uow: Uow, principal: Finance, file: Annotated[UploadFile, File(description=".csv or .xlsx")]
) -> ImportReport:
    return catalogue.import_qualifications(
        uow, principal=principal, content=file.file.read(), filename=file.filename or ""
    )


# -- trainees' claim windows ------------------------------------------------------------
@router.get(
    "/trainees/{trainee_id}/windows",
    response_model=list[WindowOut],
    tags=["claims"],
    summary="The trainee's claim windows, from enrollment and completion events",
)
def trainee_windows(trainee_id: uuid.UUID, uow: Uow, principal: FinanceOrTrainee, policy: PolicyDep) -> list[WindowOut]:
    return windows.windows_of(uow, principal=principal, trainee_id=trainee_id, policy=policy)


# -- claims ---------------------------------------------------------------------------
@router.post(
    "/claims",
    response_model=ClaimOut,
    status_code=201,
    tags=["claims"],
    summary="Submit a claim; a refused claim is a 422 naming every failed rule",
)
def submit_claim(body: ClaimIn, uow: Uow, principal: Claimant, clock: ClockDep, policy: PolicyDep) -> ClaimOut:
    return claims.submit(uow, principal=principal, clock=clock, policy=policy, body=body)


@router.get("/claims", response_model=Page[ClaimOut], tags=["claims"])
def list_claims(
    uow: Uow,
    principal: FinanceOrTrainee,
    page: PageDep,
    campus: str | None = None,
    cohort_id: uuid.UUID | None = None,
    trainee_id: uuid.UUID | None = None,
    status: ClaimStatus | None = None,
) -> Page[ClaimOut]:
    return claims.list_claims(
        uow, principal=principal, page=page, campus=campus, cohort_id=cohort_id, trainee_id=trainee_id, status=status
    )


@router.get("/claims/{claim_id}", response_model=ClaimOut, tags=["claims"])
def get_claim(claim_id: uuid.UUID, uow: Uow, principal: FinanceOrTrainee) -> ClaimOut:
    return claims.get_claim(uow, principal=principal, claim_id=claim_id)


@router.post(
    "/claims/{claim_id}/approve", response_model=ClaimOut, tags=["review"], summary="Approve; claim.decided goes out"
)
def approve_claim(claim_id: uuid.UUID, uow: Uow, principal: Finance, policy: PolicyDep) -> ClaimOut:
    return claims.approve(uow, principal=principal, policy=policy, claim_id=claim_id)


@router.post(
    "/claims/{claim_id}/reject",
    response_model=ClaimOut,
    tags=["review"],
    summary="Reject with reasons; claim.decided goes out",
)
def reject_claim(claim_id: uuid.UUID, body: RejectIn, uow: Uow, principal: Finance) -> ClaimOut:
    return claims.reject(uow, principal=principal, claim_id=claim_id, body=body)


@router.post(
    "/claims/{claim_id}/pay",
    response_model=PayoutOut,
    tags=["payment"],
    summary="Pay an approved claim once (send an Idempotency-Key to retry safely); claim.paid goes out. "
    "A paid claim is a 409 naming its payout.",
)
def pay_claim(claim_id: uuid.UUID, uow: Uow, principal: Finance, idem: IdempotencyDep, clock: ClockDep) -> PayoutOut:
    return claims.pay(uow, principal=principal, clock=clock, claim_id=claim_id, idem=idem)


# -- payouts --------------------------------------------------------------------------
@router.post(
    "/payouts",
    response_model=PayoutBatchOut,
    status_code=201,
    tags=["payment"],
    summary="Pay approved claims of a campus as one batch (Idempotency-Key); one claim.paid per claim",
)
def pay_batch(body: BatchPayIn, uow: Uow, principal: Finance, idem: IdempotencyDep, clock: ClockDep) -> PayoutBatchOut:
    return claims.pay_batch(uow, principal=principal, clock=clock, body=body, idem=idem)


@router.get("/payouts", response_model=Page[PayoutBatchOut], tags=["payment"])
def list_batches(uow: Uow, principal: Finance, page: PageDep, campus: str | None = None) -> Page[PayoutBatchOut]:
    return claims.list_batches(uow, principal=principal, page=page, campus=campus)


@router.get("/payouts/{batch_id}", response_model=PayoutBatchOut, tags=["payment"])
def get_batch(batch_id: uuid.UUID, uow: Uow, principal: Finance) -> PayoutBatchOut:
    return claims.get_batch(uow, principal=principal, batch_id=batch_id)


@router.get(
    "/payouts/{batch_id}/export",
    tags=["payment"],
    response_class=Response,
    summary="The payout batch as a bank file: CSV (UTF-8 with BOM) or XLSX, with each payee's account holder, bank "
    "and full account number (the only place the number is shown in full); a payee without an account has empty "
    "account cells and the batch's warnings name them",
    responses={200: {"content": {CSV_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}}}},
)
def export_batch(
    batch_id: uuid.UUID,
    uow: Uow,
    principal: Finance,
    cipher: CipherDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    content = claims.export_batch(uow, principal=principal, cipher=cipher, batch_id=batch_id, fmt=format)
    media = XLSX_MEDIA_TYPE if format == "xlsx" else CSV_MEDIA_TYPE
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="payout-{batch_id}.{format}"'}
    )


# -- payout accounts -----------------------------------------------------------------------
@router.get(
    "/accounts",
    response_model=Page[AccountOut],
    tags=["accounts"],
    summary="Payout accounts, numbers masked (****4567)",
)
def list_accounts(uow: Uow, principal: FinanceReader, page: PageDep, campus: str | None = None) -> Page[AccountOut]:
    return accounts.list_accounts(uow, principal=principal, page=page, campus=campus)


@router.post(
    "/accounts/import",
    response_model=ImportReport,
    tags=["accounts"],
    summary="Import payout accounts from CSV or XLSX (trainee_id, holder, bank, account_number), with a per-row report",
)
def import_accounts(
    uow: Uow,
    principal: Finance,
    cipher: CipherDep,
    file: Annotated[UploadFile, File(description=".csv or .xlsx")],
) -> ImportReport:
    return accounts.import_accounts(
        uow, principal=principal, cipher=cipher, content=file.file.read(), filename=file.filename or ""
    )


@router.post(
    "/accounts/rotate",
    response_model=RotationOut,
    tags=["accounts"],
    summary="Re-encrypt up to `limit` stored account numbers under the newest key (operators; call until "
    "`remaining` is 0, or run `trainingops accounts rotate`)",
)
def rotate_account_keys(
    uow: Uow, principal: Operator, cipher: CipherDep, limit: Annotated[int, Query(ge=1, le=1000)] = 500
) -> RotationOut:
    return accounts.rotate(uow, cipher=cipher, limit=limit)


@router.get(
    "/trainees/{trainee_id}/account",
    response_model=AccountOut,
    tags=["accounts"],
    summary="A trainee's payout account, the number masked",
)
def get_account(trainee_id: uuid.UUID, uow: Uow, principal: FinanceReader) -> AccountOut:
    return accounts.get_account(uow, principal=principal, trainee_id=trainee_id)


@router.put(
    "/trainees/{trainee_id}/account",
    response_model=AccountOut,
    tags=["accounts"],
    summary="Enter or replace a trainee's payout account (holder, bank code or name, account number); the number "
    "is stored encrypted and answered masked",
)
def put_account(trainee_id: uuid.UUID, body: AccountIn, uow: Uow, principal: Finance, cipher: CipherDep) -> AccountOut:
    return accounts.put_account(uow, principal=principal, cipher=cipher, trainee_id=trainee_id, body=body)


# -- results ---------------------------------------------------------------------------
@router.post(
    "/results",
    response_model=ResultOut,
    status_code=201,
    tags=["results"],
    summary="Record a passed exam as a qualification obtained; qualification.obtained goes out",
)
def record_result(body: ResultIn, uow: Uow, principal: Finance, clock: ClockDep) -> ResultOut:
    return results.record(uow, principal=principal, clock=clock, body=body)


@router.post(
    "/results/import",
    response_model=ImportReport,
    tags=["results"],
    summary="Bulk import of passed exams from CSV or XLSX (trainee_id, qualification_code, date)",
)
def import_results(
    uow: Uow, principal: Finance, clock: ClockDep, file: Annotated[UploadFile, File(description=".csv or .xlsx")]
) -> ImportReport:
    return results.import_results(
        uow, principal=principal, clock=clock, content=file.file.read(), filename=file.filename or ""
    )


@router.get("/results", response_model=Page[ResultOut], tags=["results"])
def list_results(
    uow: Uow,
    principal: Reader,
    page: PageDep,
    campus: str | None = None,
    cohort_id: uuid.UUID | None = None,
    trainee_id: uuid.UUID | None = None,
) -> Page[ResultOut]:
    return results.list_results(
        uow, principal=principal, page=page, campus=campus, cohort_id=cohort_id, trainee_id=trainee_id
    )
