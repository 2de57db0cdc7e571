"""The server-side session store: the console's only storage.

The browser holds a random session key in an HttpOnly cookie; the store keeps, under the
key's SHA-256 (a copy of the table opens no session), the signed-in user's API token, who
they are (sub, roles, campuses), the CSRF token and the OIDC round's state. One table,
any SQLAlchemy URL: a SQLite file by default, PostgreSQL in production.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()
sessions_table = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Session:
    key: str
    data: dict[str, Any] = field(default_factory=dict)
    stored: bool = False
    dirty: bool = False
    deleted: bool = False
    old_key: str | None = None

    @classmethod
    def new(cls) -> Session:
        return cls(key=secrets.token_urlsafe(32))

    # -- what pages use ------------------------------------------------------
    @property
    def csrf(self) -> str:
        token = self.data.get("csrf")
        if not token:
            token = self.data["csrf"] = secrets.token_urlsafe(32)
            self.dirty = True
        return token

    @property
    def user(self) -> dict[str, Any] | None:
        return self.data.get("user")

    @property
    def token(self) -> str | None:
        return self.data.get("token")

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def set(self, name: str, value: Any) -> None:
        self.data[name] = value
        self.dirty = True

    def pop(self, name: str, default: Any = None) -> Any:
        if name in self.data:
            self.dirty = True
        return self.data.pop(name, default)

    def flash(self, message: str, kind: str = "ok") -> None:
        self.data.setdefault("flash", []).append({"message": message, "kind": kind})
        self.dirty = True

    def take_flashes(self) -> list[dict[str, str]]:
        return self.pop("flash", []) or []

    def sign_in(self, *, token: str, user: dict[str, Any]) -> None:
        """A new key on sign-in (no fixation); the old row is removed when saved."""
        self.old_key = self.key if self.stored else None
        self.key = secrets.token_urlsafe(32)
        self.stored = False
        self.data = {"token": token, "user": user, "csrf": secrets.token_urlsafe(32)}
        self.dirty = True

    def sign_out(self) -> None:
        self.deleted = True


class SessionStore:
    def __init__(self, url: str, ttl_s: int) -> None:
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.engine = sa.create_engine(url, **kwargs)
        self.ttl_s = ttl_s
        metadata.create_all(self.engine)
        self._last_sweep = 0.0

    def load(self, key: str | None) -> Session | None:
        if not key or len(key) > 100:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions_table.c.data, sessions_table.c.expires_at).where(
                    sessions_table.c.key_hash == _hash(key)
                )
            ).first()
        if row is None or row.expires_at < time.time():
            return None
        return Session(key=key, data=json.loads(row.data), stored=True)

    def save(self, session: Session) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            if session.old_key:
                conn.execute(sa.delete(sessions_table).where(sessions_table.c.key_hash == _hash(session.old_key)))
            if session.deleted:
                conn.execute(sa.delete(sessions_table).where(sessions_table.c.key_hash == _hash(session.key)))
                return
            values = {"data": json.dumps(session.data), "expires_at": now + self.ttl_s}
            if session.stored:
                conn.execute(
                    sa.update(sessions_table).where(sessions_table.c.key_hash == _hash(session.key)).values(**values)
                )
            else:
                conn.execute(sa.insert(sessions_table).values(key_hash=_hash(session.key), **values))
            if now - self._last_sweep > 600:
                self._last_sweep = now
                conn.execute(sa.delete(sessions_table).where(sessions_table.c.expires_at < now))
        session.stored, session.dirty, session.old_key = True, False, None

    def close(self) -> None:
        self.engine.dispose()
