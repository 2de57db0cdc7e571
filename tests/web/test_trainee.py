"""The trainee's phone pages and the classroom's check-in screen in Chromium: a code read from the instructor's
screen, checked in from a phone, the mark seen, an exam-fee claim submitted and seen paid after finance pays it
through the API; an expired and a foreign code refused in words next to the field."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as clock

import httpx
import pytest

from services.attendance.domain import qr
from services.attendance.settings import LOCAL_QR_SECRET
from tests.integration.attendance.helpers import SEOUL, Enrollment, snapshot, today
from tests.support import token, wait_until
from tests.web import harness
from web.qr import qr_svg

pytestmark = pytest.mark.integration
PHONE = {"width": 390, "height": 844}


@pytest.fixture()
def phone(browser):  # type: ignore[no-untyped-def]
    """A phone-sized Chromium page (touch, mobile viewport), Korean locale, Seoul time; the page may not break its CSP."""
    context = browser.new_context(
        locale="ko-KR", timezone_id="Asia/Seoul", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not [e for e in errors if "Content Security Policy" in e or "Refused to" in e], errors


class Centre:
    """One campus with a cohort whose session runs now, a trainee on its roster, and a qualification with its fee."""

    def __init__(self, console, kafka: str, sessions: int = 1) -> None:  # type: ignore[no-untyped-def]
        self.urls = console.services
        self.campus = f"t{uuid.uuid4().hex[:7]}"
        self.staff = token(["instructor"], [self.campus])
        now = datetime.now(SEOUL).replace(tzinfo=None)
        begin = max(now - timedelta(minutes=5), datetime.combine(now.date(), clock(0, 0))).time()
        slot = (begin.replace(second=0, microsecond=0), clock(23, 59))
        start = today() - timedelta(days=20)
        self.qualification = f"WELD-{uuid.uuid4().hex[:6].upper()}"
        producer = Enrollment(kafka)
        try:
            self.snaps = []
            for _ in range(sessions):
                snap = snapshot(
                    self.campus, start, today() + timedelta(days=30), days=[start, today()], slot=slot, hours=1.0
                ).model_copy(update={"qualification_codes": [self.qualification]})
                producer.publish(snap)
                self.snaps.append(snap)
            self.trainee = producer.enroll(self.snaps[0], name="Kim Minji")
            for snap in self.snaps[1:]:
                producer.enroll(snap, name="Lee Jiwoo")
        finally:
            producer.close()
        self.finance = token(["finance"], [self.campus])
        r = httpx.put(
            f"{self.urls['certification']}/certification/v1/qualifications/{self.qualification}",
            headers=self.finance,
            json={
                "code": self.qualification,
                "name": "Welding Craftsman (용접기능사)",
                "grade": "craftsman",
                "written_fee": 14500,
                "practical_fee": 60000,
                "programme_codes": [s.programme_code for s in self.snaps],
            },
        )
        assert r.status_code == 200, r.text
        self.sessions = [wait_until(lambda snap=snap: self._today_session(snap)) for snap in self.snaps]
        me = token(["trainee"], [], sub=str(self.trainee))
        wait_until(
            lambda: (
                httpx.get(
                    f"{self.urls['certification']}/certification/v1/trainees/{self.trainee}/windows", headers=me
                ).status_code
                == 200
            )
        )

    def _today_session(self, snap) -> dict | None:  # type: ignore[no-untyped-def]
        a = f"{self.urls['attendance']}/attendance/v1/cohorts/{snap.cohort_id}"
        if httpx.get(f"{a}/roster", headers=self.staff).json() in ([], None) or not isinstance(
            httpx.get(f"{a}/roster", headers=self.staff).json(), list
        ):
            return None
        return next(
            (s for s in httpx.get(f"{a}/sessions", headers=self.staff).json() if s["date"] == today().isoformat()), None
        )


def test_trainee_journey_on_a_phone(console, web_kafka, page, phone, check_page) -> None:
    centre = Centre(console, web_kafka)
    session = centre.sessions[0]

    # the instructor's screen: today's sessions, then the QR of one
    console.signin(page, "instructor", centre.campus)
    page.goto(console.url + "/classroom")
    assert page.locator("h1").inner_text() == "오늘의 훈련 · 출석 QR"
    check_page(page, "classroom-today")
    page.click(f"a[href='/classroom/sessions/{session['id']}']")
    page.wait_for_load_state("networkidle")
    check_page(page, "classroom-screen")
    shown = page.locator("#qr-code")
    link, code = shown.get_attribute("data-link"), shown.get_attribute("data-code")
    assert link == f"{console.url}/me/check-in?session={session['id']}&code={code}"
    assert page.locator("#code-text").inner_text().replace(" ", "") == code
    # the picture is the QR code of that very link
    drawn = page.locator("#qr-code svg path[stroke='#000']").get_attribute("d")
    expected = re.search(r'stroke="#000" d="([^"]+)"', str(qr_svg(link, title="x"))).group(1)
    assert drawn == expected
    assert page.locator("#qr-code svg").get_attribute("role") == "img"

    # the trainee's phone "scans" it: the link opens the check-in page (sign-in first, the link kept)
    phone.goto(link)
    assert "/signin" in phone.url
    phone.select_option("#f-role", "trainee")
    phone.fill("#f-trainee_id", str(centre.trainee))
    phone.click("form[action='/signin/local'] button")
    phone.wait_for_load_state("networkidle")
    assert phone.url == link, "after sign-in the scanned link opens with its code"
    assert phone.locator("#f-code").input_value() == code
    check_page(phone, "me-check-in-scanned")
    phone.click("#check-in-button")
    phone.wait_for_load_state("networkidle")
    assert phone.locator("h1").inner_text() == "출석이 기록되었습니다"
    assert phone.locator(".big-mark").get_attribute("data-mark") == "present"
    assert phone.locator(".big-mark").inner_text() == "출석"
    check_page(phone, "me-checked-in")

    # the mark, rate, maximum possible rate and allowance on the trainee's page, as attendance reports them
    phone.click("text=내 출석으로")
    phone.wait_for_load_state("networkidle")
    assert phone.locator(f".session-line[data-session='{session['id']}'] [data-mark]").inner_text() == "출석"
    standing = httpx.get(
        f"{centre.urls['attendance']}/attendance/v1/trainees/{centre.trainee}/attendance",
        headers=token(["trainee"], [], sub=str(centre.trainee)),
    ).json()[0]
    assert phone.locator("[data-figure=current_rate]").inner_text() == f"{standing['current_rate'] * 100:.1f}%"
    assert (
        phone.locator("[data-figure=max_possible_rate]").inner_text() == f"{standing['max_possible_rate'] * 100:.1f}%"
    )
    month = standing["months"][-1]
    assert phone.locator(f"td[data-month='{month['month']}']").inner_text() == f"{month['allowance_krw']:,}원"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    check_page(phone, "me-home")

    # an exam-fee claim: a refusal keeps what was typed and names the field; then submitted
    phone.click("text=응시료 청구하기")
    phone.wait_for_load_state("networkidle")
    check_page(phone, "me-claims")
    exam_day = (today() - timedelta(days=3)).isoformat()
    phone.select_option("#f-qualification_code", centre.qualification)
    phone.select_option("#f-stage", "written")
    phone.fill("#f-exam_date", exam_day)
    phone.fill("#f-amount_paid", "만사천오백")
    receipt = f"QN-{uuid.uuid4().hex[:8].upper()}"
    phone.fill("#f-receipt_number", receipt)
    phone.fill("#f-admission_slip_number", "27-1-0456")
    phone.click("form[action='/me/claims'] button")
    phone.wait_for_load_state("networkidle")
    assert phone.locator("#f-amount_paid").get_attribute("aria-invalid") == "true"
    assert phone.locator("#err-amount_paid").inner_text().strip() == "정수를 입력하세요."
    assert phone.locator("#f-receipt_number").input_value() == receipt, "the form keeps what was typed"
    assert phone.locator("#f-exam_date").input_value() == exam_day
    check_page(phone, "me-claims-refused")
    phone.fill("#f-amount_paid", "16000")
    phone.click("form[action='/me/claims'] button")
    phone.wait_for_url(re.compile(r".*/me/claims/[0-9a-f-]{36}$"))
    claim_id = phone.url.rsplit("/", 1)[1]
    assert phone.locator("#claim-status").get_attribute("data-status") == "submitted"
    assert phone.locator("#claim-amount").inner_text() == "14,500원", "the lesser of paid and the standard fee"
    check_page(phone, "me-claim-submitted")

    # finance approves and pays through the API; the trainee follows it to payment
    c = f"{centre.urls['certification']}/certification/v1/claims/{claim_id}"
    assert httpx.post(f"{c}/approve", headers=centre.finance).status_code == 200
    paid = httpx.post(f"{c}/pay", headers={**centre.finance, "Idempotency-Key": str(uuid.uuid4())})
    assert paid.status_code == 200, paid.text
    phone.reload()
    phone.wait_for_load_state("networkidle")
    assert phone.locator("#claim-status").get_attribute("data-status") == "paid"
    assert phone.locator("#claim-status").inner_text() == "지급 완료"
    assert paid.json()["reference"] in phone.locator(".steps").inner_text()
    check_page(phone, "me-claim-paid")


def test_expired_and_foreign_codes_are_refused_in_words_then_a_typed_code_works(
    console, web_kafka, page, phone, check_page
) -> None:
    centre = Centre(console, web_kafka, sessions=2)
    mine, theirs = centre.sessions
    policy = qr.QrPolicy(secret=LOCAL_QR_SECRET.encode())  # the platform of the tests runs with the local secret
    stale = qr.code_for(policy, uuid.UUID(mine["id"]), policy.window(time.time()) - 4)  # shown two minutes ago
    console.signin(phone, "trainee", "", str(centre.trainee))

    phone.goto(f"{console.url}/me/check-in?session={mine['id']}&code={stale}")
    phone.click("#check-in-button")
    phone.wait_for_load_state("networkidle")
    assert phone.locator("#f-code").get_attribute("aria-invalid") == "true"
    assert phone.locator("#err-code [data-rule]").get_attribute("data-rule") == "check-in.code-expired"
    assert (
        phone.locator("#err-code").inner_text().strip()
        == "코드가 만료되었습니다. 교실 화면에 지금 보이는 코드를 다시 찍으세요."
    )
    check_page(phone, "me-check-in-expired")

    # another classroom's code, typed in: refused as foreign
    console.signin(page, "instructor", centre.campus)
    page.goto(f"{console.url}/classroom/sessions/{theirs['id']}")
    other = page.locator("#qr-code").get_attribute("data-code")
    phone.goto(f"{console.url}/me/check-in")
    phone.select_option("#f-session", mine["id"])
    phone.fill("#f-code", other)
    phone.click("#check-in-button")
    phone.wait_for_load_state("networkidle")
    assert (
        phone.locator("#err-code").inner_text().strip() == "이 훈련의 코드가 아닙니다. 내 교실 화면의 코드를 찍으세요."
    )
    assert phone.locator("#f-code").input_value() == other, "what was typed stays"
    check_page(phone, "me-check-in-foreign")

    # the code of the trainee's own classroom, typed with a space as the screen shows it: accepted
    page.goto(f"{console.url}/classroom/sessions/{mine['id']}")
    typed = page.locator("#code-text").inner_text()
    assert re.fullmatch(r"\d{4} \d{4}", typed)
    phone.select_option("#f-session", mine["id"])
    phone.fill("#f-code", typed)
    phone.press("#f-code", "Enter")  # from the keyboard: Enter in the field sends the form
    phone.wait_for_load_state("networkidle")
    assert phone.locator(".big-mark").get_attribute("data-mark") == "present"


def test_the_screen_fetches_the_next_code_when_it_changes(console, web_kafka, page, check_page) -> None:
    centre = Centre(console, web_kafka)
    session = centre.sessions[0]
    console.signin(page, "instructor", centre.campus)
    page.goto(f"{console.url}/classroom/sessions/{session['id']}")
    first = page.locator("#qr-code").get_attribute("data-code")
    deadline = time.monotonic() + 40  # the code changes within 30 s; the page fetches the next by itself
    while page.locator("#qr-code").get_attribute("data-code") == first and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert page.locator("#qr-code").get_attribute("data-code") != first, "the screen showed a new code by itself"
    policy = qr.QrPolicy(secret=LOCAL_QR_SECRET.encode())
    assert page.locator("#qr-code").get_attribute("data-code") in {
        qr.code_for(policy, uuid.UUID(session["id"]), policy.window(time.time()) - d) for d in (0, 1)
    }
    # a trainee may not open the classroom's screen
    other = page.context.browser.new_context(locale="ko-KR")
    tp = other.new_page()
    harness.signin(tp, console.url, "trainee", "", str(centre.trainee))
    assert tp.goto(f"{console.url}/classroom/sessions/{session['id']}").status == 403
    other.close()


def test_with_certification_down_the_trainee_still_sees_attendance(
    console, web_kafka, start_console, phone, check_page
) -> None:
    from trainingops.broker import free_port

    centre = Centre(console, web_kafka)
    with start_console({"certification": f"http://127.0.0.1:{free_port()}"}) as c:
        harness.signin(phone, c.url, "trainee", "", str(centre.trainee))
        response = phone.goto(c.url + "/me")
        assert response.status == 200
        assert phone.locator(f".session-line[data-session='{centre.sessions[0]['id']}']").count() == 1
        assert (
            phone.locator("[data-service=certification]").inner_text()
            == "자격·응시료 서비스에 지금 연결할 수 없습니다."
        )
        check_page(phone, "me-home-certification-down")
        assert phone.goto(c.url + "/me/claims").status == 503
        assert "자격·응시료 서비스에 지금 연결할 수 없습니다." in phone.locator(".problem").inner_text()
