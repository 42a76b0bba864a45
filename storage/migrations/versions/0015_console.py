"""The staff console: sign-in links, browser sessions, its history; indexes for its searches.

Revision ID: 0015
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0015"
down_revision = "0001"
branch_labels = ("console",)
depends_on = None

# Artisans' list in the console filters on these and pages by id (keyset).
ARTISAN_INDEXES = {
    "ix_artisans_region_id": ["region", "id"],
    "ix_artisans_craft_id": ["craft", "id"],
    "ix_artisans_locale_id": ["locale", "id"],
    "ix_artisans_created_at": ["created_at"],
}


def upgrade() -> None:
    op.create_table(
        "console_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "console_links",
        sa.Column("nonce", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime()),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "console_uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "console_activity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_console_activity_at", "console_activity", ["at"])
    op.create_index("ix_console_activity_author", "console_activity", ["author", "at"])
    for name, columns in ARTISAN_INDEXES.items():
        op.create_index(name, "artisans", columns)


def downgrade() -> None:
    for name in ARTISAN_INDEXES:
        op.drop_index(name, table_name="artisans")
    op.drop_table("console_activity")
    op.drop_table("console_uploads")
    op.drop_table("console_sessions")
    op.drop_table("console_links")
    op.drop_table("console_keys")
