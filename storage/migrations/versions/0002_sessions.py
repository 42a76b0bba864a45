"""Training sessions and enrolments (the sessions feature branch).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = ("sessions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ext_ref", sa.String(64)),
        sa.Column("title", sa.JSON, nullable=False),
        sa.Column("description", sa.JSON, nullable=False),
        sa.Column("craft", sa.String(32)),
        sa.Column("region", sa.String(32)),
        sa.Column("venue", sa.String(200), nullable=False),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="scheduled"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("ext_ref", name="uq_sessions_ext_ref"),
    )
    # The reminder scan asks "scheduled sessions starting between now and now + 24 h".
    op.create_index("ix_sessions_status_starts_at", "sessions", ["status", "starts_at"])
    op.create_index("ix_sessions_starts_at", "sessions", ["starts_at"])
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "session_id",
            sa.Integer,
            sa.ForeignKey("sessions.id", ondelete="CASCADE", name="fk_enrolments_session_id_sessions"),
            nullable=False,
        ),
        sa.Column(
            "artisan_id",
            sa.Integer,
            sa.ForeignKey("artisans.id", ondelete="CASCADE", name="fk_enrolments_artisan_id_artisans"),
            nullable=False,
        ),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("position", sa.Integer),
        sa.Column("rsvp", sa.String(8)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("session_id", "artisan_id", name="uq_enrolments_session_artisan"),
    )
    op.create_index("ix_enrolments_session_status", "enrolments", ["session_id", "status"])
    op.create_index("ix_enrolments_artisan_status", "enrolments", ["artisan_id", "status"])


def downgrade() -> None:
    op.drop_table("enrolments")
    op.drop_table("sessions")
