"""The chamber: questions and answers, staff topics, canned answers, new-session alert choices,
feedback after a session, attendance attestations (see ``storage/chamber_schema.py``).

Revision ID: 0014
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0014"
down_revision = "0001"
branch_labels = ("chamber",)
# feedback and attestations refer to sessions.
depends_on = "0002"


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("artisan_id", sa.Integer, sa.ForeignKey("artisans.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("assigned_to", sa.String(80)),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime()),
        sa.Column("first_answer_at", UTCDateTime()),
        sa.Column("flagged_at", UTCDateTime()),
    )
    op.create_index("ix_questions_status_opened", "questions", ["status", "opened_at"])
    op.create_index("ix_questions_artisan", "questions", ["artisan_id", "status"])
    op.create_table(
        "question_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("question_id", sa.Integer, sa.ForeignKey("questions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("author", sa.String(80)),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("file_channel", sa.String(16)),
        sa.Column("file_id", sa.String(200)),
        sa.Column("file_name", sa.String(255)),
        sa.Column("mime_type", sa.String(100)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("relayed_at", UTCDateTime()),
    )
    op.create_index("ix_question_messages_question", "question_messages", ["question_id", "id"])
    op.create_index("ix_question_messages_unrelayed", "question_messages",
                    ["direction", "relayed_at"])
    op.create_table(
        "chamber_topics",
        sa.Column("artisan_id", sa.Integer, sa.ForeignKey("artisans.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("thread_id", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("group_id", "thread_id", name="uq_chamber_topics_thread"),
    )
    op.create_table(
        "canned_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alert_prefs",
        sa.Column("artisan_id", sa.Integer, sa.ForeignKey("artisans.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("new_sessions", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "announced_sessions",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("artisan_id", sa.Integer, sa.ForeignKey("artisans.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("rating", sa.Integer),
        sa.Column("reason", sa.String(16)),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("session_id", "artisan_id", name="uq_feedback_session_artisan"),
    )
    op.create_table(
        "attestations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("artisan_id", sa.Integer, sa.ForeignKey("artisans.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("session_id", "artisan_id", name="uq_attestations_session_artisan"),
        sa.UniqueConstraint("reference", name="uq_attestations_reference"),
    )


def downgrade() -> None:
    for table in ("attestations", "feedback", "announced_sessions", "alert_prefs",
                  "canned_answers", "chamber_topics", "question_messages", "questions"):
        op.drop_table(table)
