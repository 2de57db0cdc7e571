"""PostgreSQL makes a mark's id when none is given: a bulk request's new marks go in by COPY without one

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite's marks come with their ids from the ORM
        op.alter_column("mark", "id", server_default=sa.text("gen_random_uuid()"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("mark", "id", server_default=None)
