import json
from pathlib import Path

from shared.events import ALL_TOPICS, EVENTS
from trainingops import asyncapi

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def test_the_committed_catalogue_is_current():
    assert DOC.read_text() == asyncapi.render(), (
        "docs/asyncapi.json is stale: run `.venv/bin/python -m trainingops.asyncapi > docs/asyncapi.json`"
    )


def test_every_topic_and_event_type_is_in_the_catalogue():
    doc = json.loads(DOC.read_text())
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} == set(ALL_TOPICS)
    titles = {m["title"] for m in doc["components"]["messages"].values()}
    assert titles == set(EVENTS)
    for message in doc["components"]["messages"].values():
        ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert ref in doc["components"]["schemas"]
