"""What every room uses: the Room record, page rendering, the signed-in user, CSRF, API access.

A room is one router module ``web/rooms/<room>.py`` exporting ``ROOM``, templates under
``web/templates/<room>/`` and catalogues ``web/i18n/<room>.{ko,en}.json``; it is listed once
in ``web/rooms/__init__.py``. ``register`` mounts each room under ``/<room>`` with two
dependencies: the CSRF check for every unsafe method and the role check of the room.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from web import formatting
from web.api import Api, ApiProblem, RuleError
from web.i18n import rule_text, translate
from web.sessions import Session
from web.settings import WebSettings

HERE = Path(__file__).resolve().parent
STAFF_ROLES = frozenset({"admissions", "instructor", "finance", "placement", "campus_admin", "auditor"})
ROLES = (*sorted(STAFF_ROLES), "trainee")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Room:
    """``name`` is the URL prefix, the template folder and the catalogue name. ``roles`` see it in the nav and may
    open it (campus_admin opens every staff room). ``label`` is its catalogue key for the nav."""

    name: str
    router: APIRouter
    roles: frozenset[str]
    order: int = 50
    prefix: str | None = None
    nav: bool = True
    label: str = ""

    @property
    def path(self) -> str:
        return self.prefix if self.prefix is not None else f"/{self.name}"

    @property
    def nav_label(self) -> str:
        return self.label or f"{self.name}.nav"

    def admits(self, roles: set[str] | frozenset[str]) -> bool:
        if roles & self.roles:
            return True
        return "campus_admin" in roles and bool(self.roles & STAFF_ROLES)


# -- errors the pages raise ------------------------------------------------------
class NotSignedIn(Exception):
    pass


class Forbidden(Exception):
    pass


class CsrfFailure(Exception):
    pass


# -- request helpers ---------------------------------------------------------------
def session_of(request: Request) -> Session:
    return request.state.session


def lang_of(request: Request) -> str:
    return getattr(request.state, "lang", "ko")


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


async def csrf_check(request: Request) -> None:
    """Every unsafe request carries the session's CSRF token, as a form field or the X-CSRF-Token header."""
    if request.method not in UNSAFE:
        return
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else ""
    expected = session_of(request).get("csrf") or ""
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise CsrfFailure()


@dataclass
class User:
    sub: str
    roles: frozenset[str]
    campuses: tuple[str, ...]
    via: str = "local"

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def all_campuses(self) -> bool:
        return "*" in self.campuses

    def sees_campus(self, campus: str) -> bool:
        return self.all_campuses or campus in self.campuses

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> User:
        return cls(
            sub=data["sub"],
            roles=frozenset(data.get("roles", [])),
            campuses=tuple(data.get("campuses", [])),
            via=data.get("via", "local"),
        )


def current_user(request: Request) -> User:
    data = session_of(request).user
    if not data or not session_of(request).token:
        raise NotSignedIn()
    return User.from_session(data)


def room_guard(room: Room) -> Callable[[Request], Any]:
    async def _guard(request: Request) -> None:
        user = current_user(request)
        if not room.admits(user.roles):
            raise Forbidden()
        request.state.room = room

    return _guard


def api_of(request: Request) -> Api:
    return Api(request.app.state.http, request.app.state.settings, session_of(request).token)


UserDep = Annotated[User, Depends(current_user)]
ApiDep = Annotated[Api, Depends(api_of)]


def register(app: FastAPI, rooms: list[Room]) -> None:
    names = [r.name for r in rooms]
    if len(set(names)) != len(names):
        raise ValueError(f"two rooms share a name: {names}")
    app.state.rooms = sorted(rooms, key=lambda r: (r.order, r.name))
    # a request's matched route is its room router's own (no prefix): the access log names it with the prefix
    app.state.route_templates = {}
    for room in rooms:
        app.include_router(room.router, prefix=room.path, dependencies=[Depends(csrf_check), Depends(room_guard(room))])
        app.state.route_templates.update({id(r): room.path + r.path for r in room.router.routes if hasattr(r, "path")})


# -- rendering -------------------------------------------------------------------
@jinja2.pass_context
def _t(ctx: Any, key: str, **values: Any) -> str:
    return translate(ctx.get("lang", "ko"), key, **values)


def _room_of(ctx: Any) -> str:
    """The room whose page is rendered: the first segment of the request's path."""
    request = ctx.get("request")
    return request.url.path.strip("/").split("/", 1)[0] if request is not None else ""


@jinja2.pass_context
def _rule(ctx: Any, error: RuleError | dict[str, Any]) -> str:
    if isinstance(error, dict):
        return rule_text(
            ctx.get("lang", "ko"), str(error.get("rule", "")), str(error.get("message", "")), _room_of(ctx)
        )
    return rule_text(ctx.get("lang", "ko"), error.rule, error.message, _room_of(ctx))


@jinja2.pass_context
def _problem_text(ctx: Any, problem: ApiProblem) -> str:
    return rule_text(ctx.get("lang", "ko"), problem.code, problem.detail, _room_of(ctx))


@jinja2.pass_context
def _krw(ctx: Any, amount: object) -> str:
    return formatting.krw(amount, ctx.get("lang", "ko"))


@jinja2.pass_context
def _dt(ctx: Any, value: object, seconds: bool = False) -> str:
    return formatting.local_datetime(value, ctx["settings"].timezone, seconds)


@jinja2.pass_context
def _date(ctx: Any, value: object, weekday: bool = False) -> str:
    return formatting.local_date(value, ctx.get("lang", "ko"), weekday)


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,
    )
    env.globals.update(t=_t, rule=_rule, problem_text=_problem_text, new_key=lambda: str(uuid.uuid4()))
    env.filters.update(krw=_krw, dt=_dt, date=_date, percent=formatting.percent)
    env.tests["match_digit"] = lambda value: any(ch.isdigit() for ch in str(value))  # an API sentence with figures
    return env


def base_context(request: Request) -> dict[str, Any]:
    settings: WebSettings = request.app.state.settings
    session = session_of(request)
    user = User.from_session(session.user) if session.user and session.token else None
    rooms = [r for r in request.app.state.rooms if r.nav and user and r.admits(user.roles)]
    return {
        "request": request,
        "settings": settings,
        "lang": lang_of(request),
        "csrf": session.csrf,
        "user": user,
        "nav": rooms,
        "room": getattr(request.state, "room", None),
        "flashes": session.take_flashes(),
        "htmx": is_htmx(request),
        "path": request.url.path,
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page or, for an htmx request, the same template (which can test ``htmx`` to render a fragment)."""
    ctx = base_context(request)
    ctx.update(context or {})
    html = request.app.state.templates.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status, headers=headers)


def form_number(text: str | None) -> Any:
    """A number typed in a form ("2,600,000", "82.5") as the JSON number the APIs take (they refuse numbers sent as
    text); empty is None; what cannot be read goes to the API as typed, so its refusal names the field."""
    text = (text or "").replace(",", "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


async def form_data(request: Request) -> dict[str, str]:
    """What was typed, to show again on a refusal (files and the CSRF token left out)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


@dataclass
class FormState:
    """What a form template needs to keep what was typed and show each refusal by its field."""

    values: dict[str, str] = field(default_factory=dict)
    problem: ApiProblem | None = None
    fields: frozenset[str] = frozenset()

    def value(self, name: str, default: Any = "") -> Any:
        return self.values.get(name, default)

    def errors(self, name: str) -> list[RuleError]:
        return self.problem.for_field(name) if self.problem else []

    def general(self) -> list[RuleError]:
        return self.problem.unplaced(self.fields) if self.problem else []


async def download(api: Api, service: str, path: str, filename: str, **params: Any) -> Response:
    """An API's file (an XLSX sheet, a CSV batch) handed to the browser as a download."""
    upstream = await api.send("GET", service, path, params=params)
    ctype = upstream.headers.get("content-type", "application/octet-stream")
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "-_.") or "download"
    return Response(
        upstream.content, media_type=ctype, headers={"Content-Disposition": f'attachment; filename="{safe}"'}
    )
