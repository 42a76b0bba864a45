"""Tables of the chamber feature (migration 0014): questions to the chamber and their messages,
the staff group's topics, canned answers, new-session alert choices, feedback after a session,
and attendance attestations.

- ``questions.status``: ``open`` | ``answered``. Several messages of an artisan form one question
  until staff answer; the next message after an answer opens a new question.
- ``question_messages.direction``: ``in`` (from the artisan) | ``out`` (from staff); ``kind``:
  ``text`` | ``voice`` | ``photo`` | ``document`` (``file_channel``/``file_id`` name the file on
  the platform it came from; it is fetched only when relayed). ``relayed_at``: when an ``in``
  message was queued to staff.
- ``chamber_topics``: the staff group's forum topic of each artisan (one per artisan).
- ``alert_prefs``: an artisan who turned new-session alerts off (absent = on).
- ``announced_sessions``: sessions whose new-session alerts were queued (once per session).
- ``feedback``: one row per (session, artisan): ``rating`` 1-5 for those present, ``reason`` for
  those absent, ``comment`` optional.
- ``attestations``: one per (session, artisan) marked present; ``reference`` is public.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.schema import metadata
from storage.types import UTCDateTime


class QuestionStatus(StrEnum):
    """``questions.status`` (stored as these strings)."""

    OPEN = "open"
    ANSWERED = "answered"


class Direction(StrEnum):
    """``question_messages.direction``: from the artisan (``in``) or from staff (``out``)."""

    IN = "in"
    OUT = "out"

questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(10), nullable=False),
    Column("source", String(16), nullable=False),
    Column("assigned_to", String(80)),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("answered_at", UTCDateTime()),
    Column("first_answer_at", UTCDateTime()),
    Column("flagged_at", UTCDateTime()),
    Index("ix_questions_status_opened", "status", "opened_at"),
    Index("ix_questions_artisan", "artisan_id", "status"),
)

question_messages = Table(
    "question_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("question_id", Integer, ForeignKey("questions.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(4), nullable=False),
    Column("author", String(80)),
    Column("kind", String(10), nullable=False),
    Column("text", Text, nullable=False),
    Column("file_channel", String(16)),
    Column("file_id", String(200)),
    Column("file_name", String(255)),
    Column("mime_type", String(100)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("relayed_at", UTCDateTime()),
    Index("ix_question_messages_question", "question_id", "id"),
    Index("ix_question_messages_unrelayed", "direction", "relayed_at"),
)

chamber_topics = Table(
    "chamber_topics",
    metadata,
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", String(32), nullable=False),
    Column("thread_id", String(32), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("group_id", "thread_id", name="uq_chamber_topics_thread"),
)

canned_answers = Table(
    "canned_answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_by", String(80), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

alert_prefs = Table(
    "alert_prefs",
    metadata,
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), primary_key=True),
    Column("new_sessions", Boolean, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

announced_sessions = Table(
    "announced_sessions",
    metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("recipients", Integer, nullable=False),
    Column("announced_at", UTCDateTime(), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), nullable=False),
    Column("rating", Integer),
    Column("reason", String(16)),
    Column("comment", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("session_id", "artisan_id", name="uq_feedback_session_artisan"),
)

attestations = Table(
    "attestations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), nullable=False),
    Column("reference", String(32), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    UniqueConstraint("session_id", "artisan_id", name="uq_attestations_session_artisan"),
    UniqueConstraint("reference", name="uq_attestations_reference"),
)
