"""Outbox: which process claimed a row (``claimed_by``, its ``host:pid:tag``).

Several worker processes share the queue; when a claim expires (its process died) the row goes
back to the queue as before, and the log can now name the process that held it.

Revision ID: 0011
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0001"
branch_labels = ("outbox_claims",)
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_by", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
