"""The timetable page's change forms without a browser, against a stand-in of the enrollment API: what each form
sends, required fields named before the API is asked, a refusal shown only in the form that was sent, and an
auditor who reads the history but can neither see nor send a change."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from web.settings import WebSettings

COHORT = "5d0f3c1e-7a0b-4c2e-9f31-8b7d6a5e4c30"
DAY = date.today() + timedelta(days=30)  # far enough ahead to be upcoming in any time zone
CHANGE = {
    "id": "7c1f0e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
    "cohort_id": COHORT,
    "plan_version": 2,
    "kind": "cancel",
    "session": {"date": DAY.isoformat(), "start": "09:00:00", "end": "18:00:00", "hours": 8.0},
    "new_session": None,
    "old_end_date": None,
    "new_end_date": None,
    "reason": "정전",
    "changed_by": "local-admissions-1",
    "changed_at": "2026-12-01T01:00:00Z",
}
OUTSIDE = {
    "type": "/problems/business-rule-violation",
    "title": "A business rule refused the request",
    "status": 409,
    "code": "business-rule-violation",
    "errors": [{"rule": "timetable.outside-cohort", "message": "outside", "field": "date"}],
}


class Enrollment:
    """The cohort, its sessions and its changes; every request kept; the answer to a change can be set."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.change_answer: tuple[int, dict[str, Any]] = (201, CHANGE)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/enrollment/v1/")
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, path, body))
        if path == f"cohorts/{COHORT}":
            return httpx.Response(
                200,
                json={
                    "id": COHORT,
                    "campus": "jungbu",
                    "programme_code": "WELD",
                    "label": "2027-1",
                    "start_date": (DAY - timedelta(days=3)).isoformat(),
                    "end_date": (DAY + timedelta(days=30)).isoformat(),
                    "plan_version": 2,
                },
            )
        if path == f"cohorts/{COHORT}/sessions":
            return httpx.Response(
                200, json=[{"date": DAY.isoformat(), "start": "13:00:00", "end": "18:00:00", "hours": 5.0}]
            )
        if path == f"cohorts/{COHORT}/timetable-changes" and request.method == "GET":
            return httpx.Response(200, json=[CHANGE])
        if path == f"cohorts/{COHORT}/timetable-changes" and request.method == "POST":
            status, answer = self.change_answer
            return httpx.Response(status, json=answer)
        return httpx.Response(404, json={"status": 404, "code": "not-found", "title": "not found"})

    def changes_sent(self) -> list[Any]:
        return [b for m, p, b in self.requests if m == "POST" and p.endswith("/timetable-changes")]


@pytest.fixture
def signed_in(tmp_path) -> Iterator[Callable[[str], tuple[TestClient, Enrollment, str]]]:
    from web.main import create_app

    clients: list[TestClient] = []

    def _as(role: str) -> tuple[TestClient, Enrollment, str]:
        app = create_app(
            WebSettings(environment="test", cookie_secure=False, session_store_url=f"sqlite:///{tmp_path}/{role}.db")
        )
        api = Enrollment()
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(api))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)  # type: ignore[union-attr]
        client.post("/signin/local", data={"role": role, "campus": "jungbu", "csrf_token": token})
        page = client.get(f"/admissions/cohorts/{COHORT}/timetable")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        return client, api, csrf

    yield _as
    for client in clients:
        client.__exit__(None, None, None)


def post(client: TestClient, csrf: str, **values: str) -> httpx.Response:
    return client.post(
        f"/admissions/cohorts/{COHORT}/timetable-changes",
        data={"csrf_token": csrf, **values},
        follow_redirects=False,
    )


def test_a_picked_session_is_sent_as_its_date_and_start_and_a_move_keeps_blank_times(signed_in) -> None:
    client, api, csrf = signed_in("admissions")
    r = post(client, csrf, kind="cancel", session_date=f"{DAY} 13:00", reason=" 정전 ")
    assert (r.status_code, r.headers["location"]) == (303, f"/admissions/cohorts/{COHORT}/timetable#changes-h")
    post(client, csrf, kind="move", session_date=f"{DAY} 13:00", date=str(DAY + timedelta(1)), start="", reason="x")
    post(client, csrf, kind="extend", end_date=str(DAY + timedelta(60)), reason="보충")
    assert api.changes_sent() == [
        {"kind": "cancel", "session_date": str(DAY), "session_start": "13:00", "reason": "정전"},
        {
            "kind": "move",
            "session_date": str(DAY),
            "session_start": "13:00",
            "date": str(DAY + timedelta(1)),
            "reason": "x",
        },
        {"kind": "extend", "end_date": str(DAY + timedelta(60)), "reason": "보충"},
    ]
    assert "수업을 취소했습니다." in client.get(r.headers["location"]).text


def test_required_fields_left_empty_are_named_by_their_fields_before_the_api_is_asked(signed_in) -> None:
    client, api, csrf = signed_in("admissions")
    r = post(client, csrf, kind="add", date="", start="09:00", end="", reason="")
    assert r.status_code == 422 and api.changes_sent() == []
    for name in ("date", "end", "reason"):
        assert re.search(rf'<ul class="field-errors" id="err-add-{name}">\s*<li data-rule="missing">', r.text), name
    assert 'id="err-add-start"' not in r.text and 'id="f-add-start" name="start" type="time" value="09:00"' in r.text


def test_a_refusal_shows_only_in_the_form_that_was_sent_with_what_was_typed(signed_in) -> None:
    client, api, csrf = signed_in("admissions")
    api.change_answer = (409, OUTSIDE)
    late = str(DAY + timedelta(days=90))
    r = post(client, csrf, kind="add", date=late, start="10:00", end="17:00", reason="추가 실습")
    assert r.status_code == 409
    assert 'id="err-add-date"' in r.text and "기수의 훈련 기간(개강일~종강일) 밖의 날짜입니다." in r.text
    assert f'id="f-add-date" name="date" type="date" value="{late}"' in r.text
    assert 'value="추가 실습"' in r.text
    assert 'id="err-move-date"' not in r.text and 'id="f-move-date" name="date" type="date" value=""' in r.text


def test_an_auditor_reads_the_history_but_sees_and_sends_no_change(signed_in) -> None:
    client, api, csrf = signed_in("auditor")
    page = client.get(f"/admissions/cohorts/{COHORT}/timetable")
    assert page.status_code == 200 and 'data-kind="cancel"' in page.text and "정전" in page.text
    assert "timetable-changes" not in page.text  # no form posts a change
    r = post(client, csrf, kind="cancel", session_date=f"{DAY} 13:00", reason="x")
    assert r.status_code == 403 and api.changes_sent() == []
