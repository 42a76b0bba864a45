"""WhatsApp delivery: the parts of an outbox message Meta accepted, and each chat's last message.

Revision ID: 0010
Revises: 0006_whatsapp
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0010"
down_revision = "0006_whatsapp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_parts",
        sa.Column(
            "outbox_id",
            sa.Integer,
            sa.ForeignKey("outbox.id", ondelete="CASCADE", name="fk_whatsapp_parts_outbox_id_outbox"),
            primary_key=True,
        ),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("platform_message_id", sa.String(128), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_whatsapp_parts_platform_message_id", "whatsapp_parts", ["platform_message_id"]
    )
    op.create_table(
        "whatsapp_windows",
        sa.Column("chat_id", sa.String(64), primary_key=True),
        sa.Column("last_inbound_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_windows")
    op.drop_index("ix_whatsapp_parts_platform_message_id", "whatsapp_parts")
    op.drop_table("whatsapp_parts")
