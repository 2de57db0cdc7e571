"""Each service's Alembic history builds exactly the schema its models declare, and goes down and up again."""

from __future__ import annotations

import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from shared import tables  # noqa: F401  (registers the kernel's tables)
from shared.db import KERNEL_METADATA, normalise_url
from shared.migrations import alembic_config, upgrade
from shared.registry import NAMES as SERVICES


def differences(service: str, url: str) -> list:
    metadata = importlib.import_module(f"services.{service}.adapters.orm").Base.metadata
    engine = create_engine(normalise_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, [metadata, KERNEL_METADATA])
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models_on_postgresql_and_go_down_and_up(service, databases):
    url = databases.new(f"mig{service[:3]}")
    upgrade(service, url)
    assert differences(service, url) == []
    command.downgrade(alembic_config(service, url), "base")
    assert differences(service, url) != []  # the comparison sees a missing schema
    upgrade(service, url)
    assert differences(service, url) == []


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models_on_sqlite(service, tmp_path):
    url = f"sqlite:///{tmp_path / service}.db"
    upgrade(service, url)
    assert differences(service, url) == []
