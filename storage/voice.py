"""Voice prompts, voice help and artisans' voice notes (tables in ``storage/voice_schema.py``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from storage.database import Conn
from storage.sql import insert_ignore
from storage.voice_schema import voice_help, voice_prompts

TELEGRAM = "telegram"
WHATSAPP = "whatsapp"


@dataclass(frozen=True)
class VoicePrompt:
    id: int
    message_key: str
    lang: str
    mime_type: str
    content: bytes
    telegram_file_id: str | None
    whatsapp_media_id: str | None
    whatsapp_uploaded_at: datetime | None
    recorded_at: datetime

    @property
    def ref(self) -> str:
        return f"voice:{self.id}"


def _prompt(row: object) -> VoicePrompt:
    m = row._mapping  # type: ignore[attr-defined]
    return VoicePrompt(m["id"], m["message_key"], m["lang"], m["mime_type"], bytes(m["content"]),
                       m["telegram_file_id"], m["whatsapp_media_id"], m["whatsapp_uploaded_at"],
                       m["recorded_at"])


async def get(conn: Conn, prompt_id: int) -> VoicePrompt | None:
    row = (await conn.execute(select(voice_prompts).where(voice_prompts.c.id == prompt_id))).first()
    return _prompt(row) if row is not None else None


async def find(conn: Conn, message_key: str, lang: str) -> VoicePrompt | None:
    row = (await conn.execute(select(voice_prompts).where(
        voice_prompts.c.message_key == message_key, voice_prompts.c.lang == lang))).first()
    return _prompt(row) if row is not None else None


async def ref_for(conn: Conn, message_key: str, lang: str) -> str | None:
    """``voice:<id>`` of the note recorded for ``message_key`` in ``lang``, if any."""
    row = (await conn.execute(select(voice_prompts.c.id).where(
        voice_prompts.c.message_key == message_key, voice_prompts.c.lang == lang))).first()
    return f"voice:{row[0]}" if row is not None else None


async def recorded(conn: Conn, keys: Collection[str]) -> set[tuple[str, str]]:
    """(message key, language) of every note recorded among ``keys``."""
    rows = await conn.execute(select(voice_prompts.c.message_key, voice_prompts.c.lang)
                              .where(voice_prompts.c.message_key.in_(list(keys))))
    return {(str(k), str(lang)) for k, lang in rows}


async def save(
    conn: Conn, message_key: str, lang: str, content: bytes, mime_type: str, *,
    channel: str, file_id: str, by: str, now: datetime,
) -> bool:
    """Record (or replace) the note of ``message_key`` in ``lang``; True when it replaced one.
    The channel it came from already has it: its id is kept, the other channel's is cleared."""
    values = {
        "mime_type": mime_type[:64], "content": content, "recorded_by": by[:80], "recorded_at": now,
        "telegram_file_id": file_id if channel == TELEGRAM else None,
        "whatsapp_media_id": None, "whatsapp_uploaded_at": None,
    }
    result = await conn.execute(update(voice_prompts).where(
        voice_prompts.c.message_key == message_key, voice_prompts.c.lang == lang).values(**values))
    if result.rowcount:
        return True
    await conn.execute(insert(voice_prompts).values(message_key=message_key, lang=lang, **values))
    return False


async def remove(conn: Conn, message_key: str, lang: str) -> bool:
    result = await conn.execute(delete(voice_prompts).where(
        voice_prompts.c.message_key == message_key, voice_prompts.c.lang == lang))
    return bool(result.rowcount)


async def remember_upload(conn: Conn, prompt_id: int, channel: str, platform_id: str,
                          now: datetime) -> None:
    """The channel's own id for a note it just uploaded (so it is not uploaded again)."""
    if channel == TELEGRAM:
        values: dict[str, object] = {"telegram_file_id": platform_id}
    else:
        values = {"whatsapp_media_id": platform_id, "whatsapp_uploaded_at": now}
    await conn.execute(update(voice_prompts).where(voice_prompts.c.id == prompt_id).values(**values))


# -- who wants voice help -----------------------------------------------------------------------

async def wants(conn: Conn, artisan_id: int) -> bool:
    row = (await conn.execute(select(voice_help.c.artisan_id)
                              .where(voice_help.c.artisan_id == artisan_id))).first()
    return row is not None


async def set_help(conn: Conn, artisan_id: int, on: bool, now: datetime) -> None:
    if on:
        await insert_ignore(conn, voice_help, {"artisan_id": artisan_id, "since": now})
    else:
        await conn.execute(delete(voice_help).where(voice_help.c.artisan_id == artisan_id))


async def forget_artisan(conn: Conn, artisan_id: int) -> None:
    """"Delete my data": their voice-help choice goes."""
    await conn.execute(delete(voice_help).where(voice_help.c.artisan_id == artisan_id))
