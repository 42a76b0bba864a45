"""Voice notes for the channels: load a stored voice prompt by its ``voice_ref`` and remember the
id a channel gave it once uploaded (Telegram ``file_id``, WhatsApp media id), so each note is
uploaded at most once per channel (WhatsApp: again after 29 days, Meta keeps media 30).

Each call opens its own short transaction: the channels call these around sending, never inside
the update's transaction.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from storage import voice as voice_repo
from storage.database import Database
from storage.voice import VoicePrompt

WHATSAPP_MEDIA_LIFETIME = timedelta(days=29)


class VoiceStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def load(self, ref: str) -> VoicePrompt | None:
        kind, _, number = ref.partition(":")
        if kind != "voice" or not number.isdigit():
            return None
        async with self.db.read() as conn:
            return await voice_repo.get(conn, int(number))

    def known_id(self, prompt: VoicePrompt, channel: str) -> str | None:
        """The channel's id for ``prompt`` if it can still be sent by it."""
        if channel == voice_repo.TELEGRAM:
            return prompt.telegram_file_id
        uploaded = prompt.whatsapp_uploaded_at
        if prompt.whatsapp_media_id and uploaded is not None \
                and self.clock.now() - uploaded < WHATSAPP_MEDIA_LIFETIME:
            return prompt.whatsapp_media_id
        return None

    async def remember(self, prompt: VoicePrompt, channel: str, platform_id: str) -> None:
        async with self.db.transaction() as conn:
            await voice_repo.remember_upload(conn, prompt.id, channel, platform_id, self.clock.now())
