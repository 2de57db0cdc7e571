"""The console's skeleton in Chromium: sign-in, nav by role, language, CSRF, a service down, error pages."""

from __future__ import annotations

import re

import httpx
import pytest

from trainingops.broker import free_port

pytestmark = pytest.mark.integration


def test_signin_page_then_role_decides_the_rooms(console, page, check_page) -> None:
    page.goto(console.url + "/")
    assert page.url.startswith(console.url + "/signin")
    assert page.locator("h1").inner_text() == "로그인"
    check_page(page, "signin")

    console.signin(page, "admissions", "jungbu")
    nav = page.locator("header nav").inner_text()
    assert "입학" in nav
    assert "입학 담당 · jungbu" in page.locator(".who").inner_text()
    check_page(page, "home-admissions")

    page.click("text=로그아웃")
    page.wait_for_url(re.compile(r".*/signin"))
    page.goto(console.url + "/admissions")
    assert "/signin" in page.url, "signed out, the room is closed"

    console.signin(page, "finance", "jungbu")
    assert "입학" not in page.locator("header nav").inner_text()
    response = page.goto(console.url + "/admissions")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "이 역할로는 열 수 없는 화면입니다"
    check_page(page, "forbidden")


def test_signin_form_keeps_what_was_typed_and_names_the_field(console, page, check_page) -> None:
    page.goto(console.url + "/signin")
    page.select_option("#f-role", "trainee")
    page.fill("#f-campus", "jungbu")
    page.fill("#f-trainee_id", "not-a-uuid")
    page.click("form[action='/signin/local'] button")
    assert page.locator("#f-trainee_id").input_value() == "not-a-uuid"
    assert page.locator("#f-trainee_id").get_attribute("aria-invalid") == "true"
    assert "훈련생 ID(UUID)를 입력하세요." in page.locator("#err-trainee_id").inner_text()
    check_page(page, "signin-refused")


def test_english_one_click_away_and_remembered(console, page, check_page) -> None:
    console.signin(page, "admissions", "*")
    page.click("button[lang=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Admissions" in page.locator("header nav").inner_text()
    page.goto(console.url + "/")
    assert page.locator("h1").inner_text() == "Today's work", "the choice is remembered"
    check_page(page, "home-en")
    page.click("button[lang=ko]")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "오늘의 업무"


def unsafe_routes() -> list[tuple[str, str]]:
    """Every POST/PUT/PATCH/DELETE route of the console, rooms included, with its path parameters filled in."""
    from web.main import create_app
    from web.settings import WebSettings

    app = create_app(WebSettings(environment="test", session_store_url="sqlite://"))
    out = []

    def walk(routes, prefix: str) -> None:  # type: ignore[no-untyped-def]
        for route in routes:
            ctx = getattr(route, "include_context", None)
            if ctx is not None:  # an included router (FastAPI keeps them nested)
                walk(ctx.included_router.routes, prefix + ctx.prefix)
                continue
            for method in sorted(getattr(route, "methods", None) or ()):
                if method in ("POST", "PUT", "PATCH", "DELETE"):
                    path = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", prefix + route.path)
                    out.append((method, path))

    walk(app.routes, "")
    return out


def test_every_post_without_the_csrf_token_is_refused(console) -> None:
    routes = unsafe_routes()
    assert ("POST", "/signin/local") in routes and len(routes) >= 3
    with httpx.Client(base_url=console.url) as client:
        page = client.get("/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        for method, path in routes:
            r = client.request(method, path, data={"role": "admissions", "campus": "jungbu", "lang": "en"})
            assert r.status_code == 403, (method, path, r.status_code)
        r = client.post("/signin/local", data={"role": "admissions", "campus": "jungbu", "csrf_token": "x" * 43})
        assert r.status_code == 403
        r = client.post("/signin/local", data={"role": "admissions", "campus": "jungbu", "csrf_token": token})
        assert r.status_code == 303


def test_the_session_cookie_is_httponly_samesite_and_secure_when_configured(console, start_console) -> None:
    r = httpx.get(console.url + "/signin")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http in tests
    with httpx.Client(base_url=console.url) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        client.post("/signin/local", data={"role": "admissions", "campus": "jungbu", "csrf_token": token})
        home = client.get("/")
        assert "오늘의 업무" in home.text
        assert "eyJ" not in home.text, "the API token (a JWT) never reaches the browser"
        assert all(not v.startswith("eyJ") for v in client.cookies.values())
    with start_console(WEB_COOKIE_SECURE="true") as secure:
        cookie = httpx.get(secure.url + "/signin").headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie


def test_a_service_that_is_down_is_named_and_the_rest_still_works(start_console, page, check_page) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with start_console({"enrollment": dead}) as c:
        page.goto(c.url + "/")
        from tests.web.harness import signin

        signin(page, c.url, "admissions", "jungbu")
        assert "입학 서비스: 연결 안 됨" in page.locator(".services").inner_text()
        assert "출결 서비스: 정상" in page.locator(".services").inner_text()
        response = page.goto(c.url + "/admissions")
        assert response.status == 503
        assert "입학 서비스에 지금 연결할 수 없습니다." in page.locator(".problem").inner_text()
        assert "입학" in page.locator("header nav").inner_text(), "the layout and nav are still there"
        check_page(page, "service-down")


def test_unknown_page_has_its_own_page(console, page, check_page) -> None:
    console.signin(page, "admissions", "jungbu")
    response = page.goto(console.url + "/no-such-page")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "찾는 페이지가 없습니다"
    check_page(page, "not-found")
