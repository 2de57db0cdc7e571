"""The console without a browser: formatting, catalogues, the session store, settings, error pages, imports."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from web import formatting
from web.core import STAFF_ROLES, Room
from web.i18n import HERE as I18N
from web.i18n import LANGUAGES, rule_text, translate
from web.sessions import Session, SessionStore
from web.settings import WebSettings

WEB = Path(__file__).resolve().parents[2] / "web"


def test_krw_has_thousands_separators_and_dates_are_seoul_time() -> None:
    assert formatting.krw(1234000) == "1,234,000원"
    assert formatting.krw(1234000, "en") == "KRW 1,234,000"
    assert formatting.krw(None) == ""
    # 15:30 UTC is 00:30 the next day in Seoul
    assert formatting.local_datetime("2026-12-01T15:30:00Z", "Asia/Seoul") == "2026-12-02 00:30"
    assert formatting.local_datetime("2026-12-01T15:30:00", "Asia/Seoul") == "2026-12-02 00:30", "naive is UTC"
    assert formatting.local_date("2026-12-02", "ko", weekday=True) == "2026-12-02 (수)"
    assert formatting.local_date("2026-12-02", "en", weekday=True) == "2026-12-02 (Wed)"


def test_every_catalogue_has_both_languages_with_the_same_keys() -> None:
    rooms = {p.name.rsplit(".", 2)[0] for p in I18N.glob("*.*.json")}
    assert {"common", "home", "admissions"} <= rooms
    for room in rooms:
        data = {lang: json.loads((I18N / f"{room}.{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}
        assert set(data["ko"]) == set(data["en"]), room
        assert set(data["ko"].get("rules", {})) == set(data["en"].get("rules", {})), room
        for lang in LANGUAGES:
            assert all(isinstance(v, str) and v for k, v in data[lang].items() if k != "rules"), (room, lang)


def test_rule_codes_in_plain_words_falling_back_to_the_apis_sentence() -> None:
    assert rule_text("ko", "validation-error") == "입력값을 확인하세요."
    assert rule_text("en", "validation-error") == "Please check what you entered."
    assert rule_text("ko", "some.unknown-rule", "The API's own detail.") == "The API's own detail."
    assert translate("en", "common.unavailable", service="X") == "X cannot be reached right now."
    assert translate("ko", "nosuchroom.key") == "nosuchroom.key"


def test_the_console_imports_nothing_of_the_services() -> None:
    for path in WEB.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("services", "shared")), f"{path}: imports {name}"


def test_session_store_keeps_only_the_hash_of_the_key(tmp_path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path}/s.db", ttl_s=60)
    s = Session.new()
    s.sign_in(token="tok", user={"sub": "x", "roles": ["admissions"], "campuses": ["jungbu"]})
    store.save(s)
    with store.engine.connect() as conn:
        keys = [r[0] for r in conn.exec_driver_sql("select key_hash from web_sessions")]
    assert keys and s.key not in keys
    assert store.load(s.key).token == "tok"
    assert store.load("guessed") is None
    old = s.key
    s.sign_in(token="tok2", user={"sub": "y", "roles": [], "campuses": []})
    store.save(s)
    assert store.load(old) is None, "signing in again gives a new key and drops the old one"
    s.sign_out()
    store.save(s)
    assert store.load(s.key) is None


def test_local_signin_is_refused_outside_local_runs(tmp_path) -> None:
    with pytest.raises(ValueError, match="OpenID Connect"):
        WebSettings(environment="production")
    with pytest.raises(ValueError, match="localhost"):
        WebSettings(
            environment="production",
            oidc_issuer="https://id.example",
            oidc_client_id="c",
            oidc_redirect_url="https://c.example/auth/callback",
            cookie_secure=False,
        )
    from web.main import create_app

    settings = WebSettings(
        environment="production",
        oidc_issuer="https://id.example",
        oidc_client_id="c",
        oidc_redirect_url="https://c.example/auth/callback",
        session_store_url=f"sqlite:///{tmp_path}/s.db",
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        page = client.get("/signin")
        assert "/signin/local" not in page.text and "/signin/oidc" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = client.post(
            "/signin/local", data={"role": "campus_admin", "campus": "*", "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 404
        assert client.get("/", follow_redirects=False).status_code == 303


def test_an_unexpected_error_shows_the_consoles_own_500_page_never_a_trace(tmp_path) -> None:
    from web.main import create_app
    from web.rooms import ROOMS

    router = APIRouter()

    @router.get("")
    async def broken() -> None:
        raise RuntimeError("secret internals /path/to/file.py")

    rooms = [*ROOMS, Room(name="broken", router=router, roles=STAFF_ROLES)]
    app = create_app(
        WebSettings(environment="test", session_store_url=f"sqlite:///{tmp_path}/s.db", cookie_secure=False),
        rooms=rooms,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        client.post("/signin/local", data={"role": "admissions", "campus": "jungbu", "csrf_token": token})
        r = client.get("/broken")
    assert r.status_code == 500
    assert "예상하지 못한 오류가 났습니다" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_vendored_scripts_are_the_pinned_versions_with_their_licences() -> None:
    pins = json.loads((WEB / "static" / "vendor" / "package.json").read_text())
    htmx = (WEB / "static" / "vendor" / "htmx" / "htmx.min.js").read_text()
    assert f'version:"{pins["dependencies"]["htmx.org"]}"' in htmx
    assert (WEB / "static" / "vendor" / "htmx" / "LICENSE").exists()
    axe_dir = Path(__file__).resolve().parent / "vendor" / "axe-core"
    axe_pin = pins["devDependencies (tests/web/vendor, injected by the browser tests only)"]["axe-core"]
    assert (axe_dir / "axe.min.js").read_text()[:40].startswith(f"/*! axe v{axe_pin}")
    assert (axe_dir / "LICENSE").exists()
    for template in (WEB / "templates").rglob("*.html"):
        assert not re.search(r'(src|href)="(https?:)?//', template.read_text()), f"{template}: no CDN"


@pytest.mark.parametrize(
    ("lang", "late", "joined"),
    [("ko", "종료 후 판정", "2027-03-09 입과"), ("en", "Decided after close", "Joined 2027-03-09")],
)
def test_the_attendance_roster_tags_a_late_decision_and_a_late_join(lang: str, late: str, joined: str) -> None:
    from web.core import make_templates

    cohort = {"id": "k1", "start_date": "2027-03-02", "closed_on": "2027-06-30", "completion_threshold": 0.8}
    row = {
        "trainee_id": "t1",
        "name": "김민지",
        "status": "active",
        "enrolled_on": "2027-03-02",
        "current_rate": 0.0,
        "max_possible_rate": 0.0,
        "at_risk": False,
        "outcome": None,
        "late_decision": False,
        "decided_at": None,
    }
    late_row = {
        **row,
        "trainee_id": "t2",
        "enrolled_on": "2027-03-09",
        "outcome": "not_completed",
        "late_decision": True,
        "decided_at": "2027-07-03T01:00:00Z",
    }
    html = (
        make_templates()
        .get_template("attendance/cohort.html")
        .render(lang=lang, cohort=cohort, roster=[row, late_row], sessions=[], months=[], day="2027-07-03")
    )
    on_time_cell, late_cell = re.findall(r'<tr data-trainee="t\d">(.*?)</tr>', html, re.S)
    assert late in late_cell and "late-decision" in late_cell and joined in late_cell
    assert "2027-07-03" in late_cell  # the day of the decision, in the tag's explanation
    assert "late-decision" not in on_time_cell and "joined-late" not in on_time_cell


def test_the_console_logs_json_with_one_access_line_per_request_and_no_query(tmp_path, capsys) -> None:
    from web.main import create_app

    settings = WebSettings(session_store_url=f"sqlite:///{tmp_path}/s.db", cookie_secure=False)
    with TestClient(create_app(settings)) as client:
        capsys.readouterr()
        r = client.get(
            "/signin?next=/admissions&name=%EA%B9%80%EB%AF%BC%EC%A7%80", headers={"X-Correlation-ID": "gw-1"}
        )
        assert r.status_code == 200 and r.headers["x-correlation-id"] == "gw-1"
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    # (a service app built earlier in this test process leaves its own JSON handler on the root logger too)
    [line] = [x for x in lines if x.get("route") == "/signin" and x["service"] == "web"]
    assert (line["service"], line["method"], line["status"], line["correlation_id"]) == ("web", "GET", 200, "gw-1")
    assert isinstance(line["duration_ms"], float)
    assert not any("김민지" in json.dumps(x, ensure_ascii=False) or "name=" in json.dumps(x) for x in lines)


def test_the_access_line_names_a_room_page_by_its_route_template(tmp_path, capsys) -> None:
    from web.main import create_app

    settings = WebSettings(session_store_url=f"sqlite:///{tmp_path}/s.db", cookie_secure=False)
    with TestClient(create_app(settings)) as client:
        page = client.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post("/signin/local", data={"role": "admissions", "campus": "jungbu", "csrf_token": token})
        capsys.readouterr()
        client.get("/admissions/cohorts/5bcca519-31f7-49ab-8e40-097e60db5f10")  # the API is not there: any status
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    access = [x["route"] for x in lines if x.get("logger") == "web.access" and x["service"] == "web"]
    assert access == ["/admissions/cohorts/{cohort_id}"]
