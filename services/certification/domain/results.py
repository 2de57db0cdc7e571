"""A passed exam recorded as a qualification obtained; the centres count attainment per cohort."""

from __future__ import annotations

from datetime import date

from services.certification.domain.qualifications import Qualification
from shared.rules import RuleFailure


def result_failures(
    *, qualification: Qualification | None, code: str, obtained_on: date, today: date, already_recorded: bool
) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    if qualification is None:
        failures.append(
            RuleFailure(
                "result.qualification.unknown", f"no qualification {code!r} in the catalogue", "qualification_code"
            )
        )
    if obtained_on > today:
        failures.append(
            RuleFailure("result.date.future", f"the pass date {obtained_on} is after today ({today})", "date")
        )
    if already_recorded:
        failures.append(RuleFailure("result.duplicate", f"the trainee already holds {code}", "qualification_code"))
    return failures
