"""What the domains share, free of any framework: a broken rule.

Every ``services/<name>/domain/`` module may import this and the standard library, nothing
else (a contract test holds them to it). ``shared.problems`` turns a list of these into a
problem response; the domain never sees HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class RuleFailure:
    """One broken rule: a stable code staff and clients can act on, and a sentence."""

    rule: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out
