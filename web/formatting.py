"""Dates and times in the platform's timezone, KRW with thousands separators."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

WEEKDAYS = {"ko": "월화수목금토일", "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def krw(amount: object, lang: str = "ko") -> str:
    if amount is None or amount == "":
        return ""
    try:
        n = int(round(float(amount)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(amount)
    return f"{n:,}원" if lang == "ko" else f"KRW {n:,}"


def _parse_dt(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def local_datetime(value: object, tz: str, with_seconds: bool = False) -> str:
    """A stored timestamp (UTC unless it says otherwise) as the centre's wall-clock time."""
    dt = _parse_dt(value)
    if dt is None:
        return "" if value is None else str(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(ZoneInfo(tz))
    return dt.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def local_date(value: object, lang: str = "ko", weekday: bool = False) -> str:
    if isinstance(value, datetime):
        d = value.date()
    elif isinstance(value, date):
        d = value
    elif isinstance(value, str) and value:
        try:
            d = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        return "" if value is None else str(value)
    text = d.isoformat()
    if weekday:
        text += f" ({WEEKDAYS['ko' if lang == 'ko' else 'en'][d.weekday()]})"
    return text


def percent(value: object, digits: int = 1) -> str:
    try:
        return f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
