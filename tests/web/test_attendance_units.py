"""The attendance room without a browser: what a card reader types, and the room's words for the API's codes."""

from __future__ import annotations

import typing

from services.attendance.domain.excuses import REASON_CODES
from services.attendance.schemas import MarkName
from web.i18n import LANGUAGES, rule_text, translate
from web.rooms import attendance

TRAINEE = "0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11"


def test_a_reading_gives_the_trainee_id_however_the_reader_types_it() -> None:
    for typed in (
        TRAINEE,
        TRAINEE.upper(),
        TRAINEE.replace("-", ""),
        f"  {TRAINEE}\t",
        f"urn:uuid:{TRAINEE}",
        f"https://centre.example/t/{TRAINEE.replace('-', '').upper()}?v=1",
    ):
        assert attendance.read_card(typed) == TRAINEE, typed
    for typed in ("", "hello", "0042", TRAINEE[:-1]):
        assert attendance.read_card(typed) is None, typed


def test_the_room_knows_every_mark_and_reason_code_of_the_api_in_both_languages() -> None:
    assert set(attendance.MARKS) == set(typing.get_args(MarkName))
    assert set(attendance.REASON_CODES) == set(REASON_CODES)
    for lang in LANGUAGES:
        for key in [f"mark.{m}" for m in attendance.MARKS] + [f"reason-code.{c}" for c in attendance.REASON_CODES]:
            assert translate(lang, f"attendance.{key}") != f"attendance.{key}", (lang, key)


def test_the_attendance_apis_rule_codes_are_in_plain_words() -> None:
    rules = (
        "roster.not-on-roster",
        "roster.withdrawn",
        "check-in.outside-window",
        "check-in.future",
        "mark.session-not-started",
        "excuse.reason-code",
        "excuse.evidence",
        "cohort.already-closed",
        "cohort.not-started",
        "cohort.closed",
        "sheet.month",
    )
    for lang in LANGUAGES:
        for code in rules:
            assert rule_text(lang, code, "API sentence") != "API sentence", (lang, code)
    assert rule_text("ko", "cohort.already-closed") == "이미 종료된 기수입니다. 다시 종료할 수 없습니다."
