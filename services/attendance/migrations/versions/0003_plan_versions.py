"""Cohorts follow enrollment's plan versions; sessions out of the plan are kept when marked; held enrollments

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
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.alter_column("cancelled", server_default=None)
    op.create_table(
        "pending_enrollment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cohort_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("withdraw_reason", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_enrollment")),
        sa.UniqueConstraint("cohort_id", "trainee_id", name="uq_pending_enrollment_cohort_trainee"),
    )
    with op.batch_alter_table("pending_enrollment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_enrollment_cohort_id"), ["cohort_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_enrollment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_enrollment_cohort_id"))
    op.drop_table("pending_enrollment")
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.drop_column("cancelled")
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_column("plan_version")
