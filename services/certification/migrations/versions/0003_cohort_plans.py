"""Certification keeps each cohort's dates and qualifications from the cohort's events

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
    op.create_table(
        "cohort",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campus", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("programme_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("qualification_codes", sa.JSON(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort")),
    )


def downgrade() -> None:
    op.drop_table("cohort")
