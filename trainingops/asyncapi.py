"""The event catalogue as an AsyncAPI 3.0 document, generated from ``shared.events``.

    python -m trainingops.asyncapi > docs/asyncapi.json

A test fails when docs/asyncapi.json differs from what this generates.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from shared.events import CONTENT_TYPE, EVENTS, CloudEvent, dlq_for, retry_for, topic_for
from shared.registry import NAMES as SERVICES


def _message_name(event_type: str) -> str:
    return event_type.removeprefix("trainingops.").replace(".", "_")


def build() -> dict[str, Any]:
    components: dict[str, Any] = {"messages": {}, "schemas": {}}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    envelope = CloudEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    envelope.pop("$defs", None)
    components["schemas"]["CloudEvent"] = envelope
    for service in SERVICES:
        channels[f"{service}Events"] = {
            "address": topic_for(service),
            "description": f"Events produced by the {service} service. Key: the trainee id for trainee events, "
            f"the cohort id for cohort events.",
            "messages": {},
        }
        channels[f"{service}DeadLetters"] = {
            "address": dlq_for(service),
            "description": f"Records the {service} consumer could not decode or process, unchanged (a null "
            f"value stays null), with headers dlq.error.type, dlq.error.message, "
            f"dlq.original.topic, dlq.original.partition, dlq.original.offset, dlq.consumer, "
            f"dlq.attempts (1, plus one each time a replayed letter fails again) and, for a "
            f"parsed event, dlq.event.id and dlq.event.type.",
            "messages": {},
        }
        channels[f"{service}Retry"] = {
            "address": retry_for(service),
            "description": f"Dead letters of the {service} consumer replayed by `trainingops dlq replay "
            f"{service}`, unchanged, with their dlq.* headers and dlq.replayed-from. Read by the "
            f"{service} consumer only, so no other consumer sees a replay; it deduplicates by "
            f"event id.",
            "messages": {},
        }
    for event_type, spec in sorted(EVENTS.items()):
        name = _message_name(event_type)
        schema = TypeAdapter(spec.data).json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            components["schemas"][def_name] = definition
        components["schemas"][spec.data.__name__] = schema
        components["messages"][name] = {
            "name": event_type,
            "title": event_type,
            "summary": spec.summary,
            "contentType": CONTENT_TYPE,
            "headers": {"type": "object", "properties": {"content-type": {"const": CONTENT_TYPE}}},
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event_type},
                            "source": {"const": f"/services/{spec.producer}"},
                            "subject": {"description": f"the {spec.key.replace('_', ' ')}"},
                            "data": {"$ref": f"#/components/schemas/{spec.data.__name__}"},
                        },
                    },
                ]
            },
            "bindings": {"kafka": {"key": {"type": "string", "description": f"the {spec.key}"}}},
        }
        channels[f"{spec.producer}Events"]["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for service in SERVICES:
        channel = f"{service}Events"
        operations[f"publish_{service}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{service} publishes through its transactional outbox (at least once; consumers "
            f"deduplicate by event id).",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in channels[channel]["messages"]],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "TrainingOps events",
            "version": "1.0.0",
            "description": "Every topic and event type of the platform. Envelope: CloudEvents 1.0, structured "
            "JSON mode, with the extensions correlationid and causationid.",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": components,
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
