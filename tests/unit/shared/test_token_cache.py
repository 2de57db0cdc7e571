"""A verified token is remembered until it expires, never past it, and a token never verified is never served."""

from __future__ import annotations

import time

import pytest

from shared.auth import TokenVerifier, mint_token
from shared.problems import Problem
from shared.settings import ServiceSettings


def verifier() -> TokenVerifier:
    return TokenVerifier(ServiceSettings(database_url="sqlite://", kafka_bootstrap_servers=""))


def test_a_remembered_token_is_refused_once_it_expires():
    v = verifier()
    token = mint_token("staff-1", ["finance"], ["jungbu"], ttl_s=1)
    expires = int(time.time()) + 1
    assert v.verify(token).roles == frozenset({"finance"})
    assert v.verify(token) is v.verify(token)  # served from memory while it is valid
    time.sleep(max(0.0, expires - time.time()) + 0.05)  # the real clock: the library reads its own
    with pytest.raises(Problem) as refused:
        v.verify(token)
    assert refused.value.status == 401 and refused.value.code == "token-expired"


def test_a_token_signed_with_another_key_is_refused_every_time():
    v = verifier()
    forged = mint_token("staff-1", ["finance"], secret="not-the-platform-key-" + "x" * 20)
    for _ in range(2):
        with pytest.raises(Problem) as refused:
            v.verify(forged)
        assert refused.value.status == 401
