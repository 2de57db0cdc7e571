"""Message catalogues, one pair per room: ``web/i18n/<room>.ko.json`` and ``<room>.en.json``.

A key is used as ``<room>.<key>`` (``t("admissions.cohorts")``), so rooms written in parallel
never edit one file. A catalogue's ``"rules"`` object translates the APIs' rule and problem
codes (``eligibility.min-age``, ``seat.not-offered``, ``validation-error``); a room's own wording
comes first on its pages, and any room's serves the others (a trainee is told "you", staff "this trainee"). Korean is the first language; a key missing in one language falls back to the
other, then to the key itself (a test checks both languages have the same keys).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("ko", "en")
HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def catalogues() -> tuple[dict[str, dict[str, dict[str, str]]], dict[str, dict[str, str]]]:
    """({lang: {room: {key: text}}}, {lang: {rule code: text}}): every room's rules in one table."""
    messages: dict[str, dict[str, dict[str, str]]] = {lang: {} for lang in LANGUAGES}
    rules: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for lang, rooms in room_rules().items():
        for table in rooms.values():
            rules[lang].update(table)
    for path in sorted(HERE.glob("*.*.json")):
        room, lang, _ = path.name.rsplit(".", 2)
        if lang not in LANGUAGES:
            continue
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        data.pop("rules", None)
        messages[lang][room] = data
    return messages, rules


@lru_cache(maxsize=1)
def room_rules() -> dict[str, dict[str, dict[str, str]]]:
    """{lang: {room: {rule code: text}}}: each room's own wording of the rule codes."""
    out: dict[str, dict[str, dict[str, str]]] = {lang: {} for lang in LANGUAGES}
    for path in sorted(HERE.glob("*.*.json")):
        room, lang, _ = path.name.rsplit(".", 2)
        if lang in LANGUAGES:
            out[lang][room] = json.loads(path.read_text(encoding="utf-8")).get("rules", {})
    return out


def translate(lang: str, key: str, **values: Any) -> str:
    messages, _ = catalogues()
    room, _, name = key.partition(".")
    text = None
    for candidate in (lang, *[other for other in LANGUAGES if other != lang]):
        text = messages.get(candidate, {}).get(room, {}).get(name)
        if text is not None:
            break
    if text is None:
        return key
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def rule_text(lang: str, rule: str, fallback: str = "", room: str = "") -> str:
    """A rule or problem code in plain words (``room``'s own wording first); the API's own sentence when no
    catalogue knows the code."""
    _, rules = catalogues()
    own = room_rules().get(lang, {}).get(room, {}).get(rule) if room else None
    return own or rules.get(lang, {}).get(rule) or fallback or rules.get("en", {}).get(rule) or rule
