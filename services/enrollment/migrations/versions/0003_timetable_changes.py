"""A published cohort's plan has a version; each timetable change is kept

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.alter_column("plan_version", server_default=None)
    op.create_table(
        "timetable_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cohort_id", sa.Uuid(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], name=op.f("fk_timetable_change_cohort_id_cohort")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timetable_change")),
        sa.UniqueConstraint("cohort_id", "plan_version", name="uq_timetable_change_cohort_version"),
    )
    with op.batch_alter_table("timetable_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timetable_change_cohort_id"), ["cohort_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timetable_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timetable_change_cohort_id"))
    op.drop_table("timetable_change")
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_column("plan_version")
