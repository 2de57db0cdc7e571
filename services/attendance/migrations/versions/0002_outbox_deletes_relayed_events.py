"""The outbox keeps only events not yet relayed

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

from shared.migrations import downgrade_kernel_tables_v2, upgrade_kernel_tables_v2

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    upgrade_kernel_tables_v2()


def downgrade() -> None:
    downgrade_kernel_tables_v2()
