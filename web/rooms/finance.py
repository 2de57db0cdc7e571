"""Finance: the claims queue with every rule's outcome in words, review, payment once, payout batches and their
bank files, the qualification catalogue with its fees, and the certificates obtained (one by one or imported).

Everything comes from certification's public API. A claim in the queue passed every rule when it was submitted (a
refused claim is never stored); the queue says in words how each rule came out for it, from the claim itself, the
trainee's claim window and the trainee's other claims, so a reviewer sees what the rules saw.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web import formatting
from web.api import Api, ApiProblem, RuleError
from web.core import ApiDep, FormState, Room, User, UserDep, download, form_data, form_number, lang_of, render

router = APIRouter()
SERVICE = "certification"
STATUSES = ("submitted", "approved", "rejected", "paid")
GRADES = ("craftsman", "industrial_engineer", "engineer", "master")
STAGES = ("written", "practical")
LIVE = ("submitted", "approved", "paid")
# Reasons a reviewer gives when rejecting (the API takes any code matching [a-z0-9_.-]+).
REJECT_REASONS = ("evidence.unreadable", "evidence.mismatch", "exam.not-sat", "amount.mismatch", "other")
REJECT_ROWS = 3


def writes(user: User) -> bool:
    """Only finance (and the campus admin) changes anything; an auditor reads."""
    return bool(user.roles & {"finance", "campus_admin"})


def _seoul_day(stamp: object, tz: str) -> date | None:
    text = formatting.local_datetime(stamp, tz)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def rule_outcomes(
    claim: dict[str, Any], window: dict[str, Any] | None, siblings: list[dict[str, Any]], lang: str, tz: str
) -> list[dict[str, Any]]:
    """Each claim rule's outcome for this claim: window, deadline, duplicate, attempts, amount.

    ``window`` is the trainee's claim window of the claim's cohort as certification knows it now; ``siblings`` the
    trainee's claims (this one included). Returned as catalogue keys with their values, ``ok`` False when the rule
    would refuse the claim today (e.g. the trainee withdrew before the exam after the claim was submitted)."""
    krw = lambda v: formatting.krw(v, lang)  # noqa: E731
    exam = date.fromisoformat(claim["exam_date"])
    out: list[dict[str, Any]] = []
    # window
    if window is None:
        out.append({"rule": "window", "ok": False, "key": "finance.check.window-unknown", "values": {}})
    else:
        start = date.fromisoformat(window["start_date"]) if window.get("start_date") else None
        last = date.fromisoformat(window["last_exam_date"]) if window.get("last_exam_date") else None
        inside = (start is None or exam >= start) and (last is None or exam <= last)
        values = {
            "exam": exam.isoformat(),
            "start": start.isoformat() if start else "?",
            "last": last.isoformat() if last else "",
            "completion": window.get("completion_date") or "",
            "closed": window.get("closed_on") or "",
        }
        if start is not None and exam < start:
            key = "finance.check.window-before"
        elif window["status"] == "completed":
            key = "finance.check.window-completed" if inside else "finance.check.window-after-completion"
        elif window["status"] in ("withdrawn", "not_completed"):
            key = "finance.check.window-closed" if inside else "finance.check.window-after-close"
        else:
            key = "finance.check.window-enrolled"
        out.append({"rule": "window", "ok": inside, "key": key, "values": values})
    # deadline: how long after the exam the claim came
    submitted = _seoul_day(claim.get("submitted_at"), tz)
    days = (submitted - exam).days if submitted else None
    out.append(
        {
            "rule": "deadline",
            "ok": days is not None and days >= 0,
            "key": "finance.check.deadline-text",
            "values": {"days": days if days is not None else "?", "submitted": submitted or ""},
        }
    )
    # duplicate: another live claim of the same qualification, stage and exam date
    same = [
        c
        for c in siblings
        if c["id"] != claim["id"]
        and c["status"] in LIVE
        and c["qualification_code"] == claim["qualification_code"]
        and c["stage"] == claim["stage"]
    ]
    dupes = [c for c in same if c["exam_date"] == claim["exam_date"]]
    out.append(
        {
            "rule": "duplicate",
            "ok": not dupes,
            "key": "finance.check.duplicate-found" if dupes else "finance.check.duplicate-none",
            "values": {"count": len(dupes)},
        }
    )
    # attempts of this qualification and stage
    reimbursed = sum(1 for c in same if c["status"] in ("approved", "paid"))
    out.append(
        {
            "rule": "attempts",
            "ok": True,
            "key": "finance.check.attempts-text",
            "values": {"live": len(same) + (1 if claim["status"] in LIVE else 0), "reimbursed": reimbursed},
        }
    )
    # amount: the lesser of what was paid and the standard fee
    paid, fee = claim["amount_paid"], claim["standard_fee"]
    lesser = "equal" if paid == fee else "paid" if paid < fee else "fee"
    out.append(
        {
            "rule": "amount",
            "ok": claim["amount"] == min(claim["amount_paid"], claim["standard_fee"]),
            "key": f"finance.check.amount-{lesser}",
            "values": {
                "paid": krw(claim["amount_paid"]),
                "fee": krw(claim["standard_fee"]),
                "amount": krw(claim["amount"]),
            },
        }
    )
    return out


async def _trainee_context(api: Api, trainee_ids: set[str]) -> tuple[dict[str, list], dict[str, list]]:
    """Each trainee's windows and claims, fetched together."""
    ids = sorted(trainee_ids)
    windows, claims = await asyncio.gather(
        asyncio.gather(*(api.get(SERVICE, f"trainees/{t}/windows") for t in ids)),
        asyncio.gather(*(api.get(SERVICE, "claims", trainee_id=t, limit=500) for t in ids)),
    )
    return dict(zip(ids, windows)), {t: page["items"] for t, page in zip(ids, claims)}


async def with_outcomes(request: Request, api: Api, claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    windows, siblings = await _trainee_context(api, {c["trainee_id"] for c in claims})
    lang, tz = lang_of(request), request.app.state.settings.timezone
    rows = []
    for c in claims:
        window = next((w for w in windows.get(c["trainee_id"], []) if w["cohort_id"] == c["cohort_id"]), None)
        rows.append({**c, "checks": rule_outcomes(c, window, siblings.get(c["trainee_id"], []), lang, tz)})
    return rows


def _campus_filter(user: User, given: str | None) -> str | None:
    if given:
        return given
    return None if user.all_campuses or len(user.campuses) != 1 else user.campuses[0]


# -- the claims queue --------------------------------------------------------------
@router.get("")
async def queue(request: Request, api: ApiDep, user: UserDep, status: str = "submitted", campus: str = "") -> Response:
    return await _queue_page(request, api, user, status=status, campus=campus)


async def _queue_page(
    request: Request,
    api: Api,
    user: User,
    *,
    status: str,
    campus: str,
    refused: tuple[str, str, FormState] | None = None,
    code: int = 200,
) -> Response:
    status = status if status in STATUSES else "submitted"
    page = await api.get(SERVICE, "claims", status=status, campus=_campus_filter(user, campus), limit=100)
    claims = await with_outcomes(request, api, page["items"])
    return render(
        request,
        "finance/queue.html",
        {
            "claims": claims,
            "total": page["total"],
            "status": status,
            "statuses": STATUSES,
            "campus": campus,
            "refused": refused,
            "writes": writes(user),
        },
        status=code,
    )


def _back_to(values: dict[str, str], default: str) -> str:
    nxt = values.get("next", "")
    return nxt if nxt.startswith("/finance") and "//" not in nxt else default


@router.get("/claims/{claim_id}")
async def claim_page(
    request: Request, claim_id: str, api: ApiDep, user: UserDep, done: str = "", ref: str = ""
) -> Response:
    return await _claim_page(request, api, user, claim_id, done=done, ref=ref)


async def _claim_page(
    request: Request,
    api: Api,
    user: User,
    claim_id: str,
    *,
    done: str = "",
    ref: str = "",
    action: str = "",
    form: FormState | None = None,
    code: int = 200,
) -> Response:
    claim = await api.get(SERVICE, f"claims/{claim_id}")
    (row,), account = await asyncio.gather(with_outcomes(request, api, [claim]), _account_of(api, claim["trainee_id"]))
    return render(
        request,
        "finance/claim.html",
        {
            "claim": row,
            "account": account,
            "done": done,
            "ref": ref,
            "action": action,
            "form": form,
            "writes": writes(user),
            "reasons": REJECT_REASONS,
            "reject_rows": range(REJECT_ROWS),
        },
        status=code,
    )


async def _account_of(api: Api, trainee_id: str) -> dict[str, Any] | None:
    """The trainee's payout account (its number masked), or None when finance has not entered one yet."""
    try:
        return await api.get(SERVICE, f"trainees/{trainee_id}/account")
    except ApiProblem as problem:
        if problem.status == 404:
            return None
        raise


@router.post("/claims/{claim_id}/approve")
async def approve(request: Request, claim_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    try:
        await api.post(SERVICE, f"claims/{claim_id}/approve")
    except ApiProblem as problem:
        if values.get("from") == "queue":
            return await _queue_page(
                request,
                api,
                user,
                status=values.get("status", "submitted"),
                campus=values.get("campus", ""),
                refused=(claim_id, "approve", FormState(values, problem)),
                code=problem.status,
            )
        return await _claim_page(
            request, api, user, claim_id, action="approve", form=FormState(values, problem), code=problem.status
        )
    request.state.session.flash("finance.flash.approved")
    return RedirectResponse(_back_to(values, f"/finance/claims/{claim_id}"), status_code=303)


@router.post("/claims/{claim_id}/reject")
async def reject(request: Request, claim_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    reasons, rows = [], []  # the reasons sent, and the form row each came from
    for i in range(REJECT_ROWS):
        code, message = values.get(f"reason_code_{i}", "").strip(), values.get(f"reason_message_{i}", "").strip()
        if code or message:
            reasons.append({"code": code, "message": message})
            rows.append(i)
    try:
        await api.post(SERVICE, f"claims/{claim_id}/reject", json={"reasons": reasons})
    except ApiProblem as problem:
        # body.reasons.0.code -> reason_code_0, so each refusal sits by its own field
        for e in problem.errors:
            parts = (e.field_name or "").split(".")
            if len(parts) == 3 and parts[0] == "reasons" and parts[1].isdigit() and int(parts[1]) < len(rows):
                e.field = f"reason_{parts[2]}_{rows[int(parts[1])]}"
        form = FormState(
            values, problem, frozenset(f"reason_{k}_{i}" for k in ("code", "message") for i in range(REJECT_ROWS))
        )
        return await _claim_page(request, api, user, claim_id, action="reject", form=form, code=problem.status)
    request.state.session.flash("finance.flash.rejected")
    return RedirectResponse(f"/finance/claims/{claim_id}", status_code=303)


# A double click sends the same form (and so the same Idempotency-Key) twice at once, and the browser drops the first
# request. The API pays once and replays the payout for the second; the console keeps the call of each key it has
# sent, so the second request waits for the first one's answer and can say "already paid" rather than "paid". The call
# runs as a task of its own, so the first request being dropped does not cut it off. Per process and bounded: the
# API's key is what guarantees one payment.
_PAYMENTS: OrderedDict[str, asyncio.Task] = OrderedDict()
_PAYMENTS_KEPT = 2000


async def _pay_call(api: Api, claim_id: str, key: str) -> tuple[dict[str, Any], bool]:
    """A claim paid already (by another form, another console process, before a restart) is said to be so; else
    it is paid under the form's key, which the API answers with the same payout however often it is sent."""
    claim = await api.get(SERVICE, f"claims/{claim_id}")
    if claim["status"] == "paid":
        return {"reference": claim.get("payout_reference") or ""}, False
    return await api.post(SERVICE, f"claims/{claim_id}/pay", headers={"Idempotency-Key": key}), True


async def _pay_once(api: Api, claim_id: str, key: str) -> tuple[dict[str, Any], bool]:
    """(payout, True when this request made the payment, False when it had been made before)."""
    task = _PAYMENTS.get(key)
    if task is not None:
        payout, _ = await asyncio.shield(task)
        return payout, False
    task = asyncio.ensure_future(_pay_call(api, claim_id, key))
    _PAYMENTS[key] = task

    def forget_failure(t: asyncio.Task) -> None:  # a refused or failed call may be tried again with the key
        if (t.cancelled() or t.exception() is not None) and _PAYMENTS.get(key) is t:
            del _PAYMENTS[key]

    task.add_done_callback(forget_failure)
    while len(_PAYMENTS) > _PAYMENTS_KEPT:
        _PAYMENTS.popitem(last=False)
    return await asyncio.shield(task)


@router.post("/claims/{claim_id}/pay")
async def pay(request: Request, claim_id: str, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    key = values.get("idem", "")
    back = _back_to(values, f"/finance/claims/{claim_id}")
    sep = "&" if "?" in back else "?"
    try:
        if not key:
            raise ApiProblem(SERVICE, 422, "finance.pay.no-key", detail="")
        payout, first = await _pay_once(api, claim_id, key)
    except ApiProblem as problem:
        if problem.code == "claim.already-paid":  # paid before, under another form: say so, with its payout
            ref = str(problem.body.get("payout_reference") or "")
            return RedirectResponse(f"{back}{sep}done=already-paid&ref={ref}", status_code=303)
        if values.get("from") == "queue":
            return await _queue_page(
                request,
                api,
                user,
                status=values.get("status", "approved"),
                campus=values.get("campus", ""),
                refused=(claim_id, "pay", FormState(values, problem)),
                code=problem.status,
            )
        return await _claim_page(
            request, api, user, claim_id, action="pay", form=FormState(values, problem), code=problem.status
        )
    done = "paid" if first else "already-paid"
    return RedirectResponse(f"{back}{sep}done={done}&ref={payout['reference']}", status_code=303)


# -- payout batches ------------------------------------------------------------------
@router.get("/payouts")
async def payouts(request: Request, api: ApiDep, user: UserDep, campus: str = "") -> Response:
    return await _payouts_page(request, api, user, campus=campus)


async def _payouts_page(
    request: Request, api: Api, user: User, *, campus: str = "", form: FormState | None = None, code: int = 200
) -> Response:
    page, approved = await asyncio.gather(
        api.get(SERVICE, "payouts", campus=_campus_filter(user, campus), limit=100),
        api.get(SERVICE, "claims", status="approved", campus=_campus_filter(user, campus), limit=500),
    )
    waiting: dict[str, dict[str, int]] = {}
    for c in approved["items"]:
        w = waiting.setdefault(c["campus"], {"count": 0, "amount": 0})
        w["count"] += 1
        w["amount"] += c["amount"]
    return render(
        request,
        "finance/payouts.html",
        {
            "batches": page["items"],
            "total": page["total"],
            "campus": campus,
            "waiting": waiting,
            "form": form,
            "writes": writes(user),
            "default_campus": _campus_filter(user, campus) or "",
        },
        status=code,
    )


@router.post("/payouts")
async def pay_batch(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    try:
        batch = await api.post(
            SERVICE,
            "payouts",
            json={"campus": values.get("campus", "").strip()},
            headers={"Idempotency-Key": values.get("idem", "")},
        )
    except ApiProblem as problem:
        return await _payouts_page(
            request, api, user, form=FormState(values, problem, frozenset({"campus"})), code=problem.status
        )
    request.state.session.flash("finance.flash.batch-paid")
    return RedirectResponse(f"/finance/payouts/{batch['id']}", status_code=303)


@router.get("/payouts/{batch_id}")
async def batch_page(request: Request, batch_id: str, api: ApiDep) -> Response:
    batch = await api.get(SERVICE, f"payouts/{batch_id}")
    return render(request, "finance/batch.html", {"batch": batch})


@router.get("/payouts/{batch_id}/export.{fmt}")
async def batch_export(batch_id: str, fmt: str, api: ApiDep) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise ApiProblem(SERVICE, 404, "not-found")
    return await download(api, SERVICE, f"payouts/{batch_id}/export", f"payout-{batch_id}.{fmt}", format=fmt)


# -- the qualification catalogue ---------------------------------------------------------


@router.get("/qualifications")
async def qualifications(request: Request, api: ApiDep, user: UserDep, grade: str = "") -> Response:
    return await _qualifications_page(request, api, user, grade=grade)


async def _qualifications_page(
    request: Request,
    api: Api,
    user: User,
    *,
    grade: str = "",
    form: FormState | None = None,
    report: dict | None = None,
    import_problem: ApiProblem | None = None,
    code: int = 200,
) -> Response:
    page = await api.get(SERVICE, "qualifications", grade=grade if grade in GRADES else None, limit=500)
    return render(
        request,
        "finance/qualifications.html",
        {
            "qualifications": page["items"],
            "total": page["total"],
            "grade": grade,
            "grades": GRADES,
            "form": form,
            "report": report,
            "import_problem": import_problem,
            "writes": writes(user),
        },
        status=code,
    )


@router.post("/qualifications")
async def put_qualification(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    code = values.get("code", "").strip()
    body = {
        "code": code,
        "name": values.get("name", "").strip(),
        "grade": values.get("grade", ""),
        "written_fee": form_number(values.get("written_fee", "")),
        "practical_fee": form_number(values.get("practical_fee", "")),
        "programme_codes": [
            p.strip() for p in values.get("programme_codes", "").replace(";", ",").split(",") if p.strip()
        ],
    }
    fields = frozenset({"code", "name", "grade", "written_fee", "practical_fee", "programme_codes"})
    try:
        if not code:
            raise ApiProblem(SERVICE, 422, "validation-error", errors=[_missing("code")])
        await api.put(SERVICE, f"qualifications/{code}", json=body)
    except ApiProblem as problem:
        return await _qualifications_page(
            request, api, user, form=FormState(values, problem, fields), code=problem.status
        )
    request.state.session.flash("finance.flash.qualification-saved")
    return RedirectResponse("/finance/qualifications", status_code=303)


def _missing(name: str) -> RuleError:
    return RuleError(rule="missing", message="", field=f"body.{name}")


async def _upload(request: Request) -> tuple[str, bytes, str] | None:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return None
    return upload.filename, await upload.read(), upload.content_type or "application/octet-stream"


@router.post("/qualifications/import")
async def import_qualifications(request: Request, api: ApiDep, user: UserDep) -> Response:
    upload = await _upload(request)
    try:
        if upload is None:
            raise ApiProblem(SERVICE, 422, "finance.import.no-file")
        report = await api.post(SERVICE, "qualifications/import", files={"file": upload})
    except ApiProblem as problem:
        return await _qualifications_page(request, api, user, import_problem=problem, code=problem.status)
    return await _qualifications_page(request, api, user, report=report)


# -- payout accounts -------------------------------------------------------------------
@router.get("/accounts")
async def accounts(request: Request, api: ApiDep, user: UserDep, campus: str = "") -> Response:
    return await _accounts_page(request, api, user, campus=campus)


async def _accounts_page(
    request: Request,
    api: Api,
    user: User,
    *,
    campus: str = "",
    form: FormState | None = None,
    report: dict | None = None,
    import_problem: ApiProblem | None = None,
    code: int = 200,
) -> Response:
    page = await api.get(SERVICE, "accounts", campus=_campus_filter(user, campus), limit=500)
    return render(
        request,
        "finance/accounts.html",
        {
            "accounts": page["items"],
            "total": page["total"],
            "campus": campus,
            "form": form,
            "report": report,
            "import_problem": import_problem,
            "writes": writes(user),
        },
        status=code,
    )


@router.post("/accounts")
async def put_account(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {k: values.get(k, "").strip() for k in ("holder", "bank", "account_number")}
    fields = frozenset({"trainee_id", *body})
    trainee_id = values.get("trainee_id", "").strip()
    try:
        if not trainee_id:
            raise ApiProblem(SERVICE, 422, "validation-error", errors=[_missing("trainee_id")])
        await api.put(SERVICE, f"trainees/{trainee_id}/account", json=body)
    except ApiProblem as problem:
        # the number typed is not sent back into the page: the form comes back with it empty
        kept = {k: v for k, v in values.items() if k != "account_number"}
        return await _accounts_page(request, api, user, form=FormState(kept, problem, fields), code=problem.status)
    request.state.session.flash("finance.flash.account-saved")
    return RedirectResponse("/finance/accounts", status_code=303)


@router.post("/accounts/import")
async def import_accounts(request: Request, api: ApiDep, user: UserDep) -> Response:
    upload = await _upload(request)
    try:
        if upload is None:
            raise ApiProblem(SERVICE, 422, "finance.import.no-file")
        report = await api.post(SERVICE, "accounts/import", files={"file": upload})
    except ApiProblem as problem:
        return await _accounts_page(request, api, user, import_problem=problem, code=problem.status)
    return await _accounts_page(request, api, user, report=report)


# -- certificates obtained ---------------------------------------------------------------
@router.get("/results")
async def results(request: Request, api: ApiDep, user: UserDep, campus: str = "", trainee_id: str = "") -> Response:
    return await _results_page(request, api, user, campus=campus, trainee_id=trainee_id)


async def _results_page(
    request: Request,
    api: Api,
    user: User,
    *,
    campus: str = "",
    trainee_id: str = "",
    form: FormState | None = None,
    report: dict | None = None,
    import_problem: ApiProblem | None = None,
    code: int = 200,
) -> Response:
    page, quals = await asyncio.gather(
        api.get(SERVICE, "results", campus=_campus_filter(user, campus), trainee_id=trainee_id or None, limit=200),
        api.get(SERVICE, "qualifications", limit=500),
    )
    return render(
        request,
        "finance/results.html",
        {
            "results": page["items"],
            "total": page["total"],
            "campus": campus,
            "trainee_id": trainee_id,
            "qualifications": quals["items"],
            "form": form,
            "report": report,
            "import_problem": import_problem,
            "writes": writes(user),
        },
        status=code,
    )


@router.post("/results")
async def record_result(request: Request, api: ApiDep, user: UserDep) -> Response:
    values = await form_data(request)
    body = {k: values.get(k, "").strip() for k in ("trainee_id", "qualification_code", "date")}
    try:
        await api.post(SERVICE, "results", json=body)
    except ApiProblem as problem:
        return await _results_page(
            request, api, user, form=FormState(values, problem, frozenset(body)), code=problem.status
        )
    request.state.session.flash("finance.flash.result-recorded")
    return RedirectResponse("/finance/results", status_code=303)


@router.post("/results/import")
async def import_results(request: Request, api: ApiDep, user: UserDep) -> Response:
    upload = await _upload(request)
    try:
        if upload is None:
            raise ApiProblem(SERVICE, 422, "finance.import.no-file")
        report = await api.post(SERVICE, "results/import", files={"file": upload})
    except ApiProblem as problem:
        return await _results_page(request, api, user, import_problem=problem, code=problem.status)
    return await _results_page(request, api, user, report=report)


ROOM = Room(name="finance", router=router, roles=frozenset({"finance", "auditor"}), order=30)
