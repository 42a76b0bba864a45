"""Foundation: indexes for the outbox's blocked-chat lookup and its claim order.

Revision ID: 0008
Revises: 0001
"""

from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_identities_channel_chat", "identities", ["channel", "chat_id"])
    op.create_index("ix_outbox_claim", "outbox", ["channel", "status", "priority", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.drop_index("ix_identities_channel_chat", table_name="identities")
