"""Who may act for whom: a trainee token acts only for its own trainee; staff within their campuses."""

from __future__ import annotations

import uuid

from services.certification.adapters.repository import Campuses
from shared.auth import Principal
from shared.problems import Problem


def acts_as_trainee(principal: Principal) -> bool:
    """A trainee token (no staff role): it may act only for its own trainee id (its ``sub``)."""
    return principal.is_trainee


def check_self(principal: Principal, trainee_id: uuid.UUID) -> None:
    if acts_as_trainee(principal) and principal.sub != str(trainee_id):
        raise Problem(
            403,
            "claim.other-trainee",
            "Not your claim",
            "A trainee may submit and read only their own claims.",
            extra={
                "errors": [
                    {
                        "rule": "claim.other-trainee",
                        "message": "trainee_id is not the trainee of this token",
                        "field": "trainee_id",
                    }
                ]
            },
        )


def window_scope(principal: Principal) -> Campuses:
    """The campuses whose enrollments of a trainee this principal sees (a trainee sees all of their own)."""
    return None if acts_as_trainee(principal) else principal.campus_filter()


def own_trainee_id(principal: Principal) -> uuid.UUID | None:
    """The trainee id of a trainee token; None when its subject is not one (it then owns no claim)."""
    try:
        return uuid.UUID(principal.sub)
    except ValueError:
        return None
