"""Certifications (VAEP): applications, their stage history, wrong linking attempts.

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0001"
branch_labels = ("certifications",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("cnie", sa.String(12), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("craft", sa.String(80)),
        sa.Column("stage", sa.String(24), nullable=False),
        sa.Column("stage_date", sa.Date),
        sa.Column("note", sa.Text),
        sa.Column("summons_at", UTCDateTime()),
        sa.Column("summons_place", sa.String(200)),
        sa.Column(
            "artisan_id",
            sa.Integer,
            sa.ForeignKey(
                "artisans.id", ondelete="SET NULL", name="fk_certifications_artisan_id_artisans"
            ),
        ),
        sa.Column("link_method", sa.String(8)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("number", name="uq_certifications_number"),
    )
    op.create_index("ix_certifications_cnie", "certifications", ["cnie"])
    op.create_index("ix_certifications_phone", "certifications", ["phone"])
    op.create_index("ix_certifications_artisan", "certifications", ["artisan_id"])
    op.create_table(
        "certification_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "certification_id",
            sa.Integer,
            sa.ForeignKey(
                "certifications.id", ondelete="CASCADE",
                name="fk_certification_history_certification_id_certifications",
            ),
            nullable=False,
        ),
        sa.Column("stage", sa.String(24), nullable=False),
        sa.Column("stage_date", sa.Date),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("summons_at", UTCDateTime()),
        sa.Column("summons_place", sa.String(200)),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
    )
    op.create_index(
        "ix_certification_history_certification",
        "certification_history",
        ["certification_id", "id"],
    )
    op.create_table(
        "certification_link_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_certification_link_attempts_user",
        "certification_link_attempts",
        ["channel", "user_id", "at"],
    )


def downgrade() -> None:
    for table in ("certification_link_attempts", "certification_history", "certifications"):
        op.drop_table(table)
