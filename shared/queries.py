"""Query helpers every service's service layer uses: campus scope and visible-or-404 loads."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.sql import Select
from sqlmodel import Session

from shared.auth import Principal
from shared.problems import not_found

T = TypeVar("T")


def in_campuses(query: Select[Any], column: Any, principal: Principal) -> Select[Any]:
    """Restrict ``query`` to the principal's campuses (no restriction for ``*``)."""
    scope = principal.campus_filter()
    return query if scope is None else query.where(column.in_(scope))


def get_visible(
    session: Session, model: type[T], ident: Any, principal: Principal, what: str, *, lock: bool = False
) -> T:
    """The row with this id if the principal's campuses include its ``campus``; a 404 otherwise, either way."""
    row: T | None
    if lock:
        # FOR NO KEY UPDATE: as exclusive as FOR UPDATE between lockers, but it lets other transactions insert
        # rows that refer to this one (their foreign key check takes KEY SHARE), which FOR UPDATE would block
        # into a deadlock (a decline holding the cohort, an accept inserting its enrollment).
        row = session.execute(
            select(model)
            .where(model.id == ident)  # type: ignore[attr-defined]
            .with_for_update(key_share=True)
        ).scalar_one_or_none()
    else:
        row = session.get(model, ident)
    if row is None or not principal.sees_campus(row.campus):  # type: ignore[attr-defined]
        raise not_found(what, ident)
    return row


def where_given(query: Select[Any], *filters: tuple[Any, Any]) -> Select[Any]:
    """Add ``column == value`` for each (column, value) whose value was given (not None or empty)."""
    for column, value in filters:
        if value:
            query = query.where(column == value)
    return query
