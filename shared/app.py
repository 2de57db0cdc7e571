"""Every service's FastAPI app is made here, so the four look and behave alike.

A service gives its name, routers, tables and event handlers; this adds the
``/<service>/v1`` prefix, OpenAPI at ``/<service>/openapi.json``, problem responses,
auth, correlation ids, JSON logs, ``/healthz``, ``/readyz``, ``/metrics``, the outbox
relay and the event consumer.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy import MetaData, event
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import migrations
from shared.auth import TokenVerifier
from shared.clock import Clock, use_platform_clock
from shared.consumer import EventConsumer, Handler
from shared.db import Database
from shared.health import BrokerWatch, Liveness, migration_state, outbox_state
from shared.kafka import make_consumer, make_producer
from shared.logging import clean_correlation_id, configure_logging, correlation_id
from shared.metrics import ServiceMetrics, watch_dependencies
from shared.outbox import OutboxRelay, backlog
from shared.problems import PROBLEM_RESPONSES, install_problem_handlers, log_unexpected
from shared.registry import prefix_for
from shared.settings import ServiceSettings
from shared.unit_of_work import SqlUnitOfWork

log = logging.getLogger("trainingops.http")


@dataclass
class ServiceSpec:
    name: str
    title: str
    description: str
    metadata: MetaData
    routers: list[APIRouter]
    handlers: dict[str, Handler] = field(default_factory=dict)
    # The service's repository, built on each unit of work's session (``services/<name>/adapters/repository.py``).
    repository: Callable[[Session], Any] = lambda session: session
    openapi_tags: list[dict[str, str]] = field(default_factory=list)
    # Extra background work (e.g. attendance closing ended cohorts): called with the app, returns a stop function.
    background: list[Callable[[FastAPI], Callable[[], None]]] = field(default_factory=list)


class ObservabilityMiddleware:
    """Correlation id in and out, one JSON access line, and the HTTP metrics."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, templates: dict[int, str] | None = None) -> None:
        self.app, self.metrics = app, metrics
        self.templates = templates if templates is not None else {}
        # The labelled counter and histogram of each (method, route, status), looked up once: ``labels()``
        # validates and locks on every call, a few per cent of a short request.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def route_template(self, scope: Scope) -> str:
        """The matched route's path template with its router's prefix (``/enrollment/v1/cohorts/{cohort_id}``)."""
        route = scope.get("route")
        if route is None:
            return "unmatched"
        return self.templates.get(id(route)) or str(getattr(route, "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        cid = clean_correlation_id(headers.get(b"x-correlation-id", b"").decode("latin-1") or None)
        token = correlation_id.set(cid)
        start = time.perf_counter()
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-correlation-id", cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # An error no handler took: answer with a problem that carries the correlation id, if we still can.
            log_unexpected(log, exc, route=self.route_template(scope))
            if status == 500 and not started:
                body = json.dumps(
                    {
                        "type": "/problems/internal-error",
                        "title": "Internal error",
                        "status": 500,
                        "detail": "An unexpected error occurred; quote the correlation id to support.",
                        "instance": scope.get("path", ""),
                        "code": "internal-error",
                        "correlation_id": cid,
                    }
                ).encode()
                await send_wrapper(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - start
            route = self.route_template(scope)
            method = scope.get("method", "")
            series = self._series.get((method, route, status))
            if series is None:
                m = self.metrics
                series = self._series[(method, route, status)] = (
                    m.http_requests.labels(m.service, method, route, str(status)),
                    m.http_latency.labels(m.service, method, route),
                )
            series[0].inc()
            series[1].observe(elapsed)
            # One access line per request, naming the route's template (never the raw path or query, which
            # can hold what a caller typed). Probes that pass are logged at DEBUG: a probe every few seconds
            # would drown the lines that matter.
            probe = route in ("/metrics", "/healthz", "/readyz") and status < 400
            log.log(
                logging.DEBUG if probe else logging.INFO,
                "%s %s %s",
                method,
                route,
                status,
                extra={"method": method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 1)},
            )
            correlation_id.reset(token)


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    configure_logging(spec.name, settings.log_level)
    metrics = ServiceMetrics(spec.name)
    broker = BrokerWatch(settings.kafka_bootstrap_servers)
    liveness = Liveness()
    prefix = prefix_for(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Threads beyond what the connection pool holds only queue for the GIL and make connections.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        if settings.auto_migrate:
            migrations.upgrade(spec.name, settings.database_url)
        db = Database(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
        app.state.db = db
        app.state.unit_of_work = lambda: SqlUnitOfWork(db, spec.repository)
        metrics.watch_outbox(lambda: backlog(db))
        watch_dependencies(metrics, broker.reachable, lambda: outbox_state(db)[1])
        liveness.watched.clear()
        client = f"{settings.kafka_client_id_prefix}-{spec.name}"
        producer_factory = lambda: make_producer(settings.kafka_bootstrap_servers, client)  # noqa: E731
        stops: list[Callable[[], None]] = []
        if settings.relay_enabled:
            relay = OutboxRelay(
                db,
                producer_factory,
                batch_size=settings.outbox_batch_size,
                poll_interval_s=settings.outbox_poll_interval_s,
                coalesce_s=settings.outbox_coalesce_s,
                on_published=lambda n: metrics.events_published.labels(spec.name).inc(n),
            )
            event.listen(db._sessions, "after_commit", lambda _s: relay.wake())
            relay.start()
            app.state.relay = relay
            liveness.watch("relay", relay._thread)  # its loop catches every error: it only stops by dying
            stops.append(relay.stop)
        if settings.consumer_enabled and spec.handlers:
            consumer = EventConsumer(
                service=spec.name,
                db=db,
                handlers=spec.handlers,
                metrics=metrics,
                producer_factory=producer_factory,
                consumer_factory=lambda: make_consumer(
                    settings.kafka_bootstrap_servers,
                    settings.consumer_group_id,
                    client,
                    session_timeout_ms=settings.consumer_session_timeout_ms,
                    heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
                    max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
                    max_poll_records=settings.consumer_max_poll_records,
                ),
                retries=settings.consumer_retries,
                retry_backoff_s=settings.consumer_retry_backoff_s,
                unit_of_work=app.state.unit_of_work,
                settings=settings,
                clock=app.state.clock,
            )
            started = time.monotonic()
            consumer.start()
            app.state.consumer = consumer
            liveness.watch(
                "consumer",
                consumer._thread,
                lambda c=consumer: getattr(c, "heartbeat", started),
                stall_after_s=settings.consumer_liveness_timeout_s,
            )
            stops.append(consumer.stop)
        for start in spec.background:
            stops.append(start(app))
        # What start-up built (modules, schemas, compiled statements) lives as long as the process: frozen, the
        # collector's full passes skip it. Unfrozen, each full pass walked all of it, a 100 ms pause of a request
        # now and then (measured on a bulk check-in of 1,000 readings: 60-90 ms, with a pass 180-220 ms).
        gc.collect()
        gc.freeze()
        # A request's short-lived objects are freed by their counts, not by the collector: a young pass every 700
        # net allocations ran 21 times in one bulk check-in of 1,000 readings (2-3 ms); every 20,000, none.
        thresholds = gc.get_threshold()
        gc.set_threshold(20_000, *thresholds[1:])
        log.info("service started", extra={"service": spec.name})
        try:
            yield
        finally:
            for stop in reversed(stops):
                stop()
            db.dispose()
            gc.set_threshold(*thresholds)
            gc.unfreeze()  # what the app held may go now (tests start and stop many apps in one process)

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="1.0.0",
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=f"{prefix}/redoc",
        openapi_tags=spec.openapi_tags,
        responses=PROBLEM_RESPONSES,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = Clock(settings.timezone)
    use_platform_clock(app.state.clock)  # the input types' bounds read the same clock as the use cases
    app.state.metrics = metrics
    app.state.verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Correlation-ID"],
        )
    templates: dict[int, str] = {}  # filled below, once the routers are included
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, templates=templates)

    # The probes and /metrics run on the event loop and their blocking checks on threads of their own, so a
    # process whose endpoint threads all wait on row locks still answers them.
    probe_threads = anyio.CapacityLimiter(4)

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="The process is alive: its consumer and relay threads work",
        responses={503: {"description": "A background thread died or its loop stalled: restart the process"}},
    )
    async def healthz() -> JSONResponse:
        alive, threads = liveness.check()
        if alive:
            return JSONResponse({"status": "ok", "service": spec.name, "threads": threads})
        return JSONResponse(
            {
                "type": "/problems/not-alive",
                "title": "Not alive",
                "status": 503,
                "detail": "A background thread of this process died or stopped polling.",
                "code": "not-alive",
                "service": spec.name,
                "threads": threads,
            },
            status_code=503,
            media_type="application/problem+json",
        )

    def readiness() -> tuple[dict[str, str], dict[str, Any]]:
        checks: dict[str, str] = {}
        db: Database = app.state.db
        try:
            db.ping()
            checks["database"] = "ok"
        except Exception:
            checks["database"] = "unreachable"
        try:
            checks["migrations"] = migration_state(spec.name, db) if checks["database"] == "ok" else "unknown"
        except Exception:
            checks["migrations"] = "unknown"
        # Reported, never a reason to leave the rotation: the API works without the broker.
        report: dict[str, Any] = {"broker": "reachable" if broker.reachable() else "unreachable"}
        try:
            pending, age = outbox_state(db)
            report["outbox"] = {"pending": pending, "oldest_age_s": round(age, 1)}
        except Exception:
            report["outbox"] = "unknown"
        consumer = getattr(app.state, "consumer", None)
        if consumer is not None:
            lag = sum(s.value for m in metrics.consumer_lag.collect() for s in m.samples)
            report["consumer"] = {"lag": int(lag), "state": liveness.check()[1].get("consumer", "")}
        return checks, report

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The API can be served: database reachable, migrations applied",
        responses={503: {"description": "The database is unreachable or not at this code's migration head"}},
    )
    async def readyz() -> JSONResponse:
        checks, report = await anyio.to_thread.run_sync(readiness, limiter=probe_threads)
        if checks["database"] == "ok" and checks["migrations"] in ("ok", "ahead"):
            return JSONResponse({"status": "ready", "checks": checks, **report})
        return JSONResponse(
            {
                "type": "/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": "The database is unreachable or its schema is not the one this code needs.",
                "code": "not-ready",
                "checks": checks,
                **report,
            },
            status_code=503,
            media_type="application/problem+json",
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        include_in_schema=True,
        response_class=Response,
        responses={
            200: {"description": "Prometheus text exposition format", "content": {"text/plain; version=0.0.4": {}}}
        },
    )
    async def metrics_endpoint():  # type: ignore[no-untyped-def]
        return await anyio.to_thread.run_sync(metrics.render, limiter=probe_threads)  # counts the outbox

    for router in spec.routers:
        app.include_router(router, prefix=f"{prefix}/v1")
        # FastAPI matches an included router's own route objects, whose path lacks the prefix.
        templates.update({id(r): f"{prefix}/v1{r.path}" for r in router.routes if hasattr(r, "path")})
    return app
