"""Alembic, one history per service: ``services/<name>/migrations``.

python -m shared.migrations enrollment upgrade
python -m shared.migrations enrollment revision "add waitlist index"
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

from shared import tables as _kernel_tables  # noqa: F401  (registers the kernel tables)
from shared.db import KERNEL_METADATA, normalise_url

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def create_kernel_tables_v1() -> None:
    """The kernel's tables as they were first released, for every service's first migration.

    Defined once here rather than in four generated copies. A later change to the kernel's
    tables gets a ``..._v2`` step here, called from a new revision of each service."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "idempotency_key",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_key")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "processed_event",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_event")),
    )


def drop_kernel_tables_v1() -> None:
    from alembic import op

    op.drop_table("processed_event")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("idempotency_key")


def upgrade_kernel_tables_v2() -> None:
    """The relay deletes what it has published, so the outbox no longer keeps a sent time."""
    from alembic import op

    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_unsent")
        batch.drop_column("sent_at")


def downgrade_kernel_tables_v2() -> None:
    import sqlalchemy as sa
    from alembic import op

    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            "ix_outbox_unsent",
            ["id"],
            unique=False,
            postgresql_where=sa.text("sent_at IS NULL"),
            sqlite_where=sa.text("sent_at IS NULL"),
        )


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Bring the service's schema to ``revision``; replicas starting together take turns (PostgreSQL lock)."""
    if not normalise_url(url).startswith("postgresql"):
        command.upgrade(alembic_config(service, url), revision)
        return
    engine = create_engine(normalise_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": f"trainingops-migrate-{service}"})
            try:
                command.upgrade(alembic_config(service, url), revision)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": f"trainingops-migrate-{service}"})
    finally:
        engine.dispose()


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    targets = [metadata, KERNEL_METADATA]
    is_sqlite = url.startswith("sqlite")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=targets, literal_binds=True, render_as_batch=is_sqlite)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=targets, render_as_batch=is_sqlite, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.migrations")
    parser.add_argument("service")
    parser.add_argument("action", choices=["upgrade", "revision", "downgrade"])
    parser.add_argument("message", nargs="?", default="")
    parser.add_argument("--url", default="", help="database URL (default: the service's setting)")
    args = parser.parse_args()
    url = args.url
    if not url:
        import importlib

        url = importlib.import_module(f"services.{args.service}.settings").Settings().database_url
    cfg = alembic_config(args.service, url)
    if args.action == "upgrade":
        command.upgrade(cfg, "head")
    elif args.action == "downgrade":
        command.downgrade(cfg, "-1")
    else:
        command.revision(cfg, message=args.message or "change", autogenerate=True)


if __name__ == "__main__":
    main()
