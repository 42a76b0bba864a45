"""Foundation: artisans, identities, staff, conversations, processed updates, outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = ("foundation",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artisans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("full_name", sa.String(120)),
        sa.Column("phone", sa.String(20)),
        sa.Column("phone_verified", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cnie", sa.String(12)),
        sa.Column("region", sa.String(32)),
        sa.Column("craft", sa.String(32)),
        sa.Column("craft_other", sa.String(80)),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("consent_at", UTCDateTime()),
        sa.Column("opted_out", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("erased_at", UTCDateTime()),
        sa.UniqueConstraint("cnie", name="uq_artisans_cnie"),
    )
    op.create_index("ix_artisans_phone", "artisans", ["phone"])
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column(
            "artisan_id",
            sa.Integer,
            sa.ForeignKey("artisans.id", ondelete="CASCADE", name="fk_identities_artisan_id_artisans"),
            nullable=False,
        ),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("blocked_at", UTCDateTime()),
        sa.Column("last_inbound_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel", "external_id", name="uq_identities_channel_external"),
    )
    op.create_index("ix_identities_artisan", "identities", ["artisan_id"])
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("added_by", sa.String(80)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel", "external_id", name="uq_staff_channel_external"),
    )
    op.create_table(
        "conversations",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(64)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "processed_updates",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("update_id", sa.String(128), primary_key=True),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_processed_updates_processed_at", "processed_updates", ["processed_at"]
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("idem_key", sa.String(160), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column(
            "artisan_id",
            sa.Integer,
            sa.ForeignKey("artisans.id", ondelete="SET NULL", name="fk_outbox_artisan_id_artisans"),
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime()),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("platform_message_id", sa.String(128)),
        sa.UniqueConstraint("idem_key", name="uq_outbox_idem_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["channel", "status", "next_attempt_at"])
    op.create_index("ix_outbox_artisan", "outbox", ["artisan_id"])


def downgrade() -> None:
    for table in (
        "outbox",
        "processed_updates",
        "conversations",
        "staff",
        "identities",
        "artisans",
    ):
        op.drop_table(table)
