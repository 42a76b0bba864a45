"""Tables of the training-sessions feature: ``sessions`` and ``enrolments`` (migration 0002).

Other features read these tables (broadcasts to "everyone enrolled in session 42"), so the
columns are a contract: see ``migrations/versions/0002_sessions.py``.

- ``sessions.title`` / ``description``: JSON ``{lang: text}``, at least one language.
- ``sessions.status``: ``scheduled`` | ``cancelled`` | ``done``; ``version`` is bumped on every
  reschedule (reminder keys include it, so a moved session gets fresh reminders).
- ``enrolments.status``: ``enrolled`` | ``waitlisted`` | ``cancelled`` | ``attended`` |
  ``no_show``; ``position`` orders the wait-list (smaller first, gaps allowed); ``rsvp`` is the
  answer to a reminder (``yes`` | ``no``).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from storage.schema import metadata
from storage.types import UTCDateTime


class SessionStatus(StrEnum):
    """``sessions.status`` (stored as these strings)."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    DONE = "done"


class EnrolmentStatus(StrEnum):
    """``enrolments.status`` (stored as these strings; a withdrawal is stored as ``cancelled``)."""

    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# Statuses that hold a seat (attendance is marked on enrolled rows).
SEATED = (EnrolmentStatus.ENROLLED, EnrolmentStatus.ATTENDED, EnrolmentStatus.NO_SHOW)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ext_ref", String(64)),
    Column("title", JSON, nullable=False),
    Column("description", JSON, nullable=False),
    Column("craft", String(32)),
    Column("region", String(32)),
    Column("venue", String(200), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("status", String(12), nullable=False, default=SessionStatus.SCHEDULED),
    Column("version", Integer, nullable=False, default=1),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("ext_ref", name="uq_sessions_ext_ref"),
    Index("ix_sessions_status_starts_at", "status", "starts_at"),
    Index("ix_sessions_starts_at", "starts_at"),
    Index("ix_sessions_status_ends_at", "status", "ends_at"),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("position", Integer),
    Column("rsvp", String(8)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("session_id", "artisan_id", name="uq_enrolments_session_artisan"),
    Index("ix_enrolments_session_status", "session_id", "status"),
    Index("ix_enrolments_artisan_status", "artisan_id", "status"),
)
