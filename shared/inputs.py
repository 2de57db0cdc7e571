"""What every service accepts as input, written once: clean text, strict flags, dates within sane bounds.

Every request body model derives from ``InputModel``: each string in it (nested lists and dicts included) is
checked by ``check_text``, so no body of any service can carry a NUL byte, another control character, a lone
surrogate or a resident registration number. Query and path parameters get the same character check from
``clean_parameters``, a dependency every router carries. Flags are ``Flag`` (JSON ``true``/``false`` only, or
``QueryFlag`` in a query string), dates are ``Day`` / ``PastDay`` (``YYYY-MM-DD`` only, between
``EARLIEST_DATE`` and ``LATEST_YEARS_AHEAD`` years from today, or not after today for things that already
happened).

Refusals are ordinary validation errors: a 422 problem whose ``errors`` name the field and, as ``rule``, why.
"""

from __future__ import annotations

import functools
import re
import time as monotonic_clock
from datetime import date, datetime, time
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    PlainSerializer,
    Strict,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shared.clock import platform_clock

# Dates: nobody the centres deal with was born, or did anything we record, before 1900; nothing is planned
# more than ten years ahead (cohorts are published months ahead, internships and hires weeks ahead).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_YEARS_AHEAD = 10

# NUL and the other C0 controls (tab, newline and carriage return are text), DEL, and lone UTF-16 surrogates
# (which no database encoding can store).
_BAD_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# A resident registration number (주민등록번호): YYMMDD, an optional hyphen or space, then seven digits whose
# first (the century and sex digit) is 1 to 8. The six digits must be a possible birth date (month 01-12, day
# 01-31), and the thirteen digits must not be part of a longer run of digits, so phone numbers, receipt
# numbers and amounts are not taken for one.
RRN = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?[1-8]\d{6}(?!\d)")


def latest_date() -> date:
    """The last date any input may name: ``LATEST_YEARS_AHEAD`` years from today (the centre's today)."""
    today = platform_clock().today()
    try:
        return today.replace(year=today.year + LATEST_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + LATEST_YEARS_AHEAD, day=28)


_latest: tuple[Any, int, date] | None = None  # (clock, second, latest date)


def _latest_date_now() -> date:
    """``latest_date``, worked out once a second per clock: a bulk request checks thousands of dates against it,
    and reading the clock in the centre's zone costs more than the check (the bound moves once a day)."""
    global _latest
    clock, second = platform_clock(), int(monotonic_clock.monotonic())
    if _latest is None or _latest[0] is not clock or _latest[1] != second:
        _latest = (clock, second, latest_date())
    return _latest[2]


def check_characters(value: str) -> str:
    if _BAD_CHARACTER.search(value):
        raise PydanticCustomError(
            "text.control-character", "text may not contain NUL, other control characters or lone surrogates"
        )
    return value


def check_text(value: str) -> str:
    """Refuse text no service may store: control characters, or a resident registration number."""
    check_characters(value)
    if RRN.search(value):
        raise PydanticCustomError(
            "personal-data.resident-registration-number",
            "this looks like a resident registration number, which the centres may not store "
            "(personal-data rule): remove it; a birth date is recorded on its own field",
        )
    return value


def _walk(value: Any) -> None:
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _walk(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key)
            _walk(item)


def _number_kind(annotation: Any) -> tuple[str, bool] | None:
    """("int" or "float", is a list) when a field holds JSON numbers (optionally in a list), else None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _number_kind(get_args(annotation)[0])
    if origin in (Union, UnionType):
        kinds = {_number_kind(a) for a in get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is list:
        inner = _number_kind(get_args(annotation)[0]) if get_args(annotation) else None
        return (inner[0], True) if inner and not inner[1] else None
    if annotation is int:
        return ("int", False)
    if annotation is float:
        return ("float", False)
    return None


@functools.cache
def _field_number_kind(model: type[BaseModel], field: str) -> tuple[str, bool] | None:
    """``_number_kind`` of a model's field, worked out once per field (a spreadsheet import validates a model
    per row)."""
    return _number_kind(model.model_fields[field].annotation)


def _check_number(kind: str, value: Any) -> None:
    # JSON numbers only: pydantic would otherwise take false for 0, true for 1 and "82" for 82.
    if isinstance(value, bool) or isinstance(value, str):
        raise PydanticCustomError(
            f"{kind}_type",
            "a number is a JSON number, not {kind_of}",
            {"kind_of": "a boolean" if isinstance(value, bool) else "a string"},
        )


class InputModel(BaseModel):
    """Base of every request body: each string anywhere in it passes ``check_text``, and numbers are numbers."""

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        kind = _field_number_kind(cls, info.field_name) if info.field_name else None
        if kind is not None:
            for item in value if kind[1] and isinstance(value, list) else [value]:
                _check_number(kind[0], item)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        _walk(value)
        return value


# -- flags ---------------------------------------------------------------------------
Flag = Annotated[bool, Strict()]
"""A JSON boolean: ``true`` or ``false``, never 0, 1 or "yes"."""


def _query_flag(value: Any) -> Any:
    if isinstance(value, str):
        if value in ("true", "false"):
            return value == "true"
        raise PydanticCustomError("bool_parsing", "a flag is true or false")
    return value


QueryFlag = Annotated[bool, BeforeValidator(_query_flag), Strict()]
"""A flag in a query string: ``true`` or ``false``, never 0, 1, on or yes."""


# -- dates ---------------------------------------------------------------------------
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _strict_date(value: Any) -> Any:
    if isinstance(value, datetime):
        raise PydanticCustomError("date_type", "a date is YYYY-MM-DD, without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_from_datetime_parsing", "not a calendar date") from None
    raise PydanticCustomError("date_type", "a date is a string YYYY-MM-DD")


def _date_in_bounds(value: date) -> date:
    if value < EARLIEST_DATE or value > _latest_date_now():
        raise PydanticCustomError(
            "date.out-of-range",
            "dates run from {earliest} to {latest}",
            {"earliest": str(EARLIEST_DATE), "latest": str(latest_date())},
        )
    return value


def _not_after_today(value: date) -> date:
    today = platform_clock().today()
    if value > today:
        raise PydanticCustomError(
            "date.future", "this is something that already happened: not after today ({today})", {"today": str(today)}
        )
    return value


Day = Annotated[date, BeforeValidator(_strict_date), AfterValidator(_date_in_bounds)]
"""A calendar date ``YYYY-MM-DD`` between 1900-01-01 and ten years from today."""

PastDay = Annotated[
    date, BeforeValidator(_strict_date), AfterValidator(_date_in_bounds), AfterValidator(_not_after_today)
]
"""A date of something that already happened: ``Day`` and not after today."""


def _datetime_in_bounds(value: datetime) -> datetime:
    _date_in_bounds(value.date())
    return value


def _datetime_not_after_today(value: datetime) -> datetime:
    local = value.astimezone(platform_clock().zone) if value.tzinfo else value
    _not_after_today(local.date())
    return value


def _strict_datetime(value: Any) -> Any:
    if isinstance(value, (datetime, str)):
        return value
    raise PydanticCustomError("datetime_type", "a timestamp is an ISO 8601 string, e.g. 2027-03-02T09:04:00+09:00")


Moment = Annotated[datetime, BeforeValidator(_strict_datetime), AfterValidator(_datetime_in_bounds)]
"""A timestamp whose date is within the bounds of ``Day``."""

PastMoment = Annotated[
    datetime,
    BeforeValidator(_strict_datetime),
    AfterValidator(_datetime_in_bounds),
    AfterValidator(_datetime_not_after_today),
]
"""A timestamp of something that already happened (its date in the centre's time zone not after today)."""


# -- wall-clock times -----------------------------------------------------------------
_WALL_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"


def _wall_clock(value: Any) -> Any:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise PydanticCustomError("time.offset", "a wall-clock time has no UTC offset")
        return value
    if isinstance(value, str) and re.fullmatch(_WALL_CLOCK, value):
        return time.fromisoformat(value)
    raise PydanticCustomError("time_parsing", "a wall-clock time is HH:MM or HH:MM:SS, without a UTC offset")


WallClock = Annotated[
    time,
    BeforeValidator(_wall_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M:%S"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _WALL_CLOCK,
            "examples": ["09:00"],
            "description": "the campus's wall-clock time, HH:MM or HH:MM:SS (no UTC offset)",
        }
    ),
]
"""A time of day on the campus's clock. OpenAPI's ``format: time`` means RFC 3339 with an offset, which these
are not, so the schema gives the pattern instead."""


# -- query and path parameters -------------------------------------------------------
async def clean_parameters(request: Request) -> None:
    """Every query and path parameter passes ``check_characters``; a refusal is a 422 naming the parameter.

    Runs before the endpoint's own parameters are used, so a NUL byte never reaches a database query."""
    errors: list[dict[str, Any]] = []
    for where, items in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for name, value in items:
            for text in (name, value):
                if isinstance(text, str) and _BAD_CHARACTER.search(text):
                    errors.append(
                        {
                            "type": "text.control-character",
                            "loc": (where, name),
                            "msg": "text may not contain NUL, other control characters or lone surrogates",
                            "input": None,
                        }
                    )
                    break
    if errors:
        raise RequestValidationError(errors)
