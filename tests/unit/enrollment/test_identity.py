"""Recognising one person registered twice: normalised names, phones and e-mails, the reasons and the score."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.enrollment.domain.identity import (
    MAX_KEY_LENGTH,
    Identity,
    MergeSide,
    check_merge,
    email_key,
    fold,
    match_keys,
    name_forms,
    phone_key,
    resemblance,
)

BORN = date(1994, 5, 17)


@pytest.mark.parametrize(
    "typed",
    ["김민지", "김 민지", " 김  민 지 ", "김-민지", "김·민지"],
)
def test_a_hangul_name_is_one_name_however_it_was_spaced_or_hyphenated(typed: str) -> None:
    assert name_forms(typed) == {"김민지"}


def test_compatibility_and_full_width_forms_are_folded_to_the_plain_ones() -> None:
    assert fold("ＫＩＭ　Ｍｉｎ－ｊｉ") == "kimminji"  # full-width letters, ideographic space, full-width hyphen
    assert fold("Min\u2010ji") == "minji"  # a typographic hyphen
    assert name_forms("\u1100\u1175\u11b7\u1106\u1175\u11ab\u110c\u1175") == {"김민지"}  # conjoining jamo


@pytest.mark.parametrize("typed", ["Kim Minji", "MINJI KIM", "kim min-ji", "Kim, Minji", "Min Ji Kim", "KimMinji"])
def test_a_romanised_name_matches_in_any_case_spacing_and_with_the_family_name_first_or_last(typed: str) -> None:
    assert "kimminji" in name_forms(typed)


def test_romanised_names_keep_apart_what_differs_and_lose_their_diacritics() -> None:
    assert not name_forms("Kim Minji") & name_forms("Kim Minjun")
    assert name_forms("Nguyễn Thị Lan") & name_forms("Lan Nguyen Thi")


def test_hangul_is_compared_with_hangul_and_the_romanised_field_with_romanised_names() -> None:
    both = name_forms("김민지", "Kim Minji")
    assert both == {"김민지", "kimminji", "minjikim"}
    assert both & name_forms("Minji Kim")  # another record that has only the romanised name
    assert both & name_forms("김 민지")
    assert not name_forms("김민지") & name_forms("Kim Minji")  # Hangul is never transliterated


@pytest.mark.parametrize(
    "typed",
    [
        "010-1234-5678",
        "01012345678",
        "+82 10-1234-5678",
        "+82-010-1234-5678",
        "82 10 1234 5678",
        "0082-10-1234-5678",
        "(010) 1234 5678",
        "０１０－１２３４－５６７８",
    ],
)
def test_a_phone_is_its_digits_with_the_country_code_as_the_leading_zero(typed: str) -> None:
    assert phone_key(typed) == "01012345678"


@pytest.mark.parametrize("typed", [None, "", "1234", "010-0000-0000", "010 1111 1111", "02-000-0000"])
def test_short_numbers_and_placeholders_prove_nothing(typed: str | None) -> None:
    assert phone_key(typed) is None


def test_a_landline_keeps_its_area_code() -> None:
    assert phone_key("+82 2-345-6789") == phone_key("02-345-6789") == "023456789"


def test_an_email_is_lower_cased_without_its_plus_tag_and_without_dots_at_gmail_only() -> None:
    assert email_key(" Minji.Kim+jobs@Example.ORG ") == "minji.kim@example.org"
    assert email_key("min.ji.kim+x@googlemail.com") == email_key("MinjiKim@gmail.com") == "minjikim@gmail.com"
    assert email_key("min.ji@naver.com") != email_key("minji@naver.com")  # elsewhere a dot can be another mailbox
    assert email_key("ｍｉｎｊｉ@naver.com") == "minji@naver.com"
    assert email_key("not an address") is None and email_key(None) is None and email_key("+tag@x.org") is None


def test_the_keys_are_the_birth_date_with_each_name_form_the_phone_and_the_email() -> None:
    person = Identity("김민지", BORN, name_romanised="Kim Minji", phone="010-1234-5678", email="M@x.org")
    assert match_keys(person) == {
        "birth_date+name:1994-05-17:김민지",
        "birth_date+name:1994-05-17:kimminji",
        "birth_date+name:1994-05-17:minjikim",
        "phone:01012345678",
        "email:m@x.org",
    }
    assert match_keys(Identity("김민지", BORN, phone="010-0000-0000")) == {"birth_date+name:1994-05-17:김민지"}


def test_the_same_birth_date_and_name_written_differently_is_a_likely_duplicate() -> None:
    first = Identity("김민지", BORN, phone="010-1234-5678")
    again = Identity("김 민 지", BORN, phone="+82 10 1234 5678")
    alike = resemblance(first, again)
    assert alike is not None and alike.reasons == ("birth_date+name", "phone") and alike.score == 1.0
    assert match_keys(first) & match_keys(again)


def test_each_reason_is_named_and_weighed() -> None:
    kim = Identity("Kim Minji", BORN, email="minji@x.org", phone="010-1234-5678")
    same_name_and_birth = resemblance(kim, Identity("Minji Kim", BORN))
    assert same_name_and_birth is not None
    assert (same_name_and_birth.reasons, same_name_and_birth.score) == (("birth_date+name",), 0.7)
    by_email = resemblance(kim, Identity("Kim Min-ji", date(1994, 5, 18), email="MINJI@X.ORG"))
    assert by_email is not None
    assert (by_email.reasons, by_email.score) == (("email", "name"), 0.7)  # a slip in the birth date
    by_phone = resemblance(kim, Identity("Lee Sora", BORN, phone="01012345678"))
    assert by_phone is not None
    assert (by_phone.reasons, by_phone.score) == (("phone", "birth_date"), 0.5)
    assert resemblance(kim, Identity("Kim Minji", date(1990, 1, 1))) is None  # a name alone is no evidence
    assert resemblance(kim, Identity("Lee Sora", BORN)) is None  # nor a birth date alone


def test_a_record_merges_into_another_once_and_never_into_itself_or_a_merged_one() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert check_merge(MergeSide(a, None), MergeSide(b, None)) == []
    assert [f.rule for f in check_merge(MergeSide(a, None), MergeSide(a, None))] == ["merge.same-record"]
    already = check_merge(MergeSide(a, None), MergeSide(b, c))
    assert [(f.rule, f.field) for f in already] == [("merge.already-merged", "duplicate_id")]
    assert str(c) in already[0].message
    survivor_merged = check_merge(MergeSide(a, c), MergeSide(b, None))
    assert [f.rule for f in survivor_merged] == ["merge.survivor-merged"] and str(c) in survivor_merged[0].message


def test_a_key_too_long_for_its_column_is_kept_as_a_digest_that_still_matches() -> None:
    long_name = "\ufdfa" * 200  # one character that NFKC unfolds into eighteen
    keys = match_keys(Identity(long_name, BORN))
    assert keys and all(len(k) <= MAX_KEY_LENGTH and k.startswith("birth_date+name:sha256:") for k in keys)
    assert match_keys(Identity(long_name, BORN)) == keys
