"""Durable inbound: every update stored before it is acknowledged (``inbound_updates``).

Revision ID: 0009
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0009"
down_revision = "0001"
branch_labels = ("inbound",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_updates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime()),
        sa.Column("outcome", sa.String(16)),
        sa.UniqueConstraint("channel", "external_id", name="uq_inbound_updates_channel_external"),
    )
    op.create_index("ix_inbound_updates_waiting", "inbound_updates", ["channel", "handled_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_updates_waiting", "inbound_updates")
    op.drop_table("inbound_updates")
