"""Message catalogues, one pair per room: ``web/i18n/<room>.ko.json`` and ``<room>.en.json``.

A key is used as ``<room>.<key>`` (``t("admissions.cohorts")``), so rooms written in parallel
never edit one file. A catalogue's ``"rules"`` object translates the APIs' rule and problem
codes (``eligibility.min-age``, ``seat.not-offered``, ``validation-error``); those are shared
by every room. Korean is the first language; a key missing in one language falls back to the
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
    """({lang: {room: {key: text}}}, {lang: {rule code: text}})."""
    messages: dict[str, dict[str, dict[str, str]]] = {lang: {} for lang in LANGUAGES}
    rules: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for path in sorted(HERE.glob("*.*.json")):
        room, lang, _ = path.name.rsplit(".", 2)
        if lang not in LANGUAGES:
            continue
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        rules[lang].update(data.pop("rules", {}))
        messages[lang][room] = data
    return messages, rules


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


def rule_text(lang: str, rule: str, fallback: str = "") -> str:
    """A rule or problem code in plain words; the API's own sentence when no catalogue knows the code."""
    _, rules = catalogues()
    return rules.get(lang, {}).get(rule) or fallback or rules.get("en", {}).get(rule) or rule
