"""What placement does with other services' events (the consumer commits; handlers never do).

The follow-up schedule is a setting, so the handlers are bound to the app's settings:
``create_app`` uses ``make_handlers(settings)``; ``HANDLERS`` uses the environment's.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from services.placement.service_layer.graduates import attach_qualification, register_graduate
from services.placement.settings import Settings
from shared import events
from shared.consumer import Handler


def make_handlers(settings: Settings | Callable[[], Settings]) -> dict[str, Handler]:
    get = settings if callable(settings) else (lambda: settings)

    def on_completed(session: Session, data: events.TraineeCompleted, _event: events.CloudEvent) -> None:
        register_graduate(session, settings=get(), trainee_id=data.trainee_id, cohort_id=data.cohort_id,
                          campus=data.campus, programme_code=data.programme_code,
                          completion_date=data.completion_date, name=data.name,
                          qualification_codes=data.qualification_codes, final_rate=data.final_rate)

    def on_withdrawn(session: Session, data: events.TraineeWithdrawn, _event: events.CloudEvent) -> None:
        """Only early-employment leavers are followed: completers for the statistics, completing the day they left."""
        if not (data.early_employment or data.reason == "early_employment"):
            return
        register_graduate(session, settings=get(), trainee_id=data.trainee_id, cohort_id=data.cohort_id,
                          campus=data.campus, programme_code=data.programme_code, completion_date=data.date,
                          early_employment=True)

    def on_qualification(session: Session, data: events.QualificationObtained, _event: events.CloudEvent) -> None:
        attach_qualification(session, data=data)

    return {
        events.TRAINEE_COMPLETED: on_completed,
        events.TRAINEE_WITHDRAWN: on_withdrawn,
        events.QUALIFICATION_OBTAINED: on_qualification,
    }


_default: list[Settings] = []


def _env_settings() -> Settings:
    if not _default:
        _default.append(Settings())
    return _default[0]


HANDLERS: dict[str, Handler] = make_handlers(_env_settings)
