"""The kernel's input rules: what counts as a resident registration number, strict flags and dates."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from shared.inputs import RRN, Day, Flag, InputModel, PastDay, QueryFlag, WallClock
from shared.problems import log_unexpected


@pytest.mark.parametrize(
    "text",
    ["910307-2345678", "9103072345678", "910307 2345678", "see 000101-4000000.", "주민번호 851231-1234567 입니다"],
)
def test_resident_registration_numbers_are_found(text):
    assert RRN.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "010-1234-5678",
        "01012345678",
        "123-45-67890",
        "QN-2027-0001234",
        "27-1-0456",
        "911307-2345678",  # month 13
        "910332-2345678",  # day 32
        "910307-9345678",  # 9 is no century/sex digit
        "19103072345678",  # part of a longer number
        "910307-23456789",
        "2,600,000 KRW",
    ],
)
def test_other_numbers_are_not_taken_for_one(text):
    assert not RRN.search(text)


class Body(InputModel):
    name: str
    tags: list[str] = []
    flag: Flag = False
    day: Day | None = None
    past: PastDay | None = None


def errors(**data):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as raised:
        Body(**data)
    return {(".".join(map(str, e["loc"])), e["type"]) for e in raised.value.errors()}


def test_every_string_is_checked_nested_ones_too():
    assert ("name", "text.control-character") in errors(name="a\x00b")
    assert ("name", "text.control-character") in errors(name="\ud800")
    assert ("tags", "personal-data.resident-registration-number") in errors(name="a", tags=["x", "910307-2345678"])
    assert Body(name="tab\tand\nnewline ok").name


@pytest.mark.parametrize("value", [0, 1, "true", "yes"])
def test_flags_are_json_booleans_only(value):
    assert ("flag", "bool_type") in errors(name="a", flag=value)


def test_query_flags_are_true_or_false():
    from pydantic import TypeAdapter

    adapter = TypeAdapter(QueryFlag)
    assert adapter.validate_python("true") is True and adapter.validate_python("false") is False
    for value in ("1", "0", "on", "yes", "True"):
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize("value", [0, 20270104, "20270104", "2027-1-4", "2027-01-04T00:00:00"])
def test_dates_are_iso_strings(value):
    assert {loc for loc, _ in errors(name="a", day=value)} == {"day"}


def test_date_bounds():
    today = date.today()
    assert Body(name="a", day="1900-01-01", past=str(today)).past == today
    assert ("day", "date.out-of-range") in errors(name="a", day="1899-12-31")
    assert ("day", "date.out-of-range") in errors(name="a", day=str(today.replace(year=today.year + 11)))
    assert Body(name="a", day=str(today + timedelta(days=3000))).day
    assert ("past", "date.future") in errors(name="a", past=str(today + timedelta(days=1)))


def test_wall_clock_times_have_no_offset_and_match_their_schema():
    from pydantic import TypeAdapter

    adapter = TypeAdapter(WallClock)
    assert adapter.dump_json(adapter.validate_python("09:00")) == b'"09:00:00"'
    for value in ("09:00:00Z", "09:00+09:00", "9:00", "24:00"):
        with pytest.raises(ValidationError):
            adapter.validate_python(value)
    assert "format" not in adapter.json_schema()


def test_an_unexpected_error_is_logged_by_its_type_not_its_message(caplog):
    values = ["Kim Minji", "1994-05-17", "010-5555-8123"]  # the stack quotes source lines, not values
    try:
        raise ValueError(", ".join(values))
    except ValueError as exc:
        with caplog.at_level(logging.ERROR):
            log_unexpected(logging.getLogger("test"), exc, path="/x")
    record = caplog.records[-1]
    assert record.error_type == "ValueError" and "test_inputs.py" in record.stack
    assert "Kim Minji" not in caplog.text + str(record.__dict__)


class Numbers(InputModel):
    count: int = 0
    share: float | None = None
    days: list[int] = []


@pytest.mark.parametrize(
    "field,value", [("count", False), ("count", "15"), ("share", True), ("share", "0.5"), ("days", [1, True])]
)
def test_numbers_are_json_numbers(field, value):
    with pytest.raises(ValidationError) as raised:
        Numbers(**{field: value})
    assert [e["loc"][0] for e in raised.value.errors()] == [field]


def test_numbers_still_take_numbers():
    assert Numbers(count=3, share=1, days=[0, 6]).share == 1.0
