"""Payout accounts: where a trainee's reimbursements are sent (holder, bank, account number).

A bank is given by its three-digit code of the Korean interbank network (KFTC, e.g. 004) or by one of its
names (KB국민은행, 국민, KB); it is kept as the code and the Korean name. An account number is kept as its
digits (hyphens and spaces dropped): 10 to 16 digits, which covers the Korean banks' formats. It is shown
masked everywhere but in a payout batch's bank file: only its last four digits, after four stars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.rules import RuleFailure

# code: (Korean name, other names it is known by)
BANKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "002": ("KDB산업은행", ("산업", "산업은행", "KDB")),
    "003": ("IBK기업은행", ("기업", "기업은행", "IBK")),
    "004": ("KB국민은행", ("국민", "국민은행", "KB")),
    "007": ("수협은행", ("수협", "SH")),
    "011": ("NH농협은행", ("농협", "농협은행", "NH")),
    "020": ("우리은행", ("우리", "WOORI")),
    "023": ("SC제일은행", ("SC제일", "제일", "SC")),
    "027": ("한국씨티은행", ("씨티", "씨티은행", "CITI")),
    "031": ("iM뱅크", ("대구은행", "대구", "IM뱅크", "IM")),
    "032": ("부산은행", ("부산", "BNK부산")),
    "034": ("광주은행", ("광주",)),
    "035": ("제주은행", ("제주",)),
    "037": ("전북은행", ("전북",)),
    "039": ("경남은행", ("경남", "BNK경남")),
    "045": ("새마을금고", ("MG새마을금고", "새마을")),
    "048": ("신협", ("신용협동조합",)),
    "071": ("우체국", ("우체국예금", "POST")),
    "081": ("하나은행", ("하나", "KEB하나", "HANA")),
    "088": ("신한은행", ("신한", "SHINHAN")),
    "089": ("케이뱅크", ("K뱅크", "KBANK")),
    "090": ("카카오뱅크", ("카카오", "KAKAOBANK")),
    "092": ("토스뱅크", ("토스", "TOSSBANK")),
}
_BY_NAME = {
    name.replace(" ", "").upper(): code for code, (korean, aliases) in BANKS.items() for name in (korean, *aliases)
}
NUMBER_DIGITS = (10, 16)
_SEPARATORS = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class AccountDetails:
    """Checked and normalised details: the holder as given (trimmed), the bank's code and name, the digits."""

    holder: str
    bank_code: str
    bank_name: str
    number: str


def bank_of(given: str) -> tuple[str, str] | None:
    """The bank's (code, Korean name) for a code (``4``, ``004``) or a name (``국민``, ``KB국민은행``)."""
    text = given.strip()
    if text.isdigit() and len(text) <= 3:
        code = text.zfill(3)
    else:
        code = _BY_NAME.get(text.replace(" ", "").upper(), "")
    return (code, BANKS[code][0]) if code in BANKS else None


def mask(number: str) -> str:
    """``****5678``: the last four digits only."""
    return "****" + number[-4:]


def check(holder: str, bank: str, number: str) -> tuple[AccountDetails | None, list[RuleFailure]]:
    """Every rule of the details, each failure naming its field; the normalised details when all pass."""
    failures: list[RuleFailure] = []
    holder = " ".join(holder.split())
    if not holder:
        failures.append(RuleFailure("account.holder-missing", "the account holder's name is missing", "holder"))
    elif len(holder) > 100:
        failures.append(RuleFailure("account.holder-too-long", "the holder's name is over 100 characters", "holder"))
    known = bank_of(bank)
    if known is None:
        failures.append(
            RuleFailure("account.bank-unknown", "no bank has this code or name (give the 3-digit code)", "bank")
        )
    digits = _SEPARATORS.sub("", number)
    low, high = NUMBER_DIGITS
    if not digits.isdigit() or not low <= len(digits) <= high:
        failures.append(
            RuleFailure(
                "account.number-format",
                f"an account number is {low} to {high} digits (hyphens and spaces allowed)",
                "account_number",
            )
        )
    if failures or known is None:
        return None, failures
    return AccountDetails(holder=holder, bank_code=known[0], bank_name=known[1], number=digits), []
