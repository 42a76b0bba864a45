"""WhatsApp: delivery receipts of outbox rows (sent, delivered, read, failed with a code).

Revision ID: 0006_whatsapp
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006_whatsapp"
down_revision = "0001"
branch_labels = ("whatsapp",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_receipts",
        sa.Column(
            "outbox_id",
            sa.Integer,
            sa.ForeignKey("outbox.id", ondelete="CASCADE", name="fk_whatsapp_receipts_outbox_id_outbox"),
            primary_key=True,
        ),
        sa.Column("platform_message_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("error_title", sa.Text),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_whatsapp_receipts_platform_message_id", "whatsapp_receipts", ["platform_message_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_whatsapp_receipts_platform_message_id", "whatsapp_receipts")
    op.drop_table("whatsapp_receipts")
