"""Tables of voice help; created by migration ``0012_voice``.

- ``voice_prompts``: a short voice note recorded by staff for one message (a catalog key such as
  ``menu.title``) in one language. The audio bytes are kept (``content``) so the note can be
  uploaded again; each channel's own handle for it is kept too, so it is uploaded once per
  channel: ``telegram_file_id`` (Telegram reuses it forever) and ``whatsapp_media_id`` with
  ``whatsapp_uploaded_at`` (Meta keeps uploaded media 30 days; older ids are uploaded again).
- ``voice_help``: the artisans who asked to hear the voice notes (chosen at registration or in
  the profile).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Table, UniqueConstraint

from storage.schema import metadata
from storage.types import UTCDateTime

voice_prompts = Table(
    "voice_prompts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_key", String(64), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("mime_type", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("telegram_file_id", String(256)),
    Column("whatsapp_media_id", String(64)),
    Column("whatsapp_uploaded_at", UTCDateTime()),
    Column("recorded_by", String(80), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    UniqueConstraint("message_key", "lang", name="uq_voice_prompts_message_key"),
)

voice_help = Table(
    "voice_help",
    metadata,
    Column("artisan_id", Integer, ForeignKey("artisans.id", ondelete="CASCADE"), primary_key=True),
    Column("since", UTCDateTime(), nullable=False),
)
