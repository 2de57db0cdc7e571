"""One person, one record: recognising an applicant registered twice, and merging the two records.

There are no resident registration numbers (by law and by design), so a person is recognised by what the
centre holds: name, birth date, phone and e-mail, each normalised so that the way it was typed does not
matter (spaces, hyphens, full-width characters, letter case, the +82 country code).

- **Names**: NFKC (full-width letters and digits to ASCII, compatibility jamo to syllables), case folded,
  spaces, hyphens, dots, commas, middle dots and apostrophes removed. A name in Hangul is compared with
  names in Hangul; a romanised name (the applicant's ``name``, when written in Latin letters, or
  ``name_romanised``) with romanised names, family name first or last: "Kim Min-ji", "MINJI KIM" and
  "kim minji" are one name. Hangul is never transliterated (김 is Kim, Gim or Ghim on real passports), so
  a Hangul-only record and a romanised-only record match on their phone, e-mail or birth date instead.
- **Phones**: digits only; the country code (+82, 82, 0082) becomes the leading 0. Numbers shorter than
  nine digits, and placeholders whose subscriber digits are one digit repeated (010-0000-0000, what a
  form gets when nobody knows the number), are no evidence.
- **E-mail**: lower-cased (no Korean or global provider hands out mailboxes that differ by case); a
  ``+tag`` is removed (sub-addressing: the same mailbox at Gmail, Outlook, Naver and most others); dots
  in the local part are removed at Gmail only (Gmail ignores them; elsewhere ``min.ji`` and ``minji``
  can be two people).

Reasons, strongest first (a candidate always shares one of the first three, which are the stored keys):
``birth_date+name`` (same birth date and a common name form), ``email``, ``phone``; then, adding to
those, ``name`` (a common name form, another birth date: a typing slip) and ``birth_date`` (same birth
date, the name written differently). The score adds their weights, at most 1.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date

from shared.rules import RuleFailure

REASON_WEIGHTS = {"birth_date+name": 0.7, "email": 0.5, "phone": 0.4, "name": 0.2, "birth_date": 0.1}
KEY_KINDS = ("birth_date+name", "email", "phone")  # the reasons a candidate is looked up by
MIN_PHONE_DIGITS = 9
MAX_KEY_LENGTH = 400  # the stored column's; NFKC can lengthen a name (a ligature unfolds into many letters)
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_JOINERS = re.compile(r"[\s\-\u2010-\u2015\u2212.,·\u30fb'’`]+")
_SEPARATORS = re.compile(r"[\s,]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


@dataclass(frozen=True)
class Identity:
    """What the centre holds about a person, as it was typed."""

    name: str
    birth_date: date
    name_romanised: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Resemblance:
    """Why two records look like one person (``reasons``, strongest first) and how strongly (0 to 1)."""

    reasons: tuple[str, ...]
    score: float


def fold(text: str) -> str:
    """NFKC, case folded, joiners (spaces, hyphens, dots, middle dots, apostrophes) removed."""
    return _JOINERS.sub("", unicodedata.normalize("NFKC", text).casefold())


def _unaccented(text: str) -> str:
    """Without diacritics ("Nguyễn" is typed "Nguyen" as often as not)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _romanised_forms(text: str) -> set[str]:
    """A name in letters with the family name first and with it last: {"kimminji", "minjikim"}."""
    tokens = [fold(_unaccented(t)) for t in _SEPARATORS.split(unicodedata.normalize("NFKC", text))]
    tokens = [t for t in tokens if t]
    if not tokens or not all(t.isalpha() for t in tokens):
        return set()
    if len(tokens) == 1:
        return {tokens[0]}
    return {tokens[0] + "".join(tokens[1:]), tokens[-1] + "".join(tokens[:-1])}


def name_forms(name: str, name_romanised: str | None = None) -> frozenset[str]:
    """Every form under which the name is compared: Hangul as written (folded), romanised both ways round."""
    forms: set[str] = set()
    for text in (name, name_romanised or ""):
        if not text.strip():
            continue
        if _HANGUL.search(unicodedata.normalize("NFKC", text)):
            folded = fold(text)
            if folded:
                forms.add(folded)
        else:
            forms |= _romanised_forms(text) or {fold(text)} - {""}
    return frozenset(forms)


def phone_key(phone: str | None) -> str | None:
    """The number in domestic form (digits, leading 0), or None when it proves nothing."""
    if not phone:
        return None
    digits = "".join(c for c in unicodedata.normalize("NFKC", phone) if c.isdigit())
    for prefix in ("0082", "82"):
        if digits.startswith(prefix):
            digits = "0" + digits[len(prefix) :].lstrip("0")
            break
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    subscriber = digits[3:] if digits.startswith("01") else digits[2:]
    if len(set(subscriber)) == 1:
        return None
    return digits


def email_key(email: str | None) -> str | None:
    """The mailbox: lower-cased, without its +tag, without dots at Gmail."""
    if not email:
        return None
    address = unicodedata.normalize("NFKC", email).strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None


def match_keys(person: Identity) -> frozenset[str]:
    """The keys a record is found by, each ``<reason>:<value>``; two records sharing one are candidates."""
    keys = {
        f"birth_date+name:{person.birth_date.isoformat()}:{form}"
        for form in name_forms(person.name, person.name_romanised)
    }
    phone, email = phone_key(person.phone), email_key(person.email)
    if email:
        keys.add(f"email:{email}")
    if phone:
        keys.add(f"phone:{phone}")
    return frozenset(_bounded(k) for k in keys)


def _bounded(key: str) -> str:
    """The key, or past ``MAX_KEY_LENGTH`` its reason and the SHA-256 of the rest (equal keys stay equal)."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    reason, _, value = key.partition(":")
    return f"{reason}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def resemblance(a: Identity, b: Identity) -> Resemblance | None:
    """Why ``a`` and ``b`` look like one person, or None when nothing strong enough is shared."""
    same_name = bool(name_forms(a.name, a.name_romanised) & name_forms(b.name, b.name_romanised))
    same_birth = a.birth_date == b.birth_date
    found: list[str] = []
    if same_birth and same_name:
        found.append("birth_date+name")
    email = email_key(a.email)
    if email and email == email_key(b.email):
        found.append("email")
    phone = phone_key(a.phone)
    if phone and phone == phone_key(b.phone):
        found.append("phone")
    if not found:
        return None
    if same_name and not same_birth:
        found.append("name")
    if same_birth and not same_name:
        found.append("birth_date")
    return Resemblance(tuple(found), round(min(1.0, sum(REASON_WEIGHTS[r] for r in found)), 2))


def resemblance_of_people(mine: list[Identity], theirs: list[Identity]) -> Resemblance | None:
    """The closest resemblance between two people's records (a person has several once records are merged)."""
    found = [r for a in mine for b in theirs if (r := resemblance(a, b)) is not None]
    return max(found, key=lambda r: r.score, default=None)


# -- merging ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeSide:
    """A record to merge: its id and, if it was already merged, the record it was merged into."""

    applicant_id: uuid.UUID
    merged_into: uuid.UUID | None


def check_merge(survivor: MergeSide, duplicate: MergeSide) -> list[RuleFailure]:
    """May ``duplicate`` be merged into ``survivor``? Every failed rule is returned."""
    if survivor.applicant_id == duplicate.applicant_id:
        return [RuleFailure("merge.same-record", "a record cannot be merged into itself", "duplicate_id")]
    failures: list[RuleFailure] = []
    if duplicate.merged_into is not None:
        failures.append(
            RuleFailure(
                "merge.already-merged",
                f"this record was already merged into {duplicate.merged_into}",
                "duplicate_id",
            )
        )
    if survivor.merged_into is not None:
        failures.append(
            RuleFailure(
                "merge.survivor-merged",
                f"the surviving record was itself merged into {survivor.merged_into}; merge into that one",
            )
        )
    return failures
