"""Foundation: a profile's CNIE is a claim, no longer unique (issue 12 item 2).

The unique constraint made the bot an oracle: "this CNIE is already registered" (or a CNIE left
out of one's own card) told anyone whether a CNIE was known. Several profiles may now carry the
same typed CNIE; the certification register's CNIE, given with the application number, is what
links a file. An index keeps the staff console's search by CNIE fast.

On SQLite a constraint cannot be dropped in place: batch mode rebuilds ``artisans`` (new table,
copy, drop, rename) with foreign keys switched off for the upgrade by ``env.py``, so dropping the
old table does not cascade into identities, enrolments and the other children.

Revision ID: 0019
Revises: 0001
"""

from alembic import op

revision = "0019"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artisans") as batch:
        batch.drop_constraint("uq_artisans_cnie", type_="unique")
        batch.create_index("ix_artisans_cnie", ["cnie"])


def downgrade() -> None:
    # Fails if two profiles now share a CNIE: the chamber decides which keeps it.
    with op.batch_alter_table("artisans") as batch:
        batch.drop_index("ix_artisans_cnie")
        batch.create_unique_constraint("uq_artisans_cnie", ["cnie"])
