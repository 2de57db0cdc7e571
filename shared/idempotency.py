"""Idempotency keys for operations that move money or take seats (the Stripe design).

The key row is written first in the operation's own transaction and the response is
stored in that same transaction, so the effects and the stored response commit
together. A retry with the same key and body gets the stored response; the same key
with another body is a 422. On PostgreSQL a concurrent request with the same key
waits on the key row and then replays the winner's response.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from shared.auth import PrincipalDep
from shared.db import fast_execute, per_dialect, utcnow
from shared.problems import Problem
from shared.rules import RuleFailure
from shared.tables import idempotency_key

M = TypeVar("M", bound=BaseModel)


# Built once: statements that take their values as parameters skip SQLAlchemy's per-call construction.
_CLAIM = per_dialect(lambda insert: insert(idempotency_key).on_conflict_do_nothing().returning(idempotency_key.c.key))
_STORED = select(idempotency_key).where(
    idempotency_key.c.scope == bindparam("b_scope"), idempotency_key.c.key == bindparam("b_key")
)
_SAVE = (
    update(idempotency_key)
    .where(idempotency_key.c.scope == bindparam("b_scope"), idempotency_key.c.key == bindparam("b_key"))
    .values(status_code=bindparam("b_status"), response_body=bindparam("b_body"))
)


class Idempotency:
    def __init__(self, *, scope: str, key: str, request_hash: str) -> None:
        self.scope, self.key, self.request_hash = scope, key, request_hash

    def replay(self, session: Session, model: type[M]) -> M | None:
        """Claim the key in this transaction; return the stored response if the key was used before."""
        claimed = fast_execute(
            session,
            _CLAIM[session.get_bind().dialect.name],
            dict(scope=self.scope, key=self.key, request_hash=self.request_hash, created_at=utcnow()),
        ).fetchone()
        if claimed is not None:
            return None  # first use: the caller does the work and saves its response
        # On PostgreSQL a concurrent holder of the key has committed by now (the insert waited for it).
        row = session.execute(_STORED, dict(b_scope=self.scope, b_key=self.key)).first()
        if row is not None and row.request_hash != self.request_hash:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency key reused",
                "This Idempotency-Key was used with a different request body.",
                errors=[RuleFailure("idempotency-key-reused", "same key, different body", "Idempotency-Key")],
            )
        if row is None or row.response_body is None:
            raise Problem(
                409,
                "idempotency-key-in-progress",
                "Request in progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
        return model.model_validate_json(row.response_body)

    def save(self, session: Session, response: BaseModel, status_code: int = 200) -> None:
        fast_execute(
            session,
            _SAVE,
            dict(b_scope=self.scope, b_key=self.key, b_status=status_code, b_body=response.model_dump_json()),
        )


async def _idempotency(
    request: Request,
    principal: PrincipalDep,
    idempotency_key_header: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Retry-safe key: the same key and body return the first response",
        ),
    ] = None,
) -> Idempotency | None:
    if idempotency_key_header is None:
        return None
    body = await request.body()
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True) if body else ""
    except ValueError:
        canonical = body.decode(errors="replace")
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()
    route = request.scope.get("route")
    scope = f"{principal.sub}:{request.method}:{getattr(route, 'path', request.url.path)}"
    return Idempotency(scope=scope, key=idempotency_key_header, request_hash=digest)


IdempotencyDep = Annotated[Idempotency | None, Depends(_idempotency)]
