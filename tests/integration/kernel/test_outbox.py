"""emit_many keeps the order it was given, in one statement on PostgreSQL and row by row elsewhere."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from shared import events
from shared.db import Database
from shared.migrations import upgrade
from shared.outbox import emit_many
from shared.tables import outbox


def decided(position: int) -> events.ApplicationDecided:
    return events.ApplicationDecided(
        application_id=uuid.uuid4(),
        trainee_id=uuid.uuid4(),
        cohort_id=uuid.uuid4(),
        campus="seoul-a",
        decision="waitlisted",
        waitlist_position=position,
    )


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
@pytest.mark.parametrize("count", [3, 120])
def test_many_events_enter_the_outbox_in_the_order_given(backend, count, databases, tmp_path):
    url = databases.new("outbox_order") if backend == "postgresql" else f"sqlite:///{tmp_path}/outbox.db"
    upgrade("enrollment", url)
    db = Database(url)
    try:
        items = [(events.APPLICATION_DECIDED, decided(i)) for i in range(1, count + 1)]
        with db.session() as s:
            emit_many(s, items)
            s.commit()
        with db.session() as s:
            rows = s.execute(select(outbox).order_by(outbox.c.id)).all()
        assert [json.loads(r.payload)["data"]["waitlist_position"] for r in rows] == list(range(1, count + 1))
        first = rows[0]
        assert first.event_type == events.APPLICATION_DECIDED and first.topic == events.topic_for("enrollment")
        assert first.message_key == json.loads(first.payload)["data"]["trainee_id"]
        assert first.created_at is not None and len({r.event_id for r in rows}) == count
    finally:
        db.dispose()
