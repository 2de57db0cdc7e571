"""The one client of the four public HTTP APIs.

Every call carries the signed-in user's bearer token. A problem+json answer becomes an
``ApiProblem`` (code, title, detail and the list of failed rules with their fields); a
refused connection, a timeout or a 5xx becomes ``ServiceUnavailable`` naming the service.
Nothing here imports the services' code: the console knows them only by their HTTP APIs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from web.logs import correlation_id
from web.settings import SERVICES, WebSettings

log = logging.getLogger("web.api")


@dataclass
class RuleError:
    rule: str
    message: str = ""
    field: str | None = None

    @property
    def field_name(self) -> str | None:
        """The form field it concerns: ``body.capacity`` -> ``capacity``; ``body.timetable.start`` -> ``timetable.start``."""
        if not self.field:
            return None
        parts = [p for p in self.field.split(".") if p not in ("body", "query", "path", "form")]
        return ".".join(parts) or None


@dataclass
class ApiProblem(Exception):
    service: str
    status: int
    code: str
    title: str = ""
    detail: str = ""
    errors: list[RuleError] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.service} {self.status} {self.code}: {self.detail or self.title}"

    def for_field(self, name: str) -> list[RuleError]:
        return [e for e in self.errors if e.field_name == name]

    def unplaced(self, fields: set[str] | frozenset[str] = frozenset()) -> list[RuleError]:
        """Errors not shown next to one of ``fields``: shown by the button instead."""
        return [e for e in self.errors if e.field_name not in fields]

    @classmethod
    def from_response(cls, service: str, response: httpx.Response) -> ApiProblem:
        try:
            body = response.json()
            if not isinstance(body, dict):
                body = {}
        except ValueError:
            body = {}
        errors = []
        for e in body.get("errors") or []:
            if isinstance(e, dict):
                errors.append(
                    RuleError(
                        rule=str(e.get("rule") or e.get("code") or "invalid"),
                        message=str(e.get("message") or ""),
                        field=str(e["field"]) if e.get("field") else None,
                    )
                )
        return cls(
            service=service,
            status=response.status_code,
            code=str(body.get("code") or "http-error"),
            title=str(body.get("title") or ""),
            detail=str(body.get("detail") or response.reason_phrase),
            errors=errors,
            body=body,
        )


class ServiceUnavailable(Exception):
    def __init__(self, service: str, reason: str = "") -> None:
        super().__init__(f"{service} is unavailable ({reason})")
        self.service = service
        self.reason = reason


class Api:
    """The APIs as the signed-in user (``token``) sees them."""

    def __init__(self, client: httpx.AsyncClient, settings: WebSettings, token: str | None) -> None:
        self.client = client
        self.settings = settings
        self.token = token

    def _url(self, service: str, path: str) -> str:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        return f"{self.settings.service_url(service)}/{service}/v1/{path.lstrip('/')}"

    async def send(
        self,
        method: str,
        service: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The raw response of a 2xx answer (for downloads); problems and outages raised as above."""
        h = dict(headers or {})
        if cid := correlation_id.get():
            h["X-Correlation-ID"] = cid  # the service's lines of this call carry the console request's id
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if params:
            params = {k: v for k, v in params.items() if v is not None and v != ""}
        try:
            response = await self.client.request(
                method,
                self._url(service, path),
                params=params,
                json=json,
                data=data,
                files=files,
                headers=h,
                timeout=self.settings.api_timeout_s,
            )
        except httpx.TransportError as exc:
            log.warning("service unavailable", extra={"service": service, "error": type(exc).__name__})
            raise ServiceUnavailable(service, type(exc).__name__) from None
        if response.status_code >= 500:
            log.warning("service answered %s", response.status_code, extra={"service": service})
            raise ServiceUnavailable(service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ApiProblem.from_response(service, response)
        return response

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return (await self.send("GET", service, path, params=params)).json()

    async def post(self, service: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = await self.send("POST", service, path, json=json, **kwargs)
        return response.json() if response.content else None

    async def put(self, service: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = await self.send("PUT", service, path, json=json, **kwargs)
        return response.json() if response.content else None

    async def ready(self, service: str) -> bool:
        try:
            r = await self.client.get(f"{self.settings.service_url(service)}/readyz", timeout=3)
            return r.status_code == 200
        except httpx.HTTPError:
            return False
