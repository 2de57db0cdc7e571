"""RFC 9457 problem details for every error a service returns.

Raise a ``Problem`` (or one of its kinds) anywhere in a request; the handlers here
turn it, and every framework error, into ``application/problem+json``. A
business-rule refusal is a ``RuleViolation``: 409 or 422 with each broken rule named.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.logging import correlation_id
from shared.rules import RuleFailure

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


@dataclass
class Problem(Exception):
    status: int
    code: str
    title: str
    detail: str = ""
    errors: list[RuleFailure] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail or self.title}"

    def body(self, instance: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": f"/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
            "instance": instance,
            "code": self.code,
        }
        if self.errors:
            out["errors"] = [e.as_dict() for e in self.errors]
        if correlation_id.get():
            out["correlation_id"] = correlation_id.get()
        out.update(self.extra)
        return out


def not_found(what: str, ident: object) -> Problem:
    return Problem(404, "not-found", f"{what} not found", f"No {what} with id {ident} is visible to you.")


def conflict(code: str, detail: str, **extra: Any) -> Problem:
    return Problem(409, code, "Conflict with the current state", detail, extra=extra)


class RuleViolation(Problem):
    """A business rule refused the request; every failed rule is listed."""

    def __init__(self, failures: list[RuleFailure], *, status: int = 422, detail: str = "") -> None:
        names = ", ".join(f.rule for f in failures)
        super().__init__(
            status,
            "business-rule-violation",
            "A business rule refused the request",
            detail or f"Refused by: {names}.",
            errors=failures,
        )


def bad_request(detail: str, *failures: RuleFailure) -> Problem:
    return Problem(400, "bad-request", "The request could not be used", detail, errors=list(failures))


class ProblemModel(BaseModel):
    """Documented shape of every error response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[dict[str, Any]] | None = None
    correlation_id: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemModel, "content": {PROBLEM_JSON: {}}, "description": desc}
    for status, desc in {
        400: "Bad request",
        401: "Missing or invalid token",
        403: "Role not allowed",
        404: "Not found (or outside your campuses)",
        409: "Conflict with current state",
        422: "Invalid input or business rule refused",
    }.items()
}


def _respond(request: Request, problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(
        problem.body(request.url.path), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers or None
    )


def _validation_failures(exc: RequestValidationError) -> list[RuleFailure]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            RuleFailure(
                rule=str(err.get("type", "invalid")), message=str(err.get("msg", "invalid")), field=".".join(loc)
            )
        )
    return out


def log_unexpected(logger: logging.Logger, exc: BaseException, **extra: Any) -> None:
    """Log an error no handler expected by its type and where it was raised, never by its message: a message
    can quote the values it failed on (a name, a birth date, SQL parameters), and those must not reach a log."""
    logger.error(
        "unexpected error",
        extra={**extra, "error_type": type(exc).__name__, "stack": "".join(traceback.format_tb(exc.__traceback__))},
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app answers on this path (asked of the router, method by method)."""

    def served(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)

    return [m for m in _METHODS if served(m)]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        failures = _validation_failures(exc)
        fields = ", ".join(sorted({f.field or "body" for f in failures}))
        return _respond(
            request,
            Problem(422, "validation-error", "The request is not valid", f"Invalid: {fields}.", errors=failures),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            404: "not-found",
            405: "method-not-allowed",
            401: "unauthorized",
            403: "forbidden",
            413: "payload-too-large",
            415: "unsupported-media-type",
        }
        code = codes.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110 15.5.6: Allow lists every method of the resource. The router names only those of the one
            # route it tried, and a path such as /applicants has a route per method.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return _respond(request, Problem(exc.status_code, code, str(exc.detail), str(exc.detail)), headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity conflict", extra={"path": request.url.path})
        return _respond(request, conflict("conflict", "The change conflicts with data saved meanwhile; retry."))

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable", extra={"path": request.url.path})
        return _respond(
            request,
            Problem(503, "database-unavailable", "Service unavailable", "The database is not reachable; retry later."),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log_unexpected(log, exc, path=request.url.path)
        return _respond(
            request,
            Problem(
                500,
                "internal-error",
                "Internal error",
                "An unexpected error occurred; quote the correlation id to support.",
            ),
        )
