"""Excused absences (출석인정): the reasons DOMAIN.md accepts, each needing evidence."""

from __future__ import annotations

from shared.rules import RuleFailure

REASON_CODES: dict[str, str] = {
    "reserve_forces": "reserve-forces training",
    "civil_defence": "civil-defence training",
    "employer_test": "an employer's recruitment test",
    "job_interview": "an employer's interview",
    "voting": "voting",
    "civic_duty": "another civic duty",
    "business_start_exam": "a business-start exam",
    "skills_competition": "a skills competition",
}


def check_excuse(reason_code: str | None, evidence_ref: str | None) -> list[RuleFailure]:
    failures = []
    if not reason_code or reason_code not in REASON_CODES:
        failures.append(
            RuleFailure(
                "excuse.reason-code",
                f"an excused mark needs one of the reason codes: {', '.join(REASON_CODES)}",
                "reason_code",
            )
        )
    if not evidence_ref or not evidence_ref.strip():
        failures.append(RuleFailure("excuse.evidence", "an excused mark needs an evidence reference", "evidence_ref"))
    return failures
