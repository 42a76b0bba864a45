"""Thousands of registered artisans at once, written straight to the tables: the bulk of a
broadcast's audience in the multi-worker test and benchmarks (the few people whose experience is
checked register through the conversation instead).

    chats = await seed_recipients(db, 2000, now, whatsapp_every=10)
    chats.telegram   # Telegram chat ids (ints), chats.whatsapp: WhatsApp numbers (str)

Artisan ids come from the database (no explicit ids: on PostgreSQL the sequence must stay ahead
of them for the artisans who register afterwards). Every WhatsApp recipient wrote recently, so a
broadcast reaches them inside the 24-hour window, as free text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert

from handlers.catalog import CRAFTS, REGIONS
from storage.database import Database
from storage.schema import artisans, identities

FIRST_CHAT = 10_000_001
CHUNK = 1000


@dataclass
class Recipients:
    telegram: list[int] = field(default_factory=list)
    whatsapp: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.telegram) + len(self.whatsapp)


def whatsapp_number(index: int) -> str:
    return f"2126{index:08d}"


async def seed_recipients(db: Database, count: int, now: datetime, *, whatsapp_every: int = 0,
                          first_chat: int = FIRST_CHAT) -> Recipients:
    """``count`` registered, consenting artisans in three languages; every ``whatsapp_every``-th
    on WhatsApp (0: none), the others on Telegram (chats ``first_chat``, ``first_chat + 1``, ...)."""
    out = Recipients()
    langs = ("ar", "fr", "en")
    for start in range(0, count, CHUNK):
        indexes = range(start, min(count, start + CHUNK))
        people = [
            {"full_name": f"Artisan {i + 1}", "phone": f"+2126{i:08d}", "phone_verified": True,
             "region": REGIONS[i % len(REGIONS)], "craft": CRAFTS[i % len(CRAFTS)],
             "locale": langs[i % 3], "consent_at": now, "opted_out": False, "created_at": now,
             "updated_at": now}
            for i in indexes
        ]
        links = []
        async with db.transaction() as conn:
            made = await conn.execute(
                insert(artisans).returning(artisans.c.id, sort_by_parameter_order=True), people)
            for i, artisan_id in zip(indexes, made.scalars(), strict=True):
                on_whatsapp = bool(whatsapp_every) and i % whatsapp_every == whatsapp_every - 1
                chat = whatsapp_number(i) if on_whatsapp else str(first_chat + i)
                links.append({"channel": "whatsapp" if on_whatsapp else "telegram",
                              "external_id": chat, "artisan_id": artisan_id, "chat_id": chat,
                              "blocked": False, "created_at": now, "last_inbound_at": now})
                if on_whatsapp:
                    out.whatsapp.append(chat)
                else:
                    out.telegram.append(int(chat))
            await conn.execute(insert(identities), links)
    return out
