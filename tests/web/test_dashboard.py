"""The employment dashboard in Chromium: its figures are the placement API's report (numerator and denominator on
each), the target a programme sets is drawn as a line, the XLSX is the API's, and the page prints."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import httpx
import pytest
from kafka import KafkaProducer
from openpyxl import load_workbook

from shared import events
from shared.events import EVENTS, build_event
from tests.support import token, wait_until

pytestmark = pytest.mark.integration


def graduates(console, kafka: str, campus: str, programme: str, n: int, done: date) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    """n completers of one cohort, as attendance announces them (trainee.completed on its topic)."""
    cohort, ids = uuid.uuid4(), [uuid.uuid4() for _ in range(n)]
    producer = KafkaProducer(bootstrap_servers=kafka.split(","), acks="all")
    try:
        for tid in ids:
            event, key = build_event(
                events.TRAINEE_COMPLETED,
                events.TraineeCompleted(
                    trainee_id=tid,
                    cohort_id=cohort,
                    campus=campus,
                    name="Park Jiyoung",
                    programme_code=programme,
                    qualification_codes=["WELD-CRAFTSMAN"],
                    completion_date=done,
                    final_rate=0.91,
                ),
            )
            producer.send(EVENTS[events.TRAINEE_COMPLETED].topic, key=key.encode(), value=event.to_bytes()).get(15)
    finally:
        producer.close(timeout=5)
    p = console.services["placement"] + "/placement/v1"
    staff = token(["placement"], [campus])
    wait_until(
        lambda: httpx.get(f"{p}/graduates", headers=staff, params={"campus": campus}).json()["total"] == n, timeout=60
    )
    return ids


def outcome(console, campus: str, graduate: uuid.UUID, category: str, as_of: date, wage: int | None = None) -> None:  # type: ignore[no-untyped-def]
    body: dict = {"graduate_id": str(graduate), "category": category, "as_of": as_of.isoformat()}
    if category == "employed":
        body["employment"] = {
            "employer_name": "Hanbit Robotics",
            "start_date": as_of.isoformat(),
            "employment_type": "regular",
            "insured": True,
            "monthly_wage": wage,
        }
    r = httpx.post(
        console.services["placement"] + "/placement/v1/outcomes", headers=token(["placement"], [campus]), json=body
    )
    assert r.status_code == 201, r.text


def test_dashboard_figures_are_the_reports_with_a_target_line_xlsx_and_print(
    console, web_kafka, page, check_page
) -> None:
    campus, programme = f"d{uuid.uuid4().hex[:7]}", f"WELD-{uuid.uuid4().hex[:5].upper()}"
    done = date.today() - timedelta(days=400)  # past the 12-month checkpoint
    ids = graduates(console, web_kafka, campus, programme, 5, done)
    for i, tid in enumerate(ids[:3]):
        outcome(console, campus, tid, "employed", done + timedelta(days=60), wage=2_400_000 + i * 100_000)
    outcome(console, campus, ids[3], "seeking_work", done + timedelta(days=90))
    outcome(console, campus, ids[4], "further_education", done + timedelta(days=30))  # not a target

    console.signin(page, "placement", campus)
    page.goto(f"{console.url}/dashboard?group_by=programme&campus={campus}")
    assert page.locator("h1").inner_text() == "취업 성과 대시보드"
    check_page(page, "dashboard")

    api = httpx.get(
        console.services["placement"] + "/placement/v1/reports/employment",
        headers=token(["placement"], [campus]),
        params={"group_by": "programme", "campus": campus},
    ).json()
    [row] = api["rows"]
    six = row["employment_rate_6m"]
    assert (six["numerator"], six["denominator"]) == (3, 4), "further education leaves the denominator"
    total6 = page.locator("#totals [data-indicator=employment_rate_6m] dd").inner_text()
    assert total6.split("\n")[0].strip() == f"{six['rate'] * 100:.1f}%" == "75.0%"
    assert "3 / 4" in total6
    cells = page.locator(f"#figures tr[data-group='{programme}'] td")
    assert cells.nth(0).inner_text() == "5"
    assert cells.nth(1).inner_text() == "75.0% (3/4)"
    wage = api["total"]["median_monthly_wage"]["value"]
    assert page.locator("#totals [data-indicator=median_monthly_wage] dd").inner_text().startswith(f"{wage:,}원")
    bar = page.locator(f"#chart-employment_rate_6m g[data-group='{programme}']")
    assert bar.locator("text.value").text_content() == "75.0% (3/4)"
    assert bar.locator("line.target").count() == 0, "no target yet"

    # a target: refused outside 0-100 with what was typed kept, then saved and drawn
    page.fill("#f-programme_code", programme)
    page.fill("#f-target_percent", "150")
    page.click("form[action^='/dashboard/targets'] button")
    page.wait_for_load_state("networkidle")
    assert page.locator("#f-target_percent").input_value() == "150"
    assert page.locator("#err-target_percent").inner_text().strip() == "목표는 0보다 크고 100 이하인 숫자(%)입니다."
    check_page(page, "dashboard-target-refused")
    page.fill("#f-target_percent", "80")
    page.click("form[action^='/dashboard/targets'] button")
    page.wait_for_load_state("networkidle")
    assert "group_by=programme" in page.url and campus in page.url, "back to the same view"
    assert page.locator(".flash").inner_text() == "목표 취업률을 저장했습니다."
    target = httpx.get(
        console.services["placement"] + f"/placement/v1/targets/{programme}", headers=token(["auditor"], ["*"])
    ).json()
    assert target["employment_rate"] == 0.8
    line = page.locator(f"#chart-employment_rate_6m g[data-group='{programme}'] line.target")
    assert line.count() == 1
    x0 = float(page.locator(f"#chart-employment_rate_6m g[data-group='{programme}'] rect").get_attribute("x"))
    assert float(line.get_attribute("x1")) == pytest.approx(x0 + 0.8 * 360), "the line sits at 80%"
    assert "below" in page.locator(f"#chart-employment_rate_6m g[data-group='{programme}'] rect").get_attribute("class")
    assert page.locator(f"#figures tr[data-group='{programme}'] td").last.inner_text() == "80%"
    check_page(page, "dashboard-target")

    # the same figures as XLSX: the API's workbook, cell by cell for the 6-month rate
    with page.expect_download() as dl:
        page.click("text=엑셀(XLSX) 내려받기")
    sheet = load_workbook(io.BytesIO(open(dl.value.path(), "rb").read()))["indicators"]
    header = [c.value for c in sheet[1]]
    found = [
        dict(zip(header, [c.value for c in r]))
        for r in sheet.iter_rows(min_row=2)
        if r[header.index("group")].value == programme and r[header.index("indicator")].value == "employment_rate_6m"
    ]
    assert [(f["numerator"], f["denominator"], f["rate"]) for f in found] == [(3, 4, 0.75)]

    # print: the filters and the forms go, the charts stay
    page.emulate_media(media="print")
    assert page.locator("form.filters").is_hidden() and page.locator(".target-form").is_hidden()
    assert page.locator("#chart-employment_rate_6m").is_visible()
    page.screenshot(
        path=str(__import__("tests.web.harness", fromlist=["SCREENSHOTS"]).SCREENSHOTS / "dashboard-print.png"),
        full_page=True,
    )
    page.emulate_media(media="screen")


def test_an_auditor_reads_the_dashboard_but_sets_no_target(console, page, check_page) -> None:
    console.signin(page, "auditor", "*")
    page.goto(f"{console.url}/dashboard?group_by=campus")
    assert page.locator("#totals").count() == 1
    assert page.locator("form[action^='/dashboard/targets']").count() == 0
    check_page(page, "dashboard-auditor")
    console.signin(page, "instructor", "*")
    assert page.goto(f"{console.url}/dashboard").status == 403
