"""The admissions room in Chromium: campus, programme, cohort (with refusals shown by their fields), timetable,
import of 30 applications with the per-row report, the selection and its result, seats accepted, declined,
rejected and withdrawn, stats with the competition ratio; keyboard-only use; another campus never shows."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.auth import mint_token

pytestmark = pytest.mark.integration


def seoul_today() -> date:
    return datetime.now(ZoneInfo("Asia/Seoul")).date()


def applications_csv(n: int = 30) -> bytes:
    """30 rows: 3 too young (ineligible), 2 unreadable (refused), 4 priority, 2 leaving care, the rest plain."""
    today = seoul_today()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "name",
            "birth_date",
            "gender",
            "residency_status",
            "career_break",
            "priority_categories",
            "leaving_care",
            "score",
        ]
    )
    for i in range(n):
        birth = date(today.year - 30, 3, 1) + timedelta(days=i)
        residency, priority, leaving = "city_resident", "", "false"
        if i < 3:
            birth = date(today.year - 16, 1, 1)  # under the programme's 18
        elif i < 5:
            residency = "martian"  # refused row
        elif i < 9:
            priority = "single_parent"
        elif i < 11:
            birth, leaving = date(today.year - 21, 5, 5), "true"
        w.writerow(
            [
                f"지원자{i + 1:02d}",
                birth.isoformat(),
                "female" if i % 2 else "male",
                residency,
                "false",
                priority,
                leaving,
                90 - i,
            ]
        )
    return out.getvalue().encode("utf-8")


def tab_to(page, selector: str, limit: int = 80) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until the focused element matches ``selector`` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.fixture()
def campus() -> str:
    return "adm" + uuid.uuid4().hex[:6]


def test_admissions_journey(console, page, check_page, campus, tmp_path) -> None:
    today = seoul_today()
    console.signin(page, "admissions", campus)
    page.click("header nav >> text=입학")
    check_page(page, "admissions-cohorts-empty")

    # campus: a bad code is refused by its field, what was typed stays
    page.click(".subnav >> text=캠퍼스")
    page.fill("#f-code", "bad code!")
    page.fill("#f-name", "중부캠퍼스")
    page.click("text=캠퍼스 추가 >> nth=-1")
    assert page.locator("#f-code").get_attribute("aria-invalid") == "true"
    assert "영문, 숫자, -, _ 만 쓸 수 있습니다." in page.locator("#err-code").inner_text()
    assert page.locator("#f-name").input_value() == "중부캠퍼스"
    check_page(page, "admissions-campus-refused")
    page.fill("#f-code", campus)
    page.click("button:has-text('캠퍼스 추가')")
    assert "캠퍼스를 추가했습니다." in page.locator(".flash").inner_text()
    assert campus in page.locator("table").inner_text()
    check_page(page, "admissions-campuses")

    # programme
    page.click(".subnav >> text=과정")
    page.fill("#f-code", f"{campus}-WELD")
    page.fill("#f-title", "특수용접 실무")
    page.select_option("#f-campus", campus)
    page.select_option("#f-track", "national_qualification")
    page.fill("#f-total_hours", "960")
    page.fill("#f-min_age", "18")
    page.click("button:has-text('과정 추가')")
    assert "과정을 추가했습니다." in page.locator(".flash").inner_text()
    check_page(page, "admissions-programmes")

    # cohort: ends before it starts -> refused, values kept; then published
    page.click("a:has-text('새 기수') >> nth=0")
    page.select_option("#f-programme_id", label=f"{campus}-WELD · 특수용접 실무 ({campus})")
    page.fill("#f-label", "2027-1")
    page.fill("#f-capacity", "10")
    page.fill("#f-application_opens", today.isoformat())
    page.fill("#f-application_closes", (today + timedelta(days=10)).isoformat())
    page.fill("#f-start_date", (today + timedelta(days=20)).isoformat())
    page.fill("#f-end_date", (today + timedelta(days=5)).isoformat())
    page.click("button:has-text('기수 공고')")
    assert page.locator(".problem").count() == 1 and page.locator("#f-label").input_value() == "2027-1"
    assert page.locator("#wd-0").is_checked() and not page.locator("#wd-6").is_checked()
    check_page(page, "admissions-cohort-refused")
    page.fill("#f-end_date", (today + timedelta(days=140)).isoformat())
    page.click("button:has-text('기수 공고')")
    assert "기수를 공고했습니다" in page.locator(".flash").inner_text()
    cohort_url = page.url
    cohort_id = cohort_url.rsplit("/", 1)[1]
    sessions = int(page.locator(".facts >> dd >> nth=3").inner_text())
    assert sessions > 50
    check_page(page, "admissions-cohort")

    page.click(".subnav >> text=시간표")
    assert page.locator("#sessions tbody tr").count() == sessions
    check_page(page, "admissions-timetable")

    # import 30 applications: per-row report on screen
    path = tmp_path / "applications.csv"
    path.write_bytes(applications_csv())
    page.click(".subnav >> text=일괄 등록")
    page.set_input_files("#f-file", str(path))
    page.click("button:has-text('올리기')")
    page.wait_for_selector("#import-report")
    assert "30행 중 28행 등록, 2행 거절" in page.locator("#report-h").inner_text()
    assert page.locator("tr[data-outcome=refused]").count() == 2
    assert "목록에 있는 값을 고르세요." in page.locator("tr[data-row='5']").inner_text()
    check_page(page, "admissions-import-report")

    page.click("text=지원서 목록 보기")
    rows = page.locator("#applications tbody tr")
    assert rows.count() == 28
    young = page.locator("tr[data-status=ineligible]")
    assert young.count() == 3
    assert "최소 연령에 미달합니다(개강일 기준)." in young.first.inner_text()
    check_page(page, "admissions-applications")

    # stats and selection
    page.goto(cohort_url)
    assert page.locator("[data-ratio]").inner_text() == "2.80 : 1"
    page.click("button:has-text('선발 실행')")
    page.wait_for_url(re.compile(".*/selection$"))
    assert "선발을 실행했습니다." in page.locator(".flash").inner_text()
    assert "좌석 10 / 정원 10" in page.locator("#seats-h").inner_text()
    assert page.locator("#quota").inner_text() == "우선선발 할당 3석 중 3석 사용 (우선선발 대상 선발 4명)"
    assert "정원 외 선발(보호종료) 2명" in page.locator("#above-h").inner_text()
    assert page.locator("#offered").inner_text() == "등록 응답을 기다리는 선발: 정원 내 10명, 정원 외(보호종료) 2명"
    assert (
        page.locator("[data-within]").inner_text() == "10" and page.locator("[data-above-offered]").inner_text() == "2"
    )
    waitlist = page.locator("table[aria-labelledby=wait-h] tbody tr")
    positions = [int(waitlist.nth(i).locator("td").first.inner_text()) for i in range(waitlist.count())]
    assert positions == list(range(1, len(positions) + 1)) and len(positions) == 25 - 12
    check_page(page, "admissions-selection")
    # running it again is refused next to the button
    page.goto(cohort_url)
    page.click("button:has-text('선발 실행')")
    assert "이 기수는 이미 선발을 실행했습니다." in page.locator("#sel-problem").inner_text()

    # seats: accept (a double click accepts once), decline (the first waiting is offered), reject, withdraw
    page.goto(f"{cohort_url}/applications?status=selected")
    first = page.locator("#applications tbody tr").first
    first_id = first.get_attribute("id")
    first.locator("button:has-text('등록 확정')").dblclick()
    page.wait_for_selector(f"#{first_id}[data-status=accepted]")
    # nothing of the double click still in flight: a late swap would move the focus (and the page) under the next click
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    second = page.locator("#applications tbody tr[data-status=selected]").first
    second_id = second.get_attribute("id")
    second.locator("button:has-text('등록 포기')").click()
    page.wait_for_selector(f"#{second_id}[data-status=declined]")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    check_page(page, "admissions-seats")
    api = httpx.Client(
        base_url=console.services["enrollment"] + "/enrollment/v1",
        headers={"Authorization": "Bearer " + mint_token("t", ["admissions"], [campus])},
    )
    stats = api.get(f"/cohorts/{cohort_id}/stats").json()
    assert stats["accepted"] == 1 and stats["declined"] == 1 and stats["waitlisted"] == 12, stats

    # a stale page: someone declined meanwhile -> the refusal shows by that row's button
    third = page.locator("#applications tbody tr[data-status=selected]").first
    third_id = third.get_attribute("id")
    api.post(f"/applications/{third_id.removeprefix('app-')}/decline").raise_for_status()
    third.locator("button:has-text('등록 확정')").click()
    page.wait_for_selector(f"#{third_id} .problem")
    assert "선발된 지원서가 아니어서 좌석을 처리할 수 없습니다." in page.locator(f"#{third_id} .problem").inner_text()

    page.goto(f"{cohort_url}/applications?status=waitlisted")
    waiting = page.locator("#applications tbody tr").last
    waiting_id = waiting.get_attribute("id")
    waiting.locator("summary").click()
    waiting.locator("input[name=reason]").fill("서류 미제출")
    waiting.locator("button:has-text('불합격 처리')").click()
    page.wait_for_selector(f"#{waiting_id}[data-status=rejected]")
    assert "담당자가 불합격 처리했습니다." in page.locator(f"#{waiting_id}").inner_text()

    page.goto(f"{cohort_url}/applications?status=accepted")
    row = page.locator(f"#{first_id}")
    row.locator("summary").click()
    row.locator("input[type=date]").fill((seoul_today() + timedelta(days=45)).isoformat())  # a job starting later
    row.locator("select").select_option("early_employment")
    row.locator("button:has-text('중도 탈락 처리')").click()
    page.wait_for_selector(f"#{first_id} .problem [data-rule='withdrawal.date-in-future']")
    assert "탈락일이 오늘 이후입니다." in page.locator(f"#{first_id} .problem").inner_text()
    assert page.locator(f"#{first_id}").get_attribute("data-status") == "accepted"
    refused_row = page.query_selector(f"#{first_id} .problem")
    assert refused_row is not None
    row = page.locator(f"#{first_id}")
    row.locator("summary").click()
    row.locator("input[type=date]").fill(today.isoformat())
    row.locator("select").select_option("early_employment")
    row.locator("button:has-text('중도 탈락 처리')").click()
    refused_row.wait_for_element_state("hidden")  # the row comes back anew (detached counts as hidden)
    page.wait_for_selector(f"#{first_id}[data-status=withdrawn], #{first_id} .problem")
    assert page.locator(f"#{first_id} .problem").count() == 0, page.locator(f"#{first_id} .problem").inner_text()
    stats = api.get(f"/cohorts/{cohort_id}/stats").json()
    assert stats["withdrawn"] == 1, stats

    page.goto(f"{cohort_url}/applications")
    check_page(page, "admissions-applications-after")
    page.click("button[lang=en]")
    assert page.locator("h1").inner_text().startswith("Applications")
    check_page(page, "admissions-applications-en")

    # another campus's staff never see it
    page.click("button[lang=ko]")
    page.click("text=로그아웃")
    console.signin(page, "admissions", "other" + campus)
    page.goto(console.url + "/admissions")
    assert f"{campus}-WELD" not in page.locator("main").inner_text()
    response = page.goto(cohort_url)
    assert response.status == 404
    check_page(page, "admissions-other-campus")


def test_admissions_by_keyboard_only(console, page, check_page, campus) -> None:
    page.goto(console.url + "/signin")
    tab_to(page, "#f-role")
    page.keyboard.press("Tab")  # campus
    page.keyboard.type(campus)
    page.keyboard.press("Enter")
    page.wait_for_url(console.url + "/")
    tab_to(page, "header nav a[href='/admissions']")
    page.keyboard.press("Enter")
    page.wait_for_url(console.url + "/admissions")
    tab_to(page, ".subnav a[href='/admissions/campuses']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(".*/campuses$"))
    tab_to(page, "#f-code")
    page.keyboard.type(campus)
    page.keyboard.press("Tab")
    page.keyboard.type("키보드캠퍼스")
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash")
    assert campus in page.locator("table").inner_text()
    # the skip link is the first stop and lands on the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    check_page(page, "admissions-keyboard")
