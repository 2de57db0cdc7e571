"""Bulk-load graduates and outcomes straight into placement's PostgreSQL tables (COPY), for report tests and the
benchmark. Rows are made the way the service makes them (checkpoints and sort keys from the domain)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg

from services.placement.domain import followups, indicators
from services.placement.domain.outcomes import CATEGORIES, Outcome
from shared.db import utcnow


@dataclass
class Seeded:
    id: uuid.UUID
    cohort_id: uuid.UUID
    campus: str
    programme_code: str
    completion_date: date
    first_qualification: date | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    officer: str | None = None

    def facts(self) -> indicators.GraduateFacts:
        return indicators.GraduateFacts(self.completion_date, self.outcomes, self.first_qualification)


def copy_in(url: str, graduates: list[Seeded], *, with_followups: bool = False) -> None:
    now = utcnow()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY graduate (id, cohort_id, campus, programme_code, officer, name, completion_date, early_employment,"
            " qualification_codes, first_qualification, at_6m, at_12m, cert_deadline, q2_end, q4_end,"
            " outcome_count, created_at) FROM STDIN"
        ) as cp:
            for g in graduates:
                c = indicators.checkpoints(g.completion_date)
                cp.write_row(
                    (
                        g.id,
                        g.cohort_id,
                        g.campus,
                        g.programme_code,
                        g.officer,
                        "",
                        g.completion_date,
                        False,
                        "[]",
                        g.first_qualification,
                        c.at_6m,
                        c.at_12m,
                        c.cert_deadline,
                        c.q2_end,
                        c.q4_end,
                        len(g.outcomes),
                        now,
                    )
                )
        with cur.copy(
            "COPY outcome (id, graduate_id, campus, category, as_of, months_after_completion, seq, sort_key,"
            " monthly_wage, source, note, recorded_by, recorded_at) FROM STDIN"
        ) as cp:
            for g in graduates:
                for o in g.outcomes:
                    cp.write_row(
                        (
                            uuid.uuid4(),
                            g.id,
                            g.campus,
                            o.category,
                            o.as_of,
                            0,
                            o.seq,
                            indicators.sort_key(o.as_of, o.seq, o.category, o.monthly_wage),
                            o.monthly_wage,
                            "seed",
                            "",
                            "seed",
                            now,
                        )
                    )
        if with_followups:
            with cur.copy(
                "COPY followup (id, graduate_id, campus, months, due_date, window_opens, overdue_after,"
                " done_at) FROM STDIN"
            ) as cp:
                for g in graduates:
                    for p in followups.schedule(g.completion_date):
                        done = now if g.outcomes and g.outcomes[-1].as_of >= p.window_opens else None
                        cp.write_row(
                            (uuid.uuid4(), g.id, g.campus, p.months, p.due_date, p.window_opens, p.overdue_after, done)
                        )
        conn.commit()
        cur.execute("ANALYZE followup")
        cur.execute("ANALYZE graduate")
        cur.execute("ANALYZE outcome")


def random_graduates(
    n: int,
    outcomes_each: int,
    *,
    seed: int = 7,
    campuses: int = 3,
    cohorts: int = 200,
    start: date = date(2022, 1, 1),
    days: int = 900,
) -> list[Seeded]:
    rnd = random.Random(seed)
    cohort_ids = [uuid.uuid4() for _ in range(cohorts)]
    out = []
    for _ in range(n):
        k = rnd.randrange(cohorts)
        done = start + timedelta(days=rnd.randrange(days))
        g = Seeded(uuid.uuid4(), cohort_ids[k], f"campus{k % campuses}", f"PRG-{k % 20:02d}", done)
        if rnd.random() < 0.6:
            g.first_qualification = done + timedelta(days=rnd.randrange(-90, 500))
        as_of = done
        for seq in range(outcomes_each):
            as_of = as_of + timedelta(days=rnd.randrange(1, 120))
            cat = rnd.choice(CATEGORIES[:2] * 3 + CATEGORIES)
            wage = rnd.randrange(1_800_000, 4_500_000, 10_000) if cat == "employed" and rnd.random() < 0.9 else None
            g.outcomes.append(Outcome(cat, as_of, seq, wage))
        out.append(g)
    return out
