"""The console's app: ``uvicorn web.main:create_app --factory`` (``make run`` starts it)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import anyio.to_thread
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from web import auth, logs
from web.api import ApiProblem, ServiceUnavailable
from web.core import HERE, CsrfFailure, Forbidden, NotSignedIn, is_htmx, make_templates, register, render
from web.sessions import Session, SessionStore
from web.settings import WebSettings

log = logging.getLogger("web")
access = logging.getLogger("web.access")
UNTRACKED = ("/static/", "/healthz", "/favicon.ico")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def create_app(settings: WebSettings | None = None, rooms: list | None = None) -> FastAPI:
    """``rooms`` defaults to web.rooms.ROOMS (tests may add one)."""
    settings = settings or WebSettings()
    # JSON lines like every process of the platform; each request's correlation id goes with its API calls
    logs.configure(settings.log_level)
    if rooms is None:
        from web.rooms import ROOMS as rooms

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50, max_keepalive_connections=20))
        try:
            yield
        finally:
            await app.state.http.aclose()
            app.state.store.close()

    app = FastAPI(title="TrainingOps console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = SessionStore(settings.session_store_url, settings.session_ttl_s)
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router)
    register(app, rooms)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.middleware("http")
    async def access_line(request: Request, call_next):  # type: ignore[no-untyped-def]
        """One JSON line per request (method, route template, status, time; never the raw path or query, which
        can hold what somebody typed), under a correlation id that the API calls it makes carry too."""
        token = logs.correlation_id.set(logs.new_correlation_id(request.headers.get("x-correlation-id")))
        started, status = time.perf_counter(), 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Correlation-ID"] = logs.correlation_id.get() or ""
            return response
        finally:
            matched = request.scope.get("route")
            route = app.state.route_templates.get(id(matched)) or getattr(matched, "path", "unmatched")
            quiet = request.url.path.startswith(UNTRACKED) and status < 400
            access.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s",
                request.method,
                route,
                status,
                extra={
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            logs.correlation_id.reset(token)

    @app.middleware("http")
    async def sessions_and_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        path = request.url.path
        if path.startswith(UNTRACKED):
            response = await call_next(request)
            if path.startswith("/static/"):
                response.headers["Cache-Control"] = "public, max-age=3600"
            return response
        started = time.perf_counter()
        store: SessionStore = app.state.store
        key = request.cookies.get(settings.cookie_name)
        session = await anyio.to_thread.run_sync(store.load, key) if key else None
        fresh = session is None
        session = session or Session.new()
        request.state.session = session
        lang = request.cookies.get("lang")
        request.state.lang = lang if lang in ("ko", "en") else settings.default_language
        response = await call_next(request)
        if session.dirty or session.deleted or session.old_key:
            await anyio.to_thread.run_sync(store.save, session)
            if session.deleted:
                response.delete_cookie(
                    settings.cookie_name,
                    path="/",
                    secure=settings.cookie_secure,
                    httponly=True,
                    samesite=settings.cookie_samesite,
                )
            elif fresh or not key or key != session.key:
                response.set_cookie(
                    settings.cookie_name,
                    session.key,
                    path="/",
                    httponly=True,
                    secure=settings.cookie_secure,
                    samesite=settings.cookie_samesite,
                )
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        # the server's own time for the page (session load, API calls, rendering, session save): the benchmark reads it
        timing = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        own = response.headers.get("Server-Timing")  # a page's own parts (the kiosk's check-in) come first
        response.headers["Server-Timing"] = f"{own}, {timing}" if own else timing
        return response

    install_error_pages(app)
    return app


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _signin(request: Request, exc: NotSignedIn) -> Response:
        # the query string too: a scanned check-in link carries its session and code there
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = "/signin?" + httpx.QueryParams({"next": wanted}).__str__()
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "errors/page.html", {"status": 403, "message_key": "common.error.forbidden"}, status=403)

    @app.exception_handler(CsrfFailure)
    async def _csrf(request: Request, exc: CsrfFailure) -> Response:
        return render(request, "errors/page.html", {"status": 403, "message_key": "common.error.csrf"}, status=403)

    @app.exception_handler(ServiceUnavailable)
    async def _down(request: Request, exc: ServiceUnavailable) -> Response:
        return render(request, "errors/unavailable.html", {"service": exc.service}, status=503)

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, exc: ApiProblem) -> Response:
        if exc.status == 401:  # the token expired or was revoked: sign in again
            request.state.session.sign_out()
            if is_htmx(request):
                return Response(status_code=200, headers={"HX-Redirect": "/signin?expired=1"})
            return RedirectResponse("/signin?expired=1", status_code=303)
        status = exc.status if 400 <= exc.status < 500 else 502
        return render(request, "errors/problem.html", {"problem": exc}, status=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not hasattr(request.state, "session"):
            return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
        key = "common.error.not-found" if exc.status_code == 404 else "common.error.http"
        return render(
            request, "errors/page.html", {"status": exc.status_code, "message_key": key}, status=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.url.path})
        try:
            return render(request, "errors/500.html", {}, status=500)
        except Exception:
            return PlainTextResponse("Internal error / 내부 오류", status_code=500)
