"""The rotating check-in code: current and previous window accepted; older, foreign, malformed, missing refused."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.attendance.domain import qr

POLICY = qr.QrPolicy(secret=b"unit-test-secret-0123456789abcdef", window_s=30, lookback_windows=720)
SESSION = uuid.UUID("5d0f3c1e-7a0b-4c2e-9f31-8b7d6a5e4c30")
OTHER = uuid.UUID("7b2a1c3d-0e4f-4a5b-8c6d-9e0f1a2b3c4d")
T0 = 1_800_000_000.0  # a window boundary: 1_800_000_000 / 30 = 60_000_000


def rule(code: str | None, at: float, session: uuid.UUID = SESSION) -> str | None:
    failure = qr.check(POLICY, session, code, at)
    return failure.rule if failure else None


def test_code_is_eight_digits_and_changes_every_window() -> None:
    first = qr.issue(POLICY, SESSION, T0)
    assert len(first.code) == 8 and first.code.isdigit()
    assert qr.issue(POLICY, SESSION, T0 + 29.999).code == first.code
    assert qr.issue(POLICY, SESSION, T0 + 30).code != first.code
    assert (first.refresh_at, first.valid_until) == (T0 + 30, T0 + 60)


def test_current_and_previous_window_accepted_older_expired() -> None:
    code = qr.issue(POLICY, SESSION, T0).code
    assert rule(code, T0) is None
    assert rule(code, T0 + 59.9) is None  # the next window: still accepted
    assert rule(code, T0 + 60) == qr.EXPIRED  # two windows on: expired
    assert rule(code, T0 + 3 * 3600) == qr.EXPIRED  # a photo from the morning
    assert rule(code, T0 - 1) == qr.FOREIGN  # never this session's code before its window


def test_expired_message_says_how_old() -> None:
    code = qr.issue(POLICY, SESSION, T0).code
    failure = qr.check(POLICY, SESSION, code, T0 + 95)
    assert failure is not None and failure.field == "code" and "90 seconds" in failure.message


def test_another_sessions_code_is_foreign() -> None:
    theirs = qr.issue(POLICY, OTHER, T0).code
    assert rule(theirs, T0) == qr.FOREIGN
    assert rule(theirs, T0, session=OTHER) is None


def test_another_secret_makes_other_codes() -> None:
    forged = qr.issue(qr.QrPolicy(secret=b"someone-elses-secret-0123456789ab"), SESSION, T0).code
    assert rule(forged, T0) == qr.FOREIGN


@pytest.mark.parametrize(
    "code, expected",
    [
        (None, qr.REQUIRED),
        ("", qr.REQUIRED),
        ("  ", qr.REQUIRED),
        ("1234567", qr.MALFORMED),
        ("123456789", qr.MALFORMED),
        ("abcdefgh", qr.MALFORMED),
        ("1234 567x", qr.MALFORMED),
    ],
)
def test_missing_or_malformed(code: str | None, expected: str) -> None:
    assert rule(code, T0) == expected


def test_typed_with_spaces_or_a_hyphen() -> None:
    code = qr.issue(POLICY, SESSION, T0).code
    assert rule(f"{code[:4]} {code[4:]}", T0) is None
    assert rule(f"{code[:4]}-{code[4:]}", T0) is None


def test_beyond_the_lookback_an_old_code_reads_as_foreign() -> None:
    short = qr.QrPolicy(secret=POLICY.secret, window_s=30, lookback_windows=10)
    code = qr.issue(short, SESSION, T0).code
    assert qr.check(short, SESSION, code, T0 + 30 * 11).rule == qr.EXPIRED
    assert qr.check(short, SESSION, code, T0 + 30 * 13).rule == qr.FOREIGN


@given(st.floats(min_value=1e9, max_value=4e9), st.uuids())
def test_any_moment_any_session_its_own_code_passes_for_a_full_window(at: float, session: uuid.UUID) -> None:
    issued = qr.issue(POLICY, session, at)
    assert qr.check(POLICY, session, issued.code, at) is None
    assert qr.check(POLICY, session, issued.code, issued.valid_until - 0.001) is None
    assert issued.valid_until - at >= POLICY.window_s


def test_production_refuses_the_local_or_a_short_secret() -> None:
    from services.attendance.settings import Settings

    prod = {"environment": "production", "jwt_secret": "p" * 40, "database_url": "postgresql://x/y"}
    with pytest.raises(ValueError, match="local QR secret"):
        Settings(**prod)
    with pytest.raises(ValueError, match="at least 32"):
        Settings(**prod, qr_secret="short")
    assert Settings(**prod, qr_secret="q" * 32).qr_secret.get_secret_value() == "q" * 32
    assert "q" * 32 not in repr(Settings(**prod, qr_secret="q" * 32)), "the secret is not printed"
