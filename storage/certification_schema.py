"""Tables of the certification (VAEP) tracker; created by migration ``0003_certifications``.

- ``certifications``: one row per application in the chamber's register (its number is the key a
  re-import matches on), with the current stage and, for a summons or a certificate to collect,
  the appointment (``summons_at`` in UTC and ``summons_place``). ``artisan_id`` is set once the
  application is safely linked to an artisan (``link_method``: ``phone`` = their verified phone
  matched, ``cnie`` = they gave the number and the CNIE on file).
- ``certification_history``: every stage an application went through, with who recorded it
  (``source`` ``import`` | ``staff``, ``author``); its id is part of the notification's key.
- ``certification_link_attempts``: wrong "number + CNIE" guesses, per chat user, for the hourly
  limit (kept in the database so a restart does not reset it).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from storage.schema import metadata
from storage.types import UTCDateTime

certifications = Table(
    "certifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("cnie", String(12), nullable=False),
    Column("phone", String(20)),
    Column("full_name", String(120), nullable=False),
    Column("craft", String(80)),
    Column("stage", String(24), nullable=False),
    Column("stage_date", Date),
    Column("note", Text),
    Column("summons_at", UTCDateTime()),
    Column("summons_place", String(200)),
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="SET NULL")),
    Column("link_method", String(8)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_certifications_cnie", "cnie"),
    Index("ix_certifications_phone", "phone"),
    Index("ix_certifications_artisan", "artisan_id"),
)

certification_history = Table(
    "certification_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "certification_id", Integer, ForeignKey("certifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("stage", String(24), nullable=False),
    Column("stage_date", Date),
    Column("at", UTCDateTime(), nullable=False),
    Column("note", Text),
    Column("summons_at", UTCDateTime()),
    Column("summons_place", String(200)),
    Column("author", String(120), nullable=False),
    Column("source", String(8), nullable=False),
    Index("ix_certification_history_certification", "certification_id", "id"),
)

certification_link_attempts = Table(
    "certification_link_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_certification_link_attempts_user", "channel", "user_id", "at"),
)
