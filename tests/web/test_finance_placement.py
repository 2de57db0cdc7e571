"""The finance and placement rooms in Chromium, against the four services and the console as processes.

Finance: the queue with each rule's outcome in words, approve, reject with reasons (refused first without one),
pay by double click (one payment), the same form sent again (said to be already paid), a payout batch and its
CSV/XLSX bank file checked cell by cell against the API, the catalogue and certificates with their imports.
Placement: the worklist of follow-ups due, a graduate's contact log, the outcome form with its fields by kind and a
refusal by its field, employers, a posting and its matches, an internship converted and its incentive."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.web import cohort_data
from tests.web.harness import signin
from trainingops import demo
from trainingops.broker import free_port

pytestmark = pytest.mark.integration
C, P = demo.C, demo.P


@pytest.fixture(scope="module")
def cohort(console) -> cohort_data.Cohort:  # type: ignore[no-untyped-def]
    return cohort_data.with_claims(console.services, cohort_data.build(console.services, label="fp"))


def finance_api(console, cohort) -> httpx.Client:  # type: ignore[no-untyped-def]
    return httpx.Client(
        base_url=console.services["certification"], timeout=30, headers=demo.auth(["finance"], [cohort.campus])
    )


def test_finance_journey_queue_approve_reject_pay_once_and_the_bank_file(console, cohort, page, check_page) -> None:
    kim, lee, park = (cohort.claims[n] for n in ("김민준", "이서연", "박지호"))
    console.signin(page, "finance", cohort.campus)
    page.click("header nav >> text=재무")
    page.wait_for_url(re.compile(r".*/finance$"))
    assert page.locator("#queue-count").inner_text() == "심사 대기 청구 3건"
    # each rule's outcome in words, per claim
    checks = page.locator(f"[data-claim='{kim['id']}'] ul.checks li")
    words = {checks.nth(i).get_attribute("data-check"): checks.nth(i).inner_text() for i in range(checks.count())}
    assert list(words) == ["window", "deadline", "duplicate", "attempts", "amount"]
    assert f"{cohort.completion_date.isoformat()} 수료" in words["window"] and "기간 안" in words["window"]
    assert "같은 자격·단계·시험일의 다른 청구 없음" in words["duplicate"]
    assert "이 자격·단계의 청구 1건" in words["attempts"]
    assert words["amount"].endswith("표준 응시료 14,500원이 납부액 20,000원보다 적어 표준 응시료 14,500원 환급")
    lee_amount = page.locator(f"[data-claim='{lee['id']}'] [data-check='amount']").inner_text()
    assert "납부액 12,000원이 표준 응시료 14,500원보다 적어 납부액 12,000원 환급" in lee_amount
    assert page.locator("ul.checks li.bad").count() == 0
    check_page(page, "finance-queue")

    # approve Kim from the queue
    page.click(f"button[data-approve='{kim['id']}']")
    page.wait_for_load_state("networkidle")
    assert "청구를 승인했습니다." in page.locator(".flash").inner_text()
    assert page.locator("#queue-count").inner_text() == "심사 대기 청구 2건"

    # reject Park: without a reason the API refuses and the page says so by the button, keeping the page
    page.goto(f"{console.url}/finance/claims/{park['id']}")
    page.fill("#f-reason_message_1", "영수증 사진이 흐립니다")
    page.click("#reject-button")
    assert page.locator(".problem").count() >= 1
    assert page.locator("#f-reason_message_1").input_value() == "영수증 사진이 흐립니다", "what was typed is kept"
    refusal = page.locator("#main .problem, #main .field-errors").all_inner_texts()
    assert refusal and any(text.strip() for text in refusal)
    check_page(page, "finance-claim-refused")
    page.select_option("#f-reason_code_0", "evidence.unreadable")
    page.fill("#f-reason_message_0", "영수증 번호를 읽을 수 없습니다")
    page.fill("#f-reason_message_1", "")
    page.click("#reject-button")
    page.wait_for_load_state("networkidle")
    assert page.locator("#claim-status").get_attribute("data-status") == "rejected"
    assert "증빙을 읽을 수 없음: 영수증 번호를 읽을 수 없습니다" in page.locator("#claim-reasons").inner_text()
    check_page(page, "finance-claim-rejected")

    # approve Lee with the keyboard only: Tab to the button, Enter
    page.goto(f"{console.url}/finance/claims/{lee['id']}")
    check_page(page, "finance-claim")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "approve":
            break
    else:
        pytest.fail("the approve button is not reachable with Tab")
    with page.expect_navigation():  # Enter submits the form: the approved claim is the next page, not this one
        page.keyboard.press("Enter")
    expect(page.locator("#claim-status")).to_have_attribute("data-status", "approved")

    # pay Kim by double click: the browser may send the form twice (with its one key); one payment is made
    page.goto(f"{console.url}/finance?status=approved")
    check_page(page, "finance-queue-approved")
    form = page.locator(f"form:has(button[data-pay='{kim['id']}'])")
    sent = {name: form.locator(f"input[name={name}]").input_value() for name in ("csrf_token", "idem", "next")}
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/pay") else None)
    page.dblclick(f"button[data-pay='{kim['id']}']")
    # when the browser drops the first navigation for the second, wait for where the second one lands
    expect(page).to_have_url(re.compile(rf".*/finance/claims/{kim['id']}\?done="), timeout=20_000)
    page.wait_for_load_state("networkidle")
    assert 1 <= len(posts) <= 2
    assert page.locator("#claim-status").get_attribute("data-status") == "paid"
    assert page.locator("#claim-account").get_attribute("data-account") == "no", "Kim has no payout account yet"
    reference = page.locator("#payout-ref").inner_text()
    assert reference in page.locator("#pay-result").inner_text()
    check_page(page, "finance-claim-paid")
    # the same form sent once more (a reload that resends it, a second click that came late): paid once, and said so
    again = page.request.post(f"{console.url}/finance/claims/{kim['id']}/pay", form=sent, max_redirects=0)
    assert again.status == 303
    page.goto(console.url + again.headers["location"])
    result = page.locator("#pay-result")
    assert result.get_attribute("data-result") == "already-paid"
    assert f"이미 지급된 청구입니다 ({reference}). 두 번 지급하지 않았습니다." == result.inner_text()
    check_page(page, "finance-claim-already-paid")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("#claim-status").get_attribute("data-status") == "paid"
    assert page.locator("button[data-pay]").count() == 0, "a paid claim offers no pay button"
    with finance_api(console, cohort) as api:
        batches = api.get(f"{C}/payouts", params={"campus": cohort.campus}).json()["items"]
        paid = [
            p
            for b in batches
            for p in api.get(f"{C}/payouts/{b['id']}").json()["payouts"]
            if p["claim_id"] == kim["id"]
        ]
        assert len(paid) == 1 and paid[0]["reference"] == reference and paid[0]["amount"] == 14_500

    # Kim was paid before any account was entered: the batch says so and names him
    with finance_api(console, cohort) as api:
        kim_batch = api.get(f"{C}/payouts/{paid[0]['batch_id']}").json()
    assert [w["trainee_ids"] for w in kim_batch["warnings"]] == [[kim["trainee_id"]]]
    page.goto(f"{console.url}/finance/payouts/{kim_batch['id']}")
    assert page.locator("[data-warning='payout.account-missing']").count() == 1
    assert kim["trainee_id"][:8] in page.locator("[data-warning='payout.account-missing']").inner_text()
    check_page(page, "finance-batch-account-missing")

    # Lee's payout account, by the form: an unknown bank is refused by its field, the number typed is not sent back
    page.goto(f"{console.url}/finance/accounts")
    check_page(page, "finance-accounts")
    page.fill("#f-trainee_id", lee["trainee_id"])
    page.fill("#f-holder", "이서연")
    page.fill("#f-bank", "없는은행")
    page.fill("#f-account_number", "123456-01-234567")
    page.click("#save-account")
    assert page.locator("#f-bank").get_attribute("aria-invalid") == "true"
    assert "은행이 없습니다" in page.locator("#err-bank").inner_text()
    assert page.locator("#f-holder").input_value() == "이서연"
    assert page.locator("#f-account_number").input_value() == "", "the account number is not echoed back"
    check_page(page, "finance-accounts-refused")
    page.fill("#f-bank", "국민")
    page.fill("#f-account_number", "123456-01-234567")
    page.click("#save-account")
    page.wait_for_load_state("networkidle")
    assert "지급 계좌를 저장했습니다." in page.locator(".flash").inner_text()
    listed = page.locator(f"#accounts tr[data-trainee='{lee['trainee_id']}']").inner_text()
    assert "****4567" in listed and "KB국민은행" in listed and "이서연" in listed
    assert "12345601234567" not in page.content() and "123456-01" not in page.content()
    page.goto(f"{console.url}/finance/claims/{lee['id']}")
    assert page.locator("#claim-account").inner_text() == "이서연 · KB국민은행 ****4567"

    # Lee's claim: the batch of the campus's approved claims, its totals and its bank file
    page.goto(f"{console.url}/finance/payouts")
    assert f"{cohort.campus}: 1건, 12,000원" in page.locator("#waiting").inner_text()
    check_page(page, "finance-payouts")
    page.click("#pay-batch")
    page.wait_for_url(re.compile(r".*/finance/payouts/[0-9a-f-]{36}$"))
    batch_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#batch-count").inner_text() == "1"
    assert page.locator("#batch-total").inner_text() == "12,000원"
    assert page.locator("[data-warning]").count() == 0, "every payee has an account"
    check_page(page, "finance-batch")
    with page.expect_download() as dl:
        page.click("#download-csv")
    csv_rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read())))
    assert dl.value.suggested_filename == f"payout-{batch_id}.csv"
    with page.expect_download() as dl:
        page.click("#download-xlsx")
    sheet = load_workbook(io.BytesIO(open(dl.value.path(), "rb").read()), read_only=True).worksheets[0]
    xlsx_rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    with finance_api(console, cohort) as api:
        batch = api.get(f"{C}/payouts/{batch_id}").json()
        claims = {p["claim_id"]: api.get(f"{C}/claims/{p['claim_id']}").json() for p in batch["payouts"]}
    expected = [
        [
            "payout_reference",
            "amount_krw",
            "trainee_id",
            "campus",
            "claim_id",
            "qualification_code",
            "stage",
            "exam_date",
            "receipt_number",
            "admission_slip_number",
            "paid_on",
            "account_holder",
            "bank_code",
            "bank_name",
            "account_number",
        ]
    ]
    for p in sorted(batch["payouts"], key=lambda p: p["reference"]):
        c = claims[p["claim_id"]]
        expected.append(
            [
                p["reference"],
                str(p["amount"]),
                p["trainee_id"],
                p["campus"],
                p["claim_id"],
                c["qualification_code"],
                c["stage"],
                c["exam_date"],
                c["receipt_number"],
                c["admission_slip_number"],
                p["paid_at"][:10],
                "이서연",
                "004",
                "KB국민은행",
                "12345601234567",  # the full number: the bank file is the one place it is shown
            ]
        )
    assert len(expected) == 2 and expected[1][4] == lee["id"] and expected[1][1] == "12000"
    for name, rows in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        assert len(rows) == len(expected), name
        for r, (got, want) in enumerate(zip(rows, expected)):
            assert len(got) == len(want), f"{name} row {r + 1} has {len(got)} columns"
            for col, (g, w) in enumerate(zip(got, want)):
                assert g == w, f"{name} row {r + 1} column {expected[0][col]}: {g!r} != {w!r}"
    page.goto(f"{console.url}/finance/payouts")
    assert page.locator(f"#batches [data-batch='{batch_id}']").count() == 1


def test_finance_catalogue_and_certificates_by_form_and_import(console, cohort, page, check_page, tmp_path) -> None:
    console.signin(page, "finance", cohort.campus)
    page.goto(f"{console.url}/finance/qualifications")
    assert page.locator(f"#qualifications [data-code='{cohort.qualification}']").inner_text().count("14,500원") == 1
    assert "미정" in page.locator(f"#qualifications [data-code='{cohort.qualification}']").inner_text()
    check_page(page, "finance-qualifications")
    code = f"ELEC-{cohort.campus[-6:].upper()}"
    page.fill("#f-code", code)
    page.fill("#f-name", "전기기능사")
    page.select_option("#f-grade", "craftsman")
    page.fill("#f-written_fee", "열두만")
    page.click("#save-qualification")
    assert page.locator("#f-written_fee").get_attribute("aria-invalid") == "true", "the refusal sits by the fee"
    assert page.locator("#f-name").input_value() == "전기기능사", "what was typed is kept"
    check_page(page, "finance-qualifications-refused")
    page.fill("#f-written_fee", "19,400")
    page.fill("#f-practical_fee", "")
    page.click("#save-qualification")
    page.wait_for_load_state("networkidle")
    assert "19,400원" in page.locator(f"#qualifications [data-code='{code}']").inner_text()
    sheet = tmp_path / "qualifications.csv"
    sheet.write_text(
        "code,name,grade,written_fee,practical_fee,programme_codes\n"
        f"{code}-IND,전기산업기사,industrial_engineer,19400,,\n"
        f"{code}-BAD,잘못된 등급,wizard,1000,,\n",
        encoding="utf-8",
    )
    page.set_input_files("#qual-import-file", str(sheet))
    page.click("section[data-import] button")
    page.wait_for_selector("#qual-import-report")
    assert page.locator("#qual-import-report [role=status]").inner_text() == "2행 중 1행 가져옴, 1행 거절"
    assert page.locator("#qual-import-report [data-row='3']").get_attribute("data-status") == "refused"
    check_page(page, "finance-qualifications-import")

    kim = cohort.trainees["김민준"]
    page.goto(f"{console.url}/finance/results")
    check_page(page, "finance-results")
    page.fill("#f-trainee_id", kim)
    page.select_option("#f-qualification_code", cohort.qualification)
    page.fill("#f-date", (date.today() + timedelta(days=3)).isoformat())
    page.click("#record-result")
    assert (
        page.locator("#f-date").get_attribute("aria-invalid") == "true"
        or "오늘 이후" in page.locator("#main .problem").inner_text()
    )
    assert page.locator("#f-trainee_id").input_value() == kim
    check_page(page, "finance-results-refused")
    page.fill("#f-date", (date.today() - timedelta(days=2)).isoformat())
    page.click("#record-result")
    page.wait_for_load_state("networkidle")
    assert cohort.qualification in page.locator("#results").inner_text()
    sheet = tmp_path / "results.csv"
    sheet.write_text(
        "trainee_id,qualification_code,date\n"
        f"{cohort.trainees['이서연']},{cohort.qualification},{(date.today() - timedelta(days=1)).isoformat()}\n"
        f"{kim},{cohort.qualification},{(date.today() - timedelta(days=1)).isoformat()}\n",
        encoding="utf-8",
    )
    page.set_input_files("#result-import-file", str(sheet))
    page.click("section[data-import] button")
    page.wait_for_selector("#result-import-report")
    report = page.locator("#result-import-report")
    assert report.locator("[role=status]").inner_text() == "2행 중 1행 가져옴, 1행 거절"
    assert report.locator("[data-row='3']").get_attribute("data-status") == "refused"
    assert "이미 기록되어 있습니다" in report.locator("[data-row='3']").inner_text()
    check_page(page, "finance-results-import")


def test_placement_journey_worklist_contact_outcome(console, cohort, page, check_page) -> None:
    due_on = demo.add_months(cohort.completion_date, 1)
    lee = cohort.trainees["이서연"]
    console.signin(page, "placement", cohort.campus)
    page.goto(f"{console.url}/placement?on={due_on.isoformat()}")
    rows = page.locator("#worklist tbody tr")
    assert rows.count() == 3
    assert {rows.nth(i).get_attribute("data-status") for i in range(3)} == {"due"}
    assert "1개월" in rows.first.inner_text()
    check_page(page, "placement-worklist")
    page.goto(f"{console.url}/placement?on={(due_on + timedelta(days=30)).isoformat()}&status=overdue")
    assert page.locator("#worklist tbody tr").count() == 3, "a month later the same follow-ups are overdue"

    page.goto(f"{console.url}/placement?on={due_on.isoformat()}")
    page.click(f"#worklist a[href='/placement/graduates/{lee}']")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "이서연"
    page.click("#assign-me")
    page.wait_for_load_state("networkidle")
    assert (
        page.locator("#officer").inner_text().startswith("local-placement")
        or "미배정" not in page.locator("#officer").inner_text()
    )
    # two contact attempts, the first not answered
    page.select_option("#f-channel", "phone")
    page.select_option("#f-result", "no_answer")
    page.fill("#f-note", "18시 이후 다시")
    page.click("#log-contact")
    page.wait_for_load_state("networkidle")
    page.select_option("#f-channel", "kakao")
    page.select_option("#f-result", "reached")
    page.click("#log-contact")
    page.wait_for_load_state("networkidle")
    log = page.locator("#contact-log tbody tr")
    assert log.count() == 2
    assert "카카오톡" in log.nth(0).inner_text() and "통화·연락됨" in log.nth(0).inner_text()
    assert "받지 않음" in log.nth(1).inner_text() and "18시 이후 다시" in log.nth(1).inner_text()
    check_page(page, "placement-graduate")

    # the employment fields show for employed only; a job starting after the outcome's date is refused by its field
    assert not page.locator(".employment-fields").is_visible()
    page.select_option("#f-category", "employed")
    assert page.locator(".employment-fields").is_visible()
    assert page.locator("#f-employment-employment_type").is_visible()
    page.fill("#f-as_of", due_on.isoformat())
    page.fill("#f-employment-employer_name", "한빛로보틱스")
    page.fill("#f-employment-start_date", (due_on + timedelta(days=5)).isoformat())
    page.select_option("#f-employment-employment_type", "regular")
    page.select_option("#f-employment-insured", "yes")
    page.fill("#f-employment-monthly_wage", "2,600,000")
    page.click("#record-outcome")
    start_error = page.locator("#err-employment-start_date")
    assert "시작일이 기준일보다 늦을 수 없습니다." in start_error.inner_text()
    assert page.locator("#f-employment-employer_name").input_value() == "한빛로보틱스"
    assert page.locator(".employment-fields").is_visible(), "the kind chosen keeps its fields"
    check_page(page, "placement-graduate-refused")
    page.fill("#f-employment-start_date", (cohort.completion_date + timedelta(days=10)).isoformat())
    page.click("#record-outcome")
    page.wait_for_load_state("networkidle")
    outcome = page.locator("#outcome-list tbody tr").first
    assert outcome.get_attribute("data-category") == "employed"
    assert "한빛로보틱스" in outcome.inner_text() and "정규직" in outcome.inner_text()
    assert "월 2,600,000원" in outcome.inner_text() and "고용보험 가입" in outcome.inner_text()
    assert page.locator("#followups tr[data-months='1']").get_attribute("data-status") == "done"
    with httpx.Client(
        base_url=console.services["placement"], timeout=30, headers=demo.auth(["placement"], [cohort.campus])
    ) as api:
        recorded = api.get(f"{P}/outcomes", params={"graduate_id": lee}).json()["items"]
    assert [
        (o["category"], o["employer_name"], o["monthly_wage"], o["employment_type"], o["insured"]) for o in recorded
    ] == [("employed", "한빛로보틱스", 2_600_000, "regular", True)]
    # self-employed hides the contract type; the other kinds hide the employment fields
    page.select_option("#f-category", "self_employed")
    assert page.locator(".employment-fields").is_visible()
    assert not page.locator("#f-employment-employment_type").is_visible()
    page.select_option("#f-category", "military_service")
    assert not page.locator(".employment-fields").is_visible()

    page.goto(f"{console.url}/placement?on={due_on.isoformat()}&mine=1")
    assert page.locator("#worklist tbody tr").count() == 0, "her 1-month follow-up is done"
    page.goto(f"{console.url}/placement?on={due_on.isoformat()}")
    assert page.locator("#worklist tbody tr").count() == 2


def test_placement_employers_postings_matching_internship_and_incentive(console, cohort, page, check_page) -> None:
    park = cohort.trainees["박지호"]
    console.signin(page, "placement", cohort.campus)
    page.goto(f"{console.url}/placement/employers")
    check_page(page, "placement-employers")
    page.fill("#f-name", "성수데이터")
    page.fill("#f-business_number", "12-34")
    page.click("#add-employer")
    assert page.locator("#f-business_number").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-name").input_value() == "성수데이터"
    check_page(page, "placement-employers-refused")
    page.fill("#f-business_number", "123-45-67890")
    page.fill("#f-industry", "데이터")
    page.click("#add-employer")
    page.wait_for_load_state("networkidle")
    assert "성수데이터" in page.locator("#employers").inner_text()

    page.goto(f"{console.url}/placement/postings")
    check_page(page, "placement-postings")
    page.fill("#f-role", "용접 보조")
    page.fill("#f-weekly_hours", "40")
    page.fill("#f-required_qualifications", cohort.qualification)
    page.click("#add-posting")
    page.wait_for_url(re.compile(r".*/placement/postings/[0-9a-f-]{36}$"))
    assert page.locator("#posting-pay").inner_text() == "2,390,124원", "40 hours a week at the living wage"
    assert page.locator(f"#matches tr[data-graduate='{park}']").count() == 1
    check_page(page, "placement-posting")
    page.click(f"button[data-start='{park}']")
    page.wait_for_url(re.compile(r".*/placement/internships"))
    row = page.locator("#internships tbody tr[data-status='active']")
    assert row.count() == 1 and "2,390,124원" in row.inner_text()
    check_page(page, "placement-internships")
    row.locator("input[name=monthly_wage]").fill("2,700,000")
    row.locator("button[data-convert]").click()
    page.wait_for_load_state("networkidle")
    converted = page.locator("#internships tbody tr[data-status='converted']")
    assert "고용 장려금 3,000,000원" in converted.inner_text()
    assert page.locator("#incentive-total").inner_text() == "지급할 장려금 1건, 합계 3,000,000원"
    check_page(page, "placement-internships-converted")


def test_placement_posting_closed_and_internship_ended_early(console, cohort, page, check_page) -> None:
    kim = cohort.trainees["김민준"]
    placement = httpx.Client(
        base_url=console.services["placement"], timeout=30, headers=demo.auth(["placement"], [cohort.campus])
    )
    with placement as api:
        employer = api.post(f"{P}/employers", json={"campus": cohort.campus, "name": "한강정밀"}).json()
        posting = api.post(f"{P}/postings", json={"employer_id": employer["id"], "role": "품질 검사"}).json()
        start = demo.add_months(date.today(), -1) - timedelta(days=9)
        internship = api.post(
            f"{P}/internships",
            json={"posting_id": posting["id"], "graduate_id": kim, "start_date": start.isoformat()},
        ).json()
    console.signin(page, "placement", cohort.campus)

    # end Kim's internship early: a last day before the start is refused in words, then today is taken
    page.goto(f"{console.url}/placement/internships")
    row = page.locator(f"#i-{internship['id']}")
    row.locator("details.end-early summary").click()
    row.locator("input[name=date]").fill((start - timedelta(days=1)).isoformat())
    row.locator("input[name=reason]").fill("타 지역으로 이사")
    row.locator(f"button[data-end='{internship['id']}']").click()
    page.wait_for_load_state("networkidle")
    row = page.locator(f"#i-{internship['id']}")
    assert "시작일보다 앞설 수 없습니다" in row.locator(".problem").inner_text()
    assert row.locator("input[name=reason]").input_value() == "타 지역으로 이사"
    check_page(page, "placement-internship-end-refused")
    row.locator("input[name=date]").fill(date.today().isoformat())
    row.locator(f"button[data-end='{internship['id']}']").click()
    page.wait_for_load_state("networkidle")
    ended = page.locator(f"#i-{internship['id']}")
    assert ended.get_attribute("data-status") == "ended_early"
    second = demo.add_months(start, 1)
    pay = 2_390_124 + 2_390_124 * ((date.today() - second).days + 1) // (demo.add_months(start, 2) - second).days
    assert f"{pay:,}원" in ended.inner_text() and "조기 종료" in ended.inner_text()
    assert ended.locator("button[data-convert]").count() == 0, "an internship ended early offers no conversion"
    check_page(page, "placement-internship-ended-early")

    # close the posting from its page: it then lists nobody to match
    page.goto(f"{console.url}/placement/postings/{posting['id']}")
    assert page.locator(f"#matches tr[data-graduate='{kim}']").count() == 1, "free again after the early end"
    page.fill("#close-reason", "채용 완료")
    page.click(f"button[data-close='{posting['id']}']")
    page.wait_for_load_state("networkidle")
    assert (
        "마감" in page.locator("#posting-status").inner_text()
        and "채용 완료" in page.locator("#posting-status").inner_text()
    )
    assert page.locator("#closed-no-matches").count() == 1 and page.locator("#matches").count() == 0
    assert page.locator("#close-posting").count() == 0
    check_page(page, "placement-posting-closed")
    page.goto(f"{console.url}/placement/postings")
    assert page.locator(f"tr[data-posting='{posting['id']}'] [data-status]").get_attribute("data-status") == "closed"
    assert page.locator(f"button[data-close='{posting['id']}']").count() == 0


def test_english_and_a_certification_outage_named(console, cohort, start_console, page, check_page) -> None:
    console.signin(page, "finance", cohort.campus)
    page.goto(f"{console.url}/finance?status=rejected")
    page.click("button[lang=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Exam-fee claims queue"
    assert "was before" in page.locator("ul.checks").inner_text() or "inside" in page.locator("ul.checks").inner_text()
    check_page(page, "finance-queue-en")
    page.click("button[lang=ko]")
    dead = f"http://127.0.0.1:{free_port()}"
    with start_console({"certification": dead}) as down:
        signin(page, down.url, "finance", cohort.campus)
        response = page.goto(down.url + "/finance")
        assert response.status == 503
        assert "자격·응시료 서비스에 지금 연결할 수 없습니다." in page.locator(".problem").inner_text()
        check_page(page, "finance-service-down")
