"""The event contract: CloudEvents envelope, topics, event types and their data.

Every event type the platform publishes is declared once here, with the pydantic
model of its ``data``; producers validate against it and the AsyncAPI catalogue is
generated from it.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator
from pydantic_core import from_json

from shared.registry import NAMES as SERVICES  # the services that publish and consume, named once

CONTENT_TYPE = "application/cloudevents+json"


def topic_for(service: str) -> str:
    return f"trainingops.{service}.events"


def dlq_for(consumer: str) -> str:
    return f"trainingops.{consumer}.dlq"


def retry_for(consumer: str) -> str:
    """Where ``trainingops dlq replay`` sends a consumer's dead letters: read by that consumer only."""
    return f"trainingops.{consumer}.retry"


EVENT_TOPICS = tuple(topic_for(s) for s in SERVICES)
DLQ_TOPICS = tuple(dlq_for(s) for s in SERVICES)
RETRY_TOPICS = tuple(retry_for(s) for s in SERVICES)
ALL_TOPICS = EVENT_TOPICS + DLQ_TOPICS + RETRY_TOPICS


class EventData(BaseModel):
    model_config = ConfigDict(extra="allow")


class Reason(BaseModel):
    code: str
    message: str


class SessionSlot(BaseModel):
    date: date
    start: time
    end: time
    hours: float


class CohortSnapshot(EventData):
    cohort_id: uuid.UUID
    programme_code: str
    programme_title: str
    campus: str
    track: str
    total_hours: int
    completion_threshold: float = Field(description="fraction of training days, e.g. 0.8")
    qualification_codes: list[str] = []
    start_date: date
    end_date: date
    capacity: int | None = None
    sessions: list[SessionSlot] = []
    plan_version: int = Field(1, ge=1, description="1 when published, one more on each timetable change")


class CohortPublished(CohortSnapshot):
    pass


class PlanChange(BaseModel):
    """What one timetable change did: the session cancelled, added or moved (``session`` the old slot,
    ``new_session`` where it went), or the end date extended (``old_end_date`` to ``new_end_date``)."""

    kind: Literal["cancel", "add", "move", "extend"]
    session: SessionSlot | None = None
    new_session: SessionSlot | None = None
    old_end_date: date | None = None
    new_end_date: date | None = None


class CohortRescheduled(CohortSnapshot):
    """The cohort's whole new plan (the fields of ``cohort.published``), with what changed and why."""

    change: PlanChange
    reason: str


class ApplicationDecided(EventData):
    application_id: uuid.UUID
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    decision: Literal["selected", "waitlisted", "rejected", "ineligible", "promoted"]
    reasons: list[Reason] = []
    waitlist_position: int | None = None


class TraineeEnrolled(EventData):
    """A trainee took a seat. The cohort's plan travels on the cohort's own events; ``plan_version`` names the
    version of it the enrollment was made against. The earlier form carried the whole plan in ``cohort``
    (and no ``cohort_id``, ``campus``, ``programme_code`` or ``plan_version`` of its own): it is still read,
    those fields then come from ``cohort``."""

    trainee_id: uuid.UUID
    enrollment_id: uuid.UUID
    name: str
    birth_date: date
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    plan_version: int = Field(ge=1)
    enrolled_on: date = Field(description="the join date")
    cohort: CohortSnapshot | None = Field(
        None, description="earlier form only: the cohort's whole plan (consumers read both forms)"
    )

    @model_validator(mode="before")
    @classmethod
    def _earlier_form(cls, data: Any) -> Any:
        """An event of the earlier form names its cohort inside ``cohort`` only."""
        if isinstance(data, dict) and "cohort_id" not in data and (snap := data.get("cohort")) is not None:
            get = snap.get if isinstance(snap, dict) else lambda k, default=None: getattr(snap, k, default)
            data = {
                **data,
                "cohort_id": get("cohort_id"),
                "campus": data.get("campus", get("campus")),
                "programme_code": data.get("programme_code", get("programme_code")),
                "plan_version": data.get("plan_version", get("plan_version", 1)),
            }
        return data

    @model_serializer(mode="wrap")
    def _only_the_form_it_has(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if out.get("cohort", 0) is None:  # the new form has no ``cohort`` at all
            del out["cohort"]
        return out


class TraineeWithdrawn(EventData):
    trainee_id: uuid.UUID
    enrollment_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    date: date
    reason: str = Field(description="reason code; 'early_employment' when the trainee left for a job")
    early_employment: bool = False
    before_start: bool = False


class TraineeAtRisk(EventData):
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    current_rate: float
    max_possible_rate: float
    threshold: float
    reason: Literal["below_threshold", "cannot_reach_threshold"]


class TraineeCompleted(EventData):
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    name: str = ""
    programme_code: str
    qualification_codes: list[str] = []
    completion_date: date
    final_rate: float


class TraineeNotCompleted(EventData):
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    date: date
    final_rate: float
    reason: str


class ClaimDecided(EventData):
    claim_id: uuid.UUID
    trainee_id: uuid.UUID
    campus: str
    decision: Literal["approved", "rejected"]
    amount: int
    reasons: list[Reason] = []


class ClaimPaid(EventData):
    claim_id: uuid.UUID
    trainee_id: uuid.UUID
    campus: str
    amount: int
    payout_reference: str


class QualificationObtained(EventData):
    trainee_id: uuid.UUID
    qualification_code: str
    grade: str
    date: date
    campus: str = ""
    cohort_id: uuid.UUID | None = None


class OutcomeRecorded(EventData):
    trainee_id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    outcome: str
    as_of: date
    months_after_completion: int


class IncentiveDue(EventData):
    internship_id: uuid.UUID
    employer_id: uuid.UUID
    trainee_id: uuid.UUID
    campus: str
    amount: int


@dataclass(frozen=True)
class EventSpec:
    type: str
    producer: str
    data: builtins.type[EventData]  # builtins': the field above is named ``type``
    key: Literal["trainee_id", "cohort_id"]
    summary: str

    @property
    def topic(self) -> str:
        return topic_for(self.producer)


def _t(service: str, name: str) -> str:
    return f"trainingops.{service}.{name}.v1"


COHORT_PUBLISHED = _t("enrollment", "cohort.published")
COHORT_RESCHEDULED = _t("enrollment", "cohort.rescheduled")
APPLICATION_DECIDED = _t("enrollment", "application.decided")
TRAINEE_ENROLLED = _t("enrollment", "trainee.enrolled")
TRAINEE_WITHDRAWN = _t("enrollment", "trainee.withdrawn")
TRAINEE_AT_RISK = _t("attendance", "trainee.at_risk")
TRAINEE_COMPLETED = _t("attendance", "trainee.completed")
TRAINEE_NOT_COMPLETED = _t("attendance", "trainee.not_completed")
CLAIM_DECIDED = _t("certification", "claim.decided")
CLAIM_PAID = _t("certification", "claim.paid")
QUALIFICATION_OBTAINED = _t("certification", "qualification.obtained")
OUTCOME_RECORDED = _t("placement", "outcome.recorded")
INCENTIVE_DUE = _t("placement", "incentive.due")

EVENTS: dict[str, EventSpec] = {
    s.type: s
    for s in (
        EventSpec(
            COHORT_PUBLISHED, "enrollment", CohortPublished, "cohort_id", "A cohort was published with its timetable."
        ),
        EventSpec(
            COHORT_RESCHEDULED,
            "enrollment",
            CohortRescheduled,
            "cohort_id",
            "A published cohort's timetable changed (session cancelled, added or moved; end date extended); "
            "carries the whole new plan.",
        ),
        EventSpec(
            APPLICATION_DECIDED,
            "enrollment",
            ApplicationDecided,
            "trainee_id",
            "An application was selected, waitlisted, promoted, rejected or found ineligible.",
        ),
        EventSpec(
            TRAINEE_ENROLLED,
            "enrollment",
            TraineeEnrolled,
            "trainee_id",
            "A selected applicant accepted the seat and is enrolled.",
        ),
        EventSpec(
            TRAINEE_WITHDRAWN,
            "enrollment",
            TraineeWithdrawn,
            "trainee_id",
            "A trainee withdrew (early employment included).",
        ),
        EventSpec(
            TRAINEE_AT_RISK,
            "attendance",
            TraineeAtRisk,
            "trainee_id",
            "A trainee fell below, or can no longer reach, the completion threshold.",
        ),
        EventSpec(TRAINEE_COMPLETED, "attendance", TraineeCompleted, "trainee_id", "A trainee completed the cohort."),
        EventSpec(
            TRAINEE_NOT_COMPLETED,
            "attendance",
            TraineeNotCompleted,
            "trainee_id",
            "A trainee did not complete the cohort.",
        ),
        EventSpec(
            CLAIM_DECIDED, "certification", ClaimDecided, "trainee_id", "An exam-fee claim was approved or rejected."
        ),
        EventSpec(CLAIM_PAID, "certification", ClaimPaid, "trainee_id", "An approved exam-fee claim was paid."),
        EventSpec(
            QUALIFICATION_OBTAINED,
            "certification",
            QualificationObtained,
            "trainee_id",
            "A trainee passed an exam and obtained a qualification.",
        ),
        EventSpec(
            OUTCOME_RECORDED,
            "placement",
            OutcomeRecorded,
            "trainee_id",
            "A follow-up outcome was recorded for a graduate.",
        ),
        EventSpec(
            INCENTIVE_DUE,
            "placement",
            IncentiveDue,
            "trainee_id",
            "An employer converted an intern to a permanent hire; the incentive is due.",
        ),
    )
}


class CloudEvent(BaseModel):
    """CloudEvents 1.0, structured JSON mode, with the platform's two extensions."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    subject: str | None = None
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    correlationid: str | None = None
    causationid: str | None = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        # Parsed first, then validated: a quarter cheaper than model_validate_json for a large ``data``
        # (validating ``dict[str, Any]`` from JSON builds its values once more). Raises ValueError on bad JSON.
        return cls.model_validate(from_json(raw))

    def parsed(self) -> EventData:
        """The data validated against its declared model (raises if the type is unknown)."""
        return EVENTS[self.type].data.model_validate(self.data)


def build_event(
    event_type: str,
    data: EventData | dict[str, Any],
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    subject: str | None = None,
) -> tuple[CloudEvent, str]:
    """Build the envelope for a declared event type; returns the event and its message key."""
    spec = EVENTS[event_type]
    model = data if isinstance(data, spec.data) else spec.data.model_validate(data)
    payload = model.model_dump(mode="json")
    key = str(payload[spec.key])
    event = CloudEvent.model_construct(  # every field is made here, so it needs no second validation
        specversion="1.0",
        datacontenttype="application/json",
        id=str(uuid.uuid4()),
        source=f"/services/{spec.producer}",
        type=event_type,
        subject=subject or key,
        time=datetime.now(UTC),
        data=payload,
        correlationid=correlation_id,
        causationid=causation_id,
    )
    return event, key
