"""A chat's updates not handled yet, in order: the partial index behind ``take_turn``.

Revision ID: 0013
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_inbound_updates_chat_waiting", "inbound_updates", ["channel", "chat_id", "id"],
        sqlite_where=sa.text("handled_at IS NULL"), postgresql_where=sa.text("handled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_updates_chat_waiting", "inbound_updates")
