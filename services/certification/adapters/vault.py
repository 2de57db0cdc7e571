"""Account numbers encrypted at rest (Fernet: AES-128-CBC with an HMAC-SHA256, the key from the secrets).

``CERTIFICATION_ACCOUNT_KEYS`` is a list of Fernet keys, newest first: the newest encrypts, every key decrypts,
so a key is rotated by putting a new one in front, re-encrypting the stored numbers (``trainingops accounts
rotate``), then dropping the old one. Each stored number keeps the id of the key that encrypted it (a short
digest of the key, never the key), which is how the rotation finds the rows still under an older key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class AccountKeyError(ValueError):
    """A stored number that none of the configured keys decrypts (its key was dropped too early)."""


def key_id(key: str) -> str:
    """A short, stable id of a key: the first 12 hex digits of its SHA-256 (the key itself stays secret)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class AccountCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one account key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self.current_key_id = key_id(keys[0])

    def encrypt(self, number: str) -> tuple[str, str]:
        """The token of ``number`` under the newest key, and that key's id."""
        return self._fernet.encrypt(number.encode()).decode(), self.current_key_id

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise AccountKeyError("no configured account key decrypts this account number") from None

    def rotate(self, token: str) -> tuple[str, str]:
        """The same number re-encrypted under the newest key, and that key's id."""
        try:
            return self._fernet.rotate(token.encode()).decode(), self.current_key_id
        except InvalidToken:
            raise AccountKeyError("no configured account key decrypts this account number") from None


def valid_key(key: str) -> bool:
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True
