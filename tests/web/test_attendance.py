"""The attendance room in Chromium: a whole day's journey, the kiosk by keyboard only, refusals in words.

The cohorts are built through the public APIs (tests/web/attendance_data.py); everything after that is done in
the browser as an instructor does it, and checked against the attendance API's own answers.
"""

from __future__ import annotations

import io
import re
import uuid

import httpx
import pytest
from openpyxl import load_workbook

from tests.web import attendance_data
from trainingops.broker import free_port

pytestmark = pytest.mark.integration


@pytest.fixture()
def cohort(console) -> attendance_data.AttendanceCohort:  # type: ignore[no-untyped-def]
    return attendance_data.build(console.services)


def api_get(console, cohort: attendance_data.AttendanceCohort, path: str, **params: str):  # type: ignore[no-untyped-def]
    with attendance_data.api(console.services) as att:
        r = att.get(f"/attendance/v1/{path}", headers=attendance_data.instructor(cohort.campus), params=params)
        assert r.status_code == 200, r.text
        return r.json()


def row(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("#roster tbody tr", has=page.locator("th", has_text=name))


def kiosk_answer(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#kiosk-result").inner_text()


def test_an_instructors_day_in_the_attendance_room(console, cohort, page, check_page) -> None:
    t = cohort.trainees
    today = cohort.today_session
    console.signin(page, "instructor", cohort.campus)

    # -- today's sessions of the campus -------------------------------------------------------------
    page.click("header nav >> text=출결")
    assert page.locator("h1").inner_text().startswith("오늘의 수업")
    listed = page.locator(f"#today tr[data-session='{today['id']}']")
    assert "특수용접 실무" in listed.inner_text() and today["start"][:5] in listed.inner_text()
    check_page(page, "attendance-today")

    # -- today's roster before the session starts: a mark is refused in words, nothing recorded ------------------
    listed.locator("text=출석부").click()
    page.wait_for_url(re.compile(rf".*/attendance/sessions/{today['id']}$"))
    assert row(page, "김민준").locator("[data-mark]").inner_text() == "미기록"
    check_page(page, "attendance-roster")
    row(page, "김민준").locator("button", has_text="출석").click()
    page.wait_for_selector("#roster tr:has-text('김민준') [data-rule='mark.session-not-started']")
    refusal = row(page, "김민준").locator(".problem").inner_text()
    assert "수업이 시작되기 전에는 출결을 입력할 수 없습니다." in refusal, refusal
    assert row(page, "김민준").locator("[data-mark]").inner_text() == "미기록"
    check_page(page, "attendance-roster-not-started")

    # -- the kiosk: a card number typed in, then an unknown card, then a reading with no id ----------------
    page.click("text=키오스크")
    page.wait_for_url(re.compile(r".*/kiosk$"))
    assert page.evaluate("document.activeElement.id") == "reading", "the kiosk opens with the field focused"
    check_page(page, "attendance-kiosk")
    page.keyboard.type(t["박지호"].replace("-", "").upper())  # a reader typing the card's number
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk-result [data-outcome='ok']")
    answer = kiosk_answer(page)
    assert "박지호" in answer and "출석" in answer and "입실" in answer, answer
    assert page.evaluate("[document.activeElement.id, document.activeElement.value]") == ["reading", ""]
    check_page(page, "attendance-kiosk-answered")
    page.keyboard.type(str(uuid.uuid4()))
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk-result [data-outcome='refused']")
    assert "이 수업의 기수 명단에 없는 훈련생입니다." in kiosk_answer(page)
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kiosk-result [data-rule='attendance.kiosk.unreadable']")
    check_page(page, "attendance-kiosk-refused")
    mark = api_get(console, cohort, f"sessions/{today['id']}/marks/{t['박지호']}")
    assert (mark["mark"], mark["source"], mark["punches"][0]["method"]) == ("present", "punches", "card"), mark

    # -- yesterday's roster: one click (keyboard), one click (mouse), then two in bulk ------------------------
    yesterday = cohort.past_sessions[-1]
    page.goto(f"{console.url}/attendance/sessions/{yesterday['id']}")
    assert row(page, "김민준").locator("[data-mark]").get_attribute("data-mark") == "present"
    row(page, "김민준").locator("button", has_text="결석").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#roster tr:has-text('김민준') [data-mark='absent']")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "김민준: 결석", "after a one-click the focus stays on the row's pressed button"
    row(page, "이서연").locator("button", has_text="지각").click()
    page.wait_for_selector("#roster tr:has-text('이서연') [data-mark='late']")
    row(page, "정유나").locator("input[type=checkbox]").check()
    row(page, "한소라").locator("input[type=checkbox]").check()
    page.select_option("#f-bulk_mark", "early_leave")
    page.click("text=선택한 훈련생에게 적용")
    page.wait_for_load_state("networkidle")
    assert "2명의 출결을 저장했습니다." in page.locator("main").inner_text()
    for name, mark in (("김민준", "absent"), ("이서연", "late"), ("정유나", "early_leave"), ("한소라", "early_leave")):
        assert row(page, name).locator("[data-mark]").get_attribute("data-mark") == mark, name
    check_page(page, "attendance-roster-marked")
    marks = {r["name"]: r["mark"] for r in api_get(console, cohort, f"sessions/{yesterday['id']}/roster")["rows"]}
    assert (marks["김민준"], marks["이서연"], marks["정유나"], marks["한소라"]) == (
        "absent",
        "late",
        "early_leave",
        "early_leave",
    )
    late = api_get(console, cohort, f"sessions/{yesterday['id']}/marks/{t['이서연']}")
    assert late["history"][-1]["reason"] == "출석부에서 지각(으)로 입력", late["history"]

    # -- an excuse with evidence, refused first, then its history --------------------------------------------
    missed = next(
        s
        for s in reversed(cohort.past_sessions)
        if cohort.marks[cohort.dropping][s["date"]] == "absent"
        and s["date"] != max(d for d, m in cohort.marks[cohort.dropping].items() if m == "absent")
    )
    page.goto(f"{console.url}/attendance/cohorts/{cohort.cohort_id}")
    page.click(f"a[href='/attendance/sessions/{missed['id']}']")
    row(page, "최다은").locator("th a").click()
    assert page.locator("#current-mark").inner_text() == "결석"
    page.select_option("#f-mark", "excused")
    page.fill("#f-reason", "예비군 훈련 참석")
    page.click("form[action*='/marks/'] button.primary")
    page.wait_for_load_state("networkidle")
    assert page.locator("#f-reason").input_value() == "예비군 훈련 참석", "the form keeps what was typed"
    assert page.locator("#f-mark").input_value() == "excused"
    assert "출석인정에는 인정 사유 코드가 필요합니다." in page.locator("#err-reason_code").inner_text()
    assert "출석인정에는 증빙 번호가 필요합니다." in page.locator("#err-evidence_ref").inner_text()
    assert page.locator("#f-evidence_ref").get_attribute("aria-invalid") == "true"
    check_page(page, "attendance-mark-refused")
    page.select_option("#f-reason_code", "reserve_forces")
    page.fill("#f-evidence_ref", "MND-2026-0042")
    page.click("form[action*='/marks/'] button.primary")
    page.wait_for_load_state("networkidle")
    assert "출결을 저장했습니다." in page.locator(".flash").inner_text()
    assert page.locator("#current-mark").inner_text() == "출석인정"
    history = page.locator("#history tbody tr").first.inner_text()
    for part in ("결석", "출석인정", "예비군 훈련 참석", "예비군 훈련", "MND-2026-0042", "local-instructor-"):
        assert part in history, (part, history)
    check_page(page, "attendance-mark-history")
    detail = api_get(console, cohort, f"sessions/{missed['id']}/marks/{cohort.dropping}")
    assert (detail["history"][-1]["previous_mark"], detail["history"][-1]["new_mark"], detail["evidence_ref"]) == (
        "absent",
        "excused",
        "MND-2026-0042",
    ), detail

    # -- at risk: the right trainee, with the API's rate and maximum possible rate ------------------------------
    page.goto(f"{console.url}/attendance")
    page.click("text=수료 위험 훈련생")
    risky = api_get(console, cohort, "at-risk", cohort_id=cohort.cohort_id)["items"]
    assert [r["trainee_id"] for r in risky] == [cohort.dropping], risky
    listed = page.locator(f"#at-risk tr[data-trainee='{cohort.dropping}']")
    assert "최다은" in listed.inner_text()
    assert f"{risky[0]['current_rate'] * 100:.1f}%" in listed.inner_text()
    assert f"{risky[0]['max_possible_rate'] * 100:.1f}%" in listed.inner_text()
    assert page.locator("#at-risk tbody tr").count() == 1, "only this campus's trainees at risk"
    check_page(page, "attendance-at-risk")

    # -- the trainee's standing month by month, with the allowance in KRW --------------------------------------
    listed.locator("th a").click()
    assert page.locator("h1").inner_text() == "최다은의 출결 현황"
    standing = api_get(console, cohort, f"trainees/{cohort.dropping}/attendance", cohort_id=cohort.cohort_id)[0]
    assert len(standing["months"]) >= 2
    for m in standing["months"]:
        cells = page.locator(f"tr[data-month='{m['month']}'] [data-field='allowance']").inner_text()
        assert cells == f"{m['allowance_krw']:,}원", (m, cells)
    total = sum(m["allowance_krw"] for m in standing["months"])
    assert page.locator("[data-field='allowance-total']").inner_text() == f"{total:,}원"
    assert page.locator("[data-field='attended_days']").inner_text() == str(standing["attended_days"])
    check_page(page, "attendance-standing")
    # Whether the dropping trainee's months pay anything depends on where today falls in the month (a month under
    # 80% pays nothing), so the thousands separators are read on a trainee who came every day: every full month of
    # theirs pays, whatever the date.
    steady = t["김민준"]
    page.goto(f"{console.url}/attendance/trainees/{steady}?cohort_id={cohort.cohort_id}")
    months = api_get(console, cohort, f"trainees/{steady}/attendance", cohort_id=cohort.cohort_id)[0]["months"]
    paid = [m for m in months if m["allowance_krw"] >= 1000]
    assert paid, months
    for m in paid:
        cells = page.locator(f"tr[data-month='{m['month']}'] [data-field='allowance']").inner_text()
        assert cells == f"{m['allowance_krw']:,}원" and "," in cells, (m, cells)

    # -- the monthly sheet: a wrong month refused by the field, then the XLSX and its cells --------------------
    page.goto(f"{console.url}/attendance/cohorts/{cohort.cohort_id}")
    check_page(page, "attendance-cohort")
    page.fill("#f-month", "2026-13")
    page.click("#sheet-download")
    page.wait_for_load_state("networkidle")
    assert "월을 YYYY-MM 형식으로 입력하세요" in page.locator("#err-month").inner_text()
    assert page.locator("#f-month").input_value() == "2026-13"
    check_page(page, "attendance-sheet-refused")
    month = yesterday["date"][:7]
    page.fill("#f-month", month)
    with page.expect_download() as dl:
        page.click("#sheet-download")
    data = open(dl.value.path(), "rb").read()
    sheet = api_get(console, cohort, f"cohorts/{cohort.cohort_id}/sheet", month=month)
    ws = load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:2] == ["trainee_id", "name"] and header[-3:] == ["attended_days", "rate", "allowance_krw"]
    by_name = {r[1]: dict(zip(header, r)) for r in rows[1:]}
    assert set(by_name) == set(t), by_name.keys()
    day = yesterday["date"]
    assert (by_name["김민준"][day], by_name["이서연"][day], by_name["정유나"][day]) == ("absent", "late", "early_leave")
    assert by_name["박지호"][today["date"]] == "present" if today["date"][:7] == month else True
    assert by_name["최다은"][missed["date"]] == "excused" if missed["date"][:7] == month else True
    for r in sheet["rows"]:
        cells = by_name[r["name"]]
        assert (cells["attended_days"], cells["allowance_krw"]) == (r["attended_days"], r["allowance_krw"]), r
        assert cells["trainee_id"] == r["trainee_id"]

    # -- closing the cohort, then the refusal of closing it again, in words by the button ----------------------
    page.check("#f-confirm")
    with page.expect_navigation():  # the form posts and the page comes back: wait for it, not for idleness
        page.click("#close-cohort")
    page.wait_for_load_state("networkidle")
    assert "기수를 종료했습니다." in page.locator(".flash").inner_text()
    assert re.search(r"수료 \d+명, 미수료 \d+명", page.locator("#close-result").inner_text())
    assert "종료" in page.locator("#cohort-state").inner_text()
    check_page(page, "attendance-closed")
    page.check("#f-confirm")
    assert page.is_checked("#f-confirm")  # the box is required: unchecked, the browser would not post at all
    with page.expect_navigation():
        page.click("#close-cohort")
    page.wait_for_load_state("networkidle")
    refusal = page.locator("#close-refusal").inner_text()
    assert "이미 종료된 기수입니다. 다시 종료할 수 없습니다." in refusal, refusal
    assert page.locator("#close-refusal [data-rule='cohort.already-closed']").count() == 1
    check_page(page, "attendance-close-refused")


def test_the_kiosk_by_keyboard_only(console, cohort, page, check_page) -> None:
    """A card reader types the number and Enter; every answer comes back with the focus in the field."""
    t = cohort.trainees
    console.signin(page, "instructor", cohort.campus)
    page.goto(f"{console.url}/attendance/sessions/{cohort.today_session['id']}/kiosk")
    assert page.evaluate("document.activeElement.id") == "reading"
    answers = []
    for name in ("정유나", "한소라"):
        page.keyboard.type(t[name] + "\n")  # as a card reader does: the number, then Enter
        page.wait_for_selector(f"#kiosk-result [data-outcome='ok']:has-text('{name}')")
        answers.append(kiosk_answer(page))
        assert page.evaluate("[document.activeElement.id, document.activeElement.value]") == ["reading", ""]
    assert all("입실" in a and "출석" in a for a in answers), answers
    # To check out: Shift+Tab back to the radio group, an arrow key to "퇴실", Tab to the field again.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "kind-out"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "reading"
    page.keyboard.type(f"TRAINEE:{t['정유나']}\n")  # a QR code that carries the id inside a longer text
    page.wait_for_selector("#kiosk-result [data-outcome='ok']:has-text('퇴실')")
    assert "정유나" in kiosk_answer(page)
    check_page(page, "attendance-kiosk-keyboard")
    mark = api_get(console, cohort, f"sessions/{cohort.today_session['id']}/marks/{t['정유나']}")
    assert [(p["kind"], p["method"]) for p in mark["punches"]] == [("in", "card"), ("out", "qr")], mark


def test_the_kiosk_without_script_still_answers(console, cohort) -> None:
    """A plain form post (no htmx) gets the whole kiosk page back with the answer and the field focused."""
    with httpx.Client(base_url=console.url) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        client.post("/signin/local", data={"role": "instructor", "campus": cohort.campus, "csrf_token": csrf})
        path = f"/attendance/sessions/{cohort.today_session['id']}/kiosk"
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)
        r = client.post(path, data={"reading": cohort.trainees["김민준"], "kind": "in", "csrf_token": csrf})
        assert r.status_code == 200
        assert "김민준" in r.text and 'data-outcome="ok"' in r.text and "autofocus" in r.text
        assert re.match(r"kiosk;dur=\d+(\.\d+)?", r.headers["server-timing"])


def test_an_auditor_reads_but_cannot_mark(console, page, check_page) -> None:
    console.signin(page, "auditor", "*")
    page.goto(f"{console.url}/attendance")
    assert page.locator("h1").inner_text().startswith("오늘의 수업")
    assert page.locator("#f-campus").count() == 1, "all campuses: a campus filter"
    check_page(page, "attendance-today-auditor")
    page.click("button[lang=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Today's sessions")
    assert page.locator("header nav a[aria-current=page]").inner_text() == "Attendance"
    check_page(page, "attendance-today-en")
    page.goto(f"{console.url}/attendance/at-risk")
    assert page.locator("h1").inner_text() == "Trainees at risk"
    check_page(page, "attendance-at-risk-en")
    page.click("button[lang=ko]")
    console.signin(page, "finance", "*")
    assert page.goto(f"{console.url}/attendance").status == 403


def test_the_room_says_when_attendance_is_down(start_console, page, check_page) -> None:
    with start_console({"attendance": f"http://127.0.0.1:{free_port()}"}) as c:
        from tests.web.harness import signin

        signin(page, c.url, "instructor", "jungbu")
        response = page.goto(c.url + "/attendance")
        assert response.status == 503
        assert "출결 서비스에 지금 연결할 수 없습니다." in page.locator(".problem").inner_text()
        check_page(page, "attendance-down")
