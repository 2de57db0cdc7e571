"""The finance room's rule outcomes in words, without a browser: what the queue says for each claim rule."""

from __future__ import annotations

from web.i18n import translate
from web.rooms.finance import rule_outcomes

CLAIM = {
    "id": "c1",
    "trainee_id": "t1",
    "cohort_id": "k1",
    "qualification_code": "WELD",
    "stage": "written",
    "exam_date": "2027-03-14",
    "amount_paid": 20_000,
    "standard_fee": 14_500,
    "amount": 14_500,
    "status": "submitted",
    "submitted_at": "2027-03-20T01:00:00Z",
}
WINDOW = {
    "cohort_id": "k1",
    "status": "completed",
    "start_date": "2026-09-01",
    "completion_date": "2027-02-26",
    "closed_on": None,
    "last_exam_date": "2028-02-26",
}


def words(checks: list[dict], lang: str = "ko") -> dict[str, tuple[bool, str]]:
    return {c["rule"]: (c["ok"], translate(lang, c["key"], **c["values"])) for c in checks}


def test_a_claim_that_passes_every_rule_says_how() -> None:
    out = words(rule_outcomes(CLAIM, WINDOW, [CLAIM], "ko", "Asia/Seoul"))
    assert list(out) == ["window", "deadline", "duplicate", "attempts", "amount"]
    assert all(ok for ok, _ in out.values())
    assert out["window"][1] == "2027-02-26 수료, 2028-02-26까지 응시분 인정 — 2027-03-14 응시는 기간 안"
    assert out["deadline"][1].startswith("시험 6일 뒤(2027-03-20) 청구")  # 10:00 in Seoul on the 20th
    assert out["amount"][1] == "표준 응시료 14,500원이 납부액 20,000원보다 적어 표준 응시료 14,500원 환급"
    cheaper = words(
        rule_outcomes({**CLAIM, "amount_paid": 12_000, "amount": 12_000}, WINDOW, [], "en", "Asia/Seoul"), "en"
    )
    assert cheaper["amount"][1] == "paid KRW 12,000 is below the standard fee KRW 14,500: KRW 12,000 reimbursed"


def test_a_window_closed_since_and_a_second_claim_for_the_same_exam_are_flagged() -> None:
    withdrawn = {
        **WINDOW,
        "status": "withdrawn",
        "completion_date": None,
        "closed_on": "2027-01-10",
        "last_exam_date": "2027-01-10",
    }
    twin = {**CLAIM, "id": "c2", "status": "approved"}
    out = words(rule_outcomes(CLAIM, withdrawn, [CLAIM, twin], "ko", "Asia/Seoul"))
    assert out["window"] == (False, "2027-01-10에 훈련 중단 — 그 뒤인 2027-03-14 응시는 인정되지 않음")
    assert out["duplicate"] == (False, "같은 자격·단계·시험일의 다른 청구 1건")
    assert out["attempts"][1].startswith("이 자격·단계의 청구 2건(승인·지급된 다른 청구 1건)")
    rejected_twin = {**twin, "status": "rejected"}  # a rejected claim releases its exam
    assert words(rule_outcomes(CLAIM, WINDOW, [CLAIM, rejected_twin], "ko", "Asia/Seoul"))["duplicate"][0]
    assert words(rule_outcomes(CLAIM, None, [CLAIM], "ko", "Asia/Seoul"))["window"][0] is False
