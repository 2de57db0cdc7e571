"""Schemathesis over each service's OpenAPI: every built-in check, every phase (examples, coverage, fuzzing,
and stateful link-following), bounded. 0 failures of any check is the aim.

Runs in `make test`, bounded: ``FUZZ_EXAMPLES`` (default 5) generated cases per operation and phase, and
``STATEFUL_EXAMPLES`` scenarios of at most ``STATEFUL_STEPS`` calls per service. Seen on the 2-core machine under
heavy load from other work: enrollment 29 tests in 266 s, the other three 66 tests in 219 s, 0 failures. Raise
``FUZZ_EXAMPLES`` for a deeper run by hand. Besides schemathesis's own checks (no 5xx among them), two checks of
this project: every error is a problem, and a refusal of a schema-valid request names a rule beyond the schema.

Configuration: schemathesis.toml next to this file (one setting differs from the defaults; it says why).
The same run unbounded, by hand:
``schemathesis run --config-file tests/integration/api/schemathesis.toml --checks all <url>/<service>/openapi.json``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from shared.registry import NAMES as SERVICES
from tests.support import serving, token

ADMIN = token(["campus_admin"], ["*"], sub="00000000-0000-4000-8000-000000000001")
CONFIG = SchemathesisConfig.from_path(Path(__file__).with_name("schemathesis.toml"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
STATEFUL_EXAMPLES, STATEFUL_STEPS = 8, 6

# Why a request the schema allows may still be refused (see schemathesis.toml): rules no JSON Schema can state.
REASONS_BEYOND_THE_SCHEMA = {
    "value_error",  # one field against another: end before start, max < min age
    "date.out-of-range",
    "date.future",  # 1900 to ten years ahead; not after today
    "text.control-character",  # NUL and other control characters
    "personal-data.resident-registration-number",  # DOMAIN.md's personal-data rule
}


def _schema(service: str):  # type: ignore[no-untyped-def]
    app = importlib.import_module(f"services.{service}.main").create_app()
    return schemathesis.openapi.from_dict(app.openapi(), config=CONFIG)


SCHEMAS = {s: _schema(s) for s in SERVICES}


@pytest.fixture(scope="module")
def urls(kafka, databases):
    with contextlib.ExitStack() as stack:
        yield {
            s: stack.enter_context(
                serving(
                    s, database_url=databases.new(f"fz{s[:3]}"), kafka_bootstrap_servers=kafka, consumer_enabled=False
                )
            )
            for s in SERVICES
        }


def _content_type(response) -> str:  # type: ignore[no-untyped-def]
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or [""]
    return value[0] if isinstance(value, list) else value


def errors_are_problems(ctx, response, case):  # type: ignore[no-untyped-def]
    """Every 4xx and 5xx is an RFC 9457 problem whose status is the response's."""
    if response.status_code >= 400:
        assert _content_type(response).startswith("application/problem+json"), (
            f"{response.status_code} answered as {_content_type(response)!r}: {response.text[:300]}"
        )
        body = response.json()
        assert body["status"] == response.status_code and body["type"] and body["title"] and body["code"]
    return None


def refusals_name_a_reason_the_schema_cannot_state(ctx, response, case):  # type: ignore[no-untyped-def]
    """A schema-valid request refused with 400/422 names a business rule or a reason beyond the schema; a refusal
    for a wrong type, a missing field or a pattern means the schema and the server disagree."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    body = response.json()
    if body.get("code") == "business-rule-violation":
        assert body.get("errors") and all(e.get("rule") for e in body["errors"]), body
        return None
    shaped = [e for e in body.get("errors") or [] if e.get("rule") not in REASONS_BEYOND_THE_SCHEMA]
    assert not shaped, f"a request the schema allows was refused for a reason the schema could state: {shaped}"
    return None


CHECKS = [errors_are_problems, refusals_name_a_reason_the_schema_cannot_state]
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _run(case, url: str) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(base_url=url, headers=ADMIN, timeout=30, additional_checks=CHECKS)


@SCHEMAS["enrollment"].parametrize()
@FUZZ
def test_enrollment_conforms(case, urls):  # type: ignore[no-untyped-def]
    _run(case, urls["enrollment"])


@SCHEMAS["attendance"].parametrize()
@FUZZ
def test_attendance_conforms(case, urls):  # type: ignore[no-untyped-def]
    _run(case, urls["attendance"])


@SCHEMAS["certification"].parametrize()
@FUZZ
def test_certification_conforms(case, urls):  # type: ignore[no-untyped-def]
    _run(case, urls["certification"])


@SCHEMAS["placement"].parametrize()
@FUZZ
def test_placement_conforms(case, urls):  # type: ignore[no-untyped-def]
    _run(case, urls["placement"])


@pytest.mark.parametrize("service", SERVICES)
def test_stateful_link_following_conforms(service, urls):  # type: ignore[no-untyped-def]
    url = urls[service]

    class Machine(SCHEMAS[service].as_state_machine()):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
            return {"base_url": url, "headers": ADMIN, "timeout": 30}

        def validate_response(self, response, case, additional_checks=(), **kwargs):  # type: ignore[no-untyped-def]
            case.validate_response(
                response,
                additional_checks=list(additional_checks) + CHECKS,
                transport_kwargs=self.get_call_kwargs(case),
            )

    Machine.TestCase.settings = settings(
        max_examples=STATEFUL_EXAMPLES,
        stateful_step_count=STATEFUL_STEPS,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    Machine.TestCase().runTest()
