"""Broadcasts: staff messages to many artisans (deliveries live in ``outbox``).

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0001"
branch_labels = ("broadcasts",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author_channel", sa.String(16), nullable=False),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("author_chat", sa.String(64), nullable=False),
        sa.Column("author_lang", sa.String(8), nullable=False),
        sa.Column("texts", sa.JSON, nullable=False),
        sa.Column("fallback_lang", sa.String(8), nullable=False),
        sa.Column("media_kind", sa.String(10)),
        sa.Column("media", sa.LargeBinary),
        sa.Column("media_name", sa.String(255)),
        sa.Column("media_mime", sa.String(100)),
        sa.Column("audience", sa.JSON, nullable=False),
        sa.Column("scheduled_at", UTCDateTime()),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("blocked", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status", "scheduled_at"])


def downgrade() -> None:
    op.drop_index("ix_broadcasts_status", table_name="broadcasts")
    op.drop_table("broadcasts")
