"""Tables of the foundation, as SQLAlchemy Core objects (migrations live in ``migrations/``).

Feature modules add their own tables in their own files (e.g. ``storage/sessions_schema.py``),
all on the one :data:`metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

artisans = Table(
    "artisans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("full_name", String(120)),
    Column("phone", String(20), index=True),
    Column("phone_verified", Boolean, nullable=False, default=False),
    Column("cnie", String(12), index=True),  # a claim: profiles may share one
    Column("region", String(32)),
    Column("craft", String(32)),
    Column("craft_other", String(80)),
    Column("locale", String(8), nullable=False),
    Column("time_zone", String(64)),
    Column("consent_at", UTCDateTime()),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("erased_at", UTCDateTime()),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("blocked", Boolean, nullable=False, default=False),
    Column("blocked_at", UTCDateTime()),
    Column("last_inbound_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("channel", "external_id", name="uq_identities_channel_external"),
    Index("ix_identities_artisan", "artisan_id"),
    Index("ix_identities_channel_chat", "channel", "chat_id"),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("role", String(8), nullable=False),
    Column("added_by", String(80)),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("channel", "external_id", name="uq_staff_channel_external"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("state", String(64)),
    Column("data", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

processed_updates = Table(
    "processed_updates",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("update_id", String(128), primary_key=True),
    Column("processed_at", UTCDateTime(), nullable=False, index=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("idem_key", String(160), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="SET NULL")),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(12), nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("claimed_at", UTCDateTime()),
    Column("claimed_by", String(128)),  # the claiming process, ``host:pid:tag``
    Column("sent_at", UTCDateTime()),
    Column("platform_message_id", String(128)),
    Index("ix_outbox_due", "channel", "status", "next_attempt_at"),
    Index("ix_outbox_artisan", "artisan_id"),
    Index("ix_outbox_claim", "channel", "status", "priority", "id"),
)
