"""Voice help: staff-recorded voice prompts, who wants them, artisans' voice notes for the chamber.

Revision ID: 0012
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0012"
down_revision = "0001"
branch_labels = ("voice",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_prompts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("mime_type", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("telegram_file_id", sa.String(256)),
        sa.Column("whatsapp_media_id", sa.String(64)),
        sa.Column("whatsapp_uploaded_at", UTCDateTime()),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("message_key", "lang", name="uq_voice_prompts_message_key"),
    )
    op.create_table(
        "voice_help",
        sa.Column(
            "artisan_id", sa.Integer,
            sa.ForeignKey("artisans.id", ondelete="CASCADE", name="fk_voice_help_artisan_id_artisans"),
            primary_key=True,
        ),
        sa.Column("since", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("voice_help")
    op.drop_table("voice_prompts")
