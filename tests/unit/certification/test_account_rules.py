"""Payout account details: banks by code or name, account numbers' digits, the mask; and the cipher's keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from services.certification.adapters.vault import AccountCipher, AccountKeyError, key_id
from services.certification.domain import accounts


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("004", ("004", "KB국민은행")),
        ("4", ("004", "KB국민은행")),
        ("국민", ("004", "KB국민은행")),
        ("KB국민은행", ("004", "KB국민은행")),
        ("kb", ("004", "KB국민은행")),
        ("신한 은행", ("088", "신한은행")),
        ("090", ("090", "카카오뱅크")),
        ("999", None),
        ("없는은행", None),
        ("", None),
    ],
)
def test_a_bank_is_found_by_its_code_or_a_name(given, expected):
    assert accounts.bank_of(given) == expected


def test_details_are_normalised():
    details, failures = accounts.check("  김  지우 ", "088", "110-123-456789")
    assert failures == []
    assert details == accounts.AccountDetails("김 지우", "088", "신한은행", "110123456789")


def test_every_failed_rule_is_named_with_its_field():
    details, failures = accounts.check(" ", "999", "12-34")
    assert details is None
    assert [(f.rule, f.field) for f in failures] == [
        ("account.holder-missing", "holder"),
        ("account.bank-unknown", "bank"),
        ("account.number-format", "account_number"),
    ]
    assert [f.rule for f in accounts.check("김지우", "004", "1234567890123456789")[1]] == ["account.number-format"]
    assert [f.rule for f in accounts.check("김지우", "004", "12345678ab")[1]] == ["account.number-format"]
    assert accounts.check("김지우", "004", "1234567890")[1] == []  # 10 digits, the shortest


def test_the_mask_shows_the_last_four_digits_only():
    assert accounts.mask("110123456789") == "****6789"


def test_the_newest_key_encrypts_and_every_key_decrypts():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = AccountCipher([old])
    token, kid = before.encrypt("110123456789")
    assert "110123456789" not in token and kid == key_id(old) != key_id(new)
    after = AccountCipher([new, old])
    assert after.decrypt(token) == "110123456789"
    rotated, rotated_kid = after.rotate(token)
    assert rotated_kid == key_id(new) and rotated != token
    assert AccountCipher([new]).decrypt(rotated) == "110123456789"
    with pytest.raises(AccountKeyError):
        AccountCipher([new]).decrypt(token)
