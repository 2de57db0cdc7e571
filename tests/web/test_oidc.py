"""Production sign-in: OpenID Connect authorization code with PKCE against a test issuer, whose access token the
enrollment service (RS256, keys by JWKS) accepts. Driven over HTTP as a browser follows redirects."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn

from tests.support import serving
from tests.web.oidc_issuer import running_issuer
from trainingops.broker import free_port, wait_for_port
from web.main import create_app
from web.settings import WebSettings

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def console_in_thread(settings: WebSettings, port: int) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port, timeout_s=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def oidc_world(kafka, databases, tmp_path_factory):  # type: ignore[no-untyped-def]
    # Only enrollment's HTTP face and its token check are needed: no relay, no consumer (on the shared broker the
    # consumer would replay other modules' events, which only slows this module down).
    with running_issuer() as issuer:
        with serving(
            "enrollment",
            database_url=databases.new("web_oidc"),
            kafka_bootstrap_servers=kafka,
            relay_enabled=False,
            consumer_enabled=False,
            jwt_algorithm="RS256",
            jwks_url=f"{issuer.url}/jwks",
            jwt_issuer=issuer.url,
            jwt_audience="trainingops",
        ) as enrollment:
            port = free_port()
            redirect = f"http://127.0.0.1:{port}/auth/callback"
            issuer.redirect_uris.add(redirect)
            settings = WebSettings(
                environment="test",
                cookie_secure=False,
                oidc_issuer=issuer.url,
                oidc_client_id=issuer.client_id,
                oidc_redirect_url=redirect,
                oidc_audience="trainingops",
                enrollment_url=enrollment,
                session_store_url=f"sqlite:///{tmp_path_factory.mktemp('oidc')}/s.db",
            )
            with console_in_thread(settings, port) as console:
                yield issuer, enrollment, console


def test_code_flow_with_pkce_signs_in_and_the_service_accepts_the_token(oidc_world) -> None:
    issuer, enrollment, console = oidc_world
    with httpx.Client(follow_redirects=True, timeout=60) as browser:
        page = browser.get(f"{console}/signin")
        assert "/signin/oidc" in page.text
        page = browser.get(f"{console}/signin/oidc", params={"next": "/admissions"})
        hops = [str(r.url) for r in page.history]
        assert any(h.startswith(f"{issuer.url}/authorize") for h in hops)
        authorize = parse_qs(urlparse(next(h for h in hops if "/authorize" in h)).query)
        assert authorize["code_challenge_method"] == ["S256"] and authorize["state"][0] and authorize["nonce"][0]
        assert page.status_code == 200 and str(page.url) == f"{console}/admissions"
        assert "입학 담당 · jungbu" in page.text, "roles and campuses from the access token"
        assert issuer.token_requests, "the code was exchanged at the token endpoint"
        assert "eyJ" not in page.text


def test_a_callback_with_a_foreign_state_is_refused(oidc_world) -> None:
    issuer, _, console = oidc_world
    with httpx.Client(follow_redirects=False, timeout=60) as browser:
        start = browser.get(f"{console}/signin/oidc")
        authorize = browser.get(start.headers["location"])
        callback = urlparse(authorize.headers["location"])
        code = parse_qs(callback.query)["code"][0]
        r = browser.get(f"{console}/auth/callback", params={"code": code, "state": "forged"})
        assert r.status_code == 303 and r.headers["location"] == "/signin"
        assert browser.get(f"{console}/admissions").headers["location"].startswith("/signin"), "not signed in"


def test_the_issuer_checks_the_verifier_so_the_flow_above_proves_the_console_sent_it(oidc_world) -> None:
    issuer, _, console = oidc_world
    with httpx.Client(follow_redirects=False, timeout=60) as browser:
        start = browser.get(f"{console}/signin/oidc")
        code = parse_qs(urlparse(browser.get(start.headers["location"]).headers["location"]).query)["code"][0]
        r = httpx.post(
            f"{issuer.url}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": next(iter(issuer.redirect_uris)),
                "client_id": issuer.client_id,
                "code_verifier": "x" * 50,
            },
        )
        assert r.status_code == 400 and r.json()["error_description"] == "PKCE verifier"


def test_an_id_token_with_another_nonce_is_refused(oidc_world) -> None:
    issuer, _, console = oidc_world
    issuer.tamper_nonce = True
    try:
        with httpx.Client(follow_redirects=True, timeout=60) as browser:
            page = browser.get(f"{console}/signin/oidc", params={"next": "/admissions"})
            assert str(page.url) == f"{console}/signin"
            assert "로그인하지 못했습니다" in page.text
    finally:
        issuer.tamper_nonce = False


def test_signing_out_ends_the_session(oidc_world) -> None:
    _, _, console = oidc_world
    with httpx.Client(follow_redirects=True, timeout=60) as browser:
        page = browser.get(f"{console}/signin/oidc", params={"next": "/"})
        assert "오늘의 업무" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        out = browser.post(f"{console}/signout", data={"csrf_token": token})
        assert str(out.url) == f"{console}/signin"
        assert str(browser.get(f"{console}/").url).startswith(f"{console}/signin")
