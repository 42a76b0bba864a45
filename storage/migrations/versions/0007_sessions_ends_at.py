"""Sessions: index (status, ends_at) so the scheduler finds ended sessions without a scan.

Revision ID: 0007
Revises: 0002
"""

from alembic import op

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sessions_status_ends_at", "sessions", ["status", "ends_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_status_ends_at", table_name="sessions")
