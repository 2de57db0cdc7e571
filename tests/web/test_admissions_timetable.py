"""Changing a published timetable in Chromium: a session cancelled, a make-up session added, a session moved, a
change refused by the field it concerns (what was typed kept), the end date extended; the page and the API agree
after each; an auditor reads the history without the forms."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.auth import mint_token

pytestmark = pytest.mark.integration


def seoul_today() -> date:
    return datetime.now(ZoneInfo("Asia/Seoul")).date()


def next_weekday(day: date, weekday: int) -> date:
    return day + timedelta((weekday - day.weekday()) % 7)


@pytest.fixture()
def cohort(console) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A published cohort on a campus of its own: weekdays 09:00-18:00, starting in two weeks, five weeks long."""
    campus = "tt" + uuid.uuid4().hex[:6]
    today = seoul_today()
    start = next_weekday(today + timedelta(days=14), 0)
    with httpx.Client(
        base_url=console.services["enrollment"] + "/enrollment/v1",
        headers={"Authorization": "Bearer " + mint_token("setup", ["admissions"], [campus])},
        timeout=30,
    ) as api:
        api.post("/campuses", json={"code": campus, "name": "시간표캠퍼스"}).raise_for_status()
        programme = api.post(
            "/programmes",
            json={
                "code": f"{campus}-CNC",
                "title": "CNC 가공",
                "campus": campus,
                "track": "specialist_technical",
                "total_hours": 200,
            },
        )
        programme.raise_for_status()
        created = api.post(
            "/cohorts",
            json={
                "programme_id": programme.json()["id"],
                "label": "2027-T",
                "capacity": 10,
                "application_opens": today.isoformat(),
                "application_closes": (today + timedelta(days=7)).isoformat(),
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=32)).isoformat(),  # a Friday
                "timetable": {"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00", "break_minutes": 60},
            },
        )
        created.raise_for_status()
    return {**created.json(), "campus": campus}


def api_view(console, cohort: dict[str, Any]) -> tuple[dict, list[dict], list[dict]]:  # type: ignore[no-untyped-def]
    """The cohort, its sessions and its timetable changes as the API has them."""
    headers = {"Authorization": "Bearer " + mint_token("check", ["auditor"], [cohort["campus"]])}
    base = f"{console.services['enrollment']}/enrollment/v1/cohorts/{cohort['id']}"
    with httpx.Client(headers=headers, timeout=30) as api:
        c, sessions, changes = (api.get(base + path) for path in ("", "/sessions", "/timetable-changes"))
    return c.json(), sessions.json(), changes.json()


def assert_page_agrees_with_api(page, console, cohort: dict[str, Any]) -> dict:  # type: ignore[no-untyped-def]
    c, sessions, changes = api_view(console, cohort)
    assert page.locator("#plan-version").inner_text() == str(c["plan_version"])
    assert c["end_date"] in page.locator("#runs").inner_text()
    shown = page.locator("#sessions tbody tr").evaluate_all("rows => rows.map(r => r.dataset.date)")
    assert shown == [s["date"] for s in sessions]
    versions = page.locator("#changes tbody tr[data-version]").evaluate_all(
        "rows => rows.map(r => [Number(r.dataset.version), r.dataset.kind])"
    )
    assert versions == [[ch["plan_version"], ch["kind"]] for ch in reversed(changes)]
    assert c["plan_version"] == 1 + len(changes)
    return c


def submit(page, kind: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f"form:has(input[name=kind][value={kind}]) button")
    page.wait_for_load_state("domcontentloaded")


def test_timetable_changes_from_the_console(console, page, check_page, cohort) -> None:
    start, end = date.fromisoformat(cohort["start_date"]), date.fromisoformat(cohort["end_date"])
    url = f"{console.url}/admissions/cohorts/{cohort['id']}/timetable"
    console.signin(page, "admissions", cohort["campus"])
    page.goto(url)
    assert page.locator("#plan-version").inner_text() == "1"
    assert "공고한 뒤 바뀐 적이 없습니다." in page.locator("#changes").inner_text()
    count = page.locator("#sessions tbody tr").count()
    assert count == cohort["session_count"] == 25
    check_page(page, "admissions-timetable-change")

    # cancel the first session (a public holiday, say)
    first = f"{start.isoformat()} 09:00"
    page.select_option("#f-cancel-session_date", first)
    page.fill("#f-cancel-reason", "임시공휴일 휴강")
    submit(page, "cancel")
    assert "수업을 취소했습니다." in page.locator(".flash").inner_text()
    assert page.locator("#sessions tbody tr").count() == count - 1
    assert page.locator(f"#sessions tr[data-date='{start.isoformat()}']").count() == 0
    row = page.locator("#changes tbody tr").first
    assert row.get_attribute("data-kind") == "cancel" and "임시공휴일 휴강" in row.inner_text()
    assert "수업 취소" in row.inner_text() and start.isoformat() in row.inner_text()
    assert_page_agrees_with_api(page, console, cohort)

    # a make-up session on the first Saturday, in the morning only
    saturday = start + timedelta(days=5)
    page.fill("#f-add-date", saturday.isoformat())
    page.fill("#f-add-start", "09:00")
    page.fill("#f-add-end", "13:00")
    page.fill("#f-add-reason", "휴강 보강")
    submit(page, "add")
    assert "보강 수업을 추가했습니다." in page.locator(".flash").inner_text()
    assert page.locator("#sessions tbody tr").count() == count
    made_up = page.locator(f"#sessions tr[data-date='{saturday.isoformat()}']")
    assert made_up.locator("td").nth(2).inner_text() == "13:00" and made_up.locator("td").nth(3).inner_text() == "3.0"
    assert page.locator("#changes tbody tr").first.get_attribute("data-kind") == "add"
    assert_page_agrees_with_api(page, console, cohort)

    # a session moved to the afternoon of the next day, its end kept
    tuesday = start + timedelta(days=1)
    page.select_option("#f-move-session_date", f"{tuesday.isoformat()} 09:00")
    page.fill("#f-move-date", saturday.isoformat())
    page.fill("#f-move-start", "14:00")
    page.fill("#f-move-reason", "실습실 점검")
    submit(page, "move")
    assert "수업을 옮겼습니다." in page.locator(".flash").inner_text()
    moved = page.locator("#changes tbody tr").first
    assert moved.get_attribute("data-kind") == "move"
    assert f"{tuesday.isoformat()}" in moved.inner_text() and "14:00–18:00" in moved.inner_text()
    assert page.locator(f"#sessions tr[data-date='{saturday.isoformat()}']").count() == 2
    c = assert_page_agrees_with_api(page, console, cohort)
    assert c["plan_version"] == 4

    # refused: a make-up session after the end date, shown by the date with what was typed kept
    late = end + timedelta(days=3)  # the Monday after the last week
    page.fill("#f-add-date", late.isoformat())
    page.fill("#f-add-start", "10:00")
    page.fill("#f-add-end", "17:00")
    page.fill("#f-add-reason", "추가 실습")
    with page.expect_response(re.compile(r".*/timetable-changes$")) as answer:
        page.click("form:has(input[name=kind][value=add]) button")
    assert answer.value.status == 409
    assert page.locator("#f-add-date").get_attribute("aria-invalid") == "true"
    assert page.locator("#err-add-date [data-rule='timetable.outside-cohort']").count() == 1
    assert "기수의 훈련 기간(개강일~종강일) 밖의 날짜입니다." in page.locator("#err-add-date").inner_text()
    assert page.locator("#f-add-date").input_value() == late.isoformat()
    assert page.locator("#f-add-start").input_value() == "10:00"
    assert page.locator("#f-add-end").input_value() == "17:00"
    assert page.locator("#f-add-reason").input_value() == "추가 실습"
    assert page.locator("#f-move-date").get_attribute("aria-invalid") is None  # only the form that was sent
    assert page.locator(".flash").count() == 0
    check_page(page, "admissions-timetable-refused")
    assert_page_agrees_with_api(page, console, cohort)  # nothing changed

    # a required reason left empty is named by its field
    page.fill("#f-extend-end_date", (end + timedelta(days=7)).isoformat())
    submit(page, "extend")
    assert "필수 항목입니다." in page.locator("#err-extend-reason").inner_text()
    assert page.locator("#f-extend-end_date").input_value() == (end + timedelta(days=7)).isoformat()

    # extend the end date by a week; the refused make-up day now fits
    page.fill("#f-extend-reason", "휴강분 보충")
    submit(page, "extend")
    assert "종강일을 연장했습니다." in page.locator(".flash").inner_text()
    new_end = end + timedelta(days=7)
    assert new_end.isoformat() in page.locator("#runs").inner_text()
    extended = page.locator("#changes tbody tr").first
    assert extended.get_attribute("data-kind") == "extend"
    assert f"종강일 {end.isoformat()}" in extended.inner_text() and new_end.isoformat() in extended.inner_text()
    page.fill("#f-add-date", late.isoformat())
    page.fill("#f-add-reason", "추가 실습")
    submit(page, "add")
    assert "보강 수업을 추가했습니다." in page.locator(".flash").inner_text()
    c = assert_page_agrees_with_api(page, console, cohort)
    assert c["plan_version"] == 6 and c["end_date"] == new_end.isoformat()
    check_page(page, "admissions-timetable-changed")
    page.click("button[lang=en]")
    assert page.locator("#changes thead th").first.inner_text() == "Version"
    assert page.locator("#changes tbody tr").first.locator("td").nth(3).inner_text() == "Add a make-up session"
    check_page(page, "admissions-timetable-changed-en")
    page.click("button[lang=ko]")

    # an auditor reads the history and sees no form
    page.click("text=로그아웃")
    console.signin(page, "auditor", cohort["campus"])
    page.goto(url)
    assert page.locator("form[action$='/timetable-changes']").count() == 0
    assert page.locator("#changes tbody tr[data-version]").count() == 5
    assert_page_agrees_with_api(page, console, cohort)
    check_page(page, "admissions-timetable-auditor")
