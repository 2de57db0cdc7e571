"""Schemathesis over each service's OpenAPI: whatever a client sends, no 5xx, and every error is a problem."""
from __future__ import annotations

import importlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.support import serving, token

SERVICES = ("enrollment", "attendance", "certification", "placement")
ADMIN = token(["campus_admin"], ["*"], sub="00000000-0000-4000-8000-000000000001")


def _schema(service: str):  # type: ignore[no-untyped-def]
    app = importlib.import_module(f"services.{service}.main").create_app()
    return schemathesis.openapi.from_dict(app.openapi())


SCHEMAS = {s: _schema(s) for s in SERVICES}


@pytest.fixture(scope="module")
def urls(kafka, databases):
    import contextlib

    with contextlib.ExitStack() as stack:
        yield {s: stack.enter_context(serving(s, database_url=databases.new(f"fz{s[:3]}"),
                                              kafka_bootstrap_servers=kafka, consumer_enabled=False))
               for s in SERVICES}


def _check(case, base_url: str) -> None:  # type: ignore[no-untyped-def]
    response = case.call(base_url=base_url, headers=ADMIN, timeout=30)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: " \
                                       f"{response.text[:500]}"
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or response.headers.get("Content-Type") or [""]
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), \
            f"{case.method} {case.formatted_path} -> {response.status_code} {content_type}: {response.text[:300]}"
        body = response.json()
        assert body["status"] == response.status_code and body["type"] and body["title"]


FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@SCHEMAS["enrollment"].parametrize()
@FUZZ
def test_enrollment_never_fails_with_5xx(case, urls):  # type: ignore[no-untyped-def]
    _check(case, urls["enrollment"])


@SCHEMAS["attendance"].parametrize()
@FUZZ
def test_attendance_never_fails_with_5xx(case, urls):  # type: ignore[no-untyped-def]
    _check(case, urls["attendance"])


@SCHEMAS["certification"].parametrize()
@FUZZ
def test_certification_never_fails_with_5xx(case, urls):  # type: ignore[no-untyped-def]
    _check(case, urls["certification"])


@SCHEMAS["placement"].parametrize()
@FUZZ
def test_placement_never_fails_with_5xx(case, urls):  # type: ignore[no-untyped-def]
    _check(case, urls["placement"])
