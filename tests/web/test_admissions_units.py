"""The admissions room's duplicate pages without a browser, against a stand-in of the enrollment API: the
registration result leads to the candidates, each shown with why, and a merge form says which record stays."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from web.settings import WebSettings

A = "0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11"  # the new registration
C = "9a3d2b1c-7e4f-4a6b-8c9d-0e1f2a3b4c5d"  # the record registered before
COHORT = "5d0f3c1e-7a0b-4c2e-9f31-8b7d6a5e4c30"


def person(ident: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "campus": "jungbu",
        "name": name,
        "birth_date": "1994-05-17",
        "gender": None,
        "residency_status": "city_resident",
        "career_break": False,
        "priority_categories": [],
        "leaving_care": False,
        "email": None,
        "phone": "010-2468-1357",
        "name_romanised": None,
        "merged_into": None,
        **extra,
    }


CANDIDATE = {
    "applicant_id": C,
    "campus": "jungbu",
    "name": "김민지",
    "name_romanised": "Kim Minji",
    "birth_date": "1994-05-17",
    "reasons": ["birth_date+name", "phone"],
    "score": 1.0,
}


class Enrollment:
    """What the room asks of the enrollment API, answered from a few dicts; every request is kept."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.merge_answer: tuple[int, dict[str, Any]] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/enrollment/v1/")
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, path, body))
        if request.method == "GET" and path == f"applicants/{A}":
            return httpx.Response(200, json=person(A, "김 민 지"))
        if request.method == "GET" and path == f"applicants/{C}":
            return httpx.Response(200, json=person(C, "김민지"))
        if path == f"applicants/{A}/duplicates":
            return httpx.Response(200, json=[CANDIDATE])
        if path == f"applicants/{C}/duplicates":
            return httpx.Response(200, json=[])
        if path.endswith("/merge"):
            status, answer = self.merge_answer or (200, {})
            return httpx.Response(status, json=answer)
        if path == f"cohorts/{COHORT}":
            return httpx.Response(200, json={"id": COHORT, "campus": "jungbu", "label": "2027-1"})
        if request.method == "POST" and path == "applicants":
            return httpx.Response(201, json={**person(A, "김 민 지"), "possible_duplicates": [CANDIDATE]})
        if request.method == "POST" and path == "applications":
            return httpx.Response(201, json={"id": "app-1", "status": "submitted"})
        return httpx.Response(404, json={"status": 404, "code": "not-found", "title": "not found"})


@pytest.fixture
def room(tmp_path) -> Iterator[tuple[TestClient, Enrollment, str]]:
    from web.main import create_app

    app = create_app(
        WebSettings(environment="test", cookie_secure=False, session_store_url=f"sqlite:///{tmp_path}/s.db")
    )
    api = Enrollment()
    with TestClient(app) as client:
        app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(api))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        client.post("/signin/local", data={"role": "admissions", "campus": "jungbu", "csrf_token": token})
        page = client.get(f"/admissions/applicants/{A}/duplicates")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        yield client, api, csrf


def test_the_candidates_are_shown_with_why_and_a_form_to_merge(room) -> None:
    client, _api, _csrf = room
    page = client.get(f"/admissions/applicants/{A}/duplicates")
    assert page.status_code == 200
    text = page.text
    assert f'data-candidate="{C}"' in text and "김민지 (Kim Minji)" in text
    assert "생년월일과 이름이 같음" in text and "전화번호가 같음" in text and "유사도: 100점 중 100점" in text
    assert f'action="/admissions/applicants/{A}/merge"' in text and 'name="reason"' in text
    assert re.search(r'value="candidate" checked', text), "the record registered before stays unless staff say so"
    assert "이 사람과 비슷한 다른 기록이 없습니다" in client.get(f"/admissions/applicants/{C}/duplicates").text


def test_a_merge_sends_which_record_stays_and_why_and_goes_to_the_survivor(room) -> None:
    client, api, csrf = room
    r = client.post(
        f"/admissions/applicants/{A}/merge",
        data={"csrf_token": csrf, "candidate": C, "keep": "candidate", "reason": "전화로 확인"},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/admissions/applicants/{C}/duplicates")
    assert ("POST", f"applicants/{C}/merge", {"duplicate_id": A, "reason": "전화로 확인"}) in api.requests
    client.post(
        f"/admissions/applicants/{A}/merge",
        data={"csrf_token": csrf, "candidate": C, "keep": "this", "reason": "same"},
        follow_redirects=False,
    )
    assert api.requests[-1] == ("POST", f"applicants/{A}/merge", {"duplicate_id": C, "reason": "same"})


def test_a_refused_merge_names_the_rule_by_the_form_and_a_merge_without_csrf_is_refused(room) -> None:
    client, api, csrf = room
    api.merge_answer = (
        409,
        {
            "type": "/problems/business-rule-violation",
            "title": "A business rule refused the request",
            "status": 409,
            "detail": "Refused by: merge.already-merged.",
            "code": "business-rule-violation",
            "errors": [{"rule": "merge.already-merged", "message": "merged into x", "field": "duplicate_id"}],
        },
    )
    r = client.post(
        f"/admissions/applicants/{A}/merge",
        data={"csrf_token": csrf, "candidate": C, "keep": "this", "reason": "same"},
    )
    assert r.status_code == 409
    assert "그 기록은 이미 다른 기록에 병합되었습니다." in r.text
    assert re.search(r'value="this" checked', r.text), "what was chosen is kept"
    sent = len(api.requests)
    forged = client.post(f"/admissions/applicants/{A}/merge", data={"candidate": C, "keep": "this", "reason": "x"})
    assert forged.status_code in (400, 403) and len(api.requests) == sent


def test_a_registration_with_lookalikes_leads_to_them(room) -> None:
    client, api, csrf = room
    r = client.post(
        f"/admissions/cohorts/{COHORT}/applications",
        data={
            "csrf_token": csrf,
            "name": "김 민 지",
            "name_romanised": "Minji Kim",
            "birth_date": "1994-05-17",
            "residency_status": "city_resident",
        },
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/admissions/applicants/{A}/duplicates")
    [registered] = [body for method, path, body in api.requests if (method, path) == ("POST", "applicants")]
    assert registered["name_romanised"] == "Minji Kim"
    assert "이미 등록된 사람과 비슷합니다" in client.get(r.headers["location"]).text
