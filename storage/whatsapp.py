"""What the WhatsApp channel keeps: delivery receipts, sent parts, and the 24-hour window.

- ``whatsapp_receipts``: WhatsApp reports each message's fate later, in status callbacks
  (``sent`` → ``delivered`` → ``read``, or ``failed`` with an error code), naming it by the
  ``wamid`` the send returned. :func:`record_receipt` keeps the latest state per outbox row; what
  a failure does to the row itself is decided by the sender (``bot/sender.py``) and written by
  ``storage/outbox.py``, the table's one owner.
- ``whatsapp_parts``: one outbox message may take several Cloud API messages (a document, then
  the text with its buttons). Each part Meta accepted is written down at once
  (:func:`record_part`), so a retry after a later part failed sends only what is missing.
- ``whatsapp_windows``: when each chat last wrote to us, artisan or not (staff who never
  registered write too), which opens the 24-hour customer-service window. The outbox's claim
  (``storage/outbox.due``) reads it with the row, with ``identities.last_inbound_at``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, delete, select, update

from storage.database import Conn
from storage.schema import conversations, identities, metadata, staff
from storage.sql import insert_ignore
from storage.types import UTCDateTime

CHANNEL = "whatsapp"

receipts = Table(
    "whatsapp_receipts",
    metadata,
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True),
    Column("platform_message_id", String(128), nullable=False, index=True),
    Column("status", String(12), nullable=False),
    Column("error_code", Integer),
    Column("error_title", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
)

parts = Table(
    "whatsapp_parts",
    metadata,
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("platform_message_id", String(128), nullable=False, index=True),
    Column("sent_at", UTCDateTime(), nullable=False),
)

windows = Table(
    "whatsapp_windows",
    metadata,
    Column("chat_id", String(64), primary_key=True),
    Column("last_inbound_at", UTCDateTime(), nullable=False),
)

# Callbacks may arrive out of order; a later state never goes back to an earlier one.
_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


async def touch_window(conn: Conn, chat_id: str, now: datetime) -> None:
    """``chat_id`` wrote to us at ``now``: its 24-hour window is open."""
    if not await insert_ignore(conn, windows, {"chat_id": chat_id, "last_inbound_at": now}):
        await conn.execute(update(windows).where(windows.c.chat_id == chat_id,
                                                 windows.c.last_inbound_at < now)
                           .values(last_inbound_at=now))


async def part_of(conn: Conn, message_id: str) -> tuple[int, int] | None:
    """(outbox id, part number) of the part Meta knows as ``message_id``, for a row sent in
    several parts; None when it is not one (then the row's own ``platform_message_id`` says)."""
    stmt = select(parts.c.outbox_id, parts.c.part).where(parts.c.platform_message_id == message_id)
    row = (await conn.execute(stmt)).first()
    return (int(row[0]), int(row[1])) if row is not None else None


async def parts_sent(conn: Conn, outbox_id: int) -> dict[int, str]:
    """The parts of an outbox row Meta already accepted: part number → ``wamid``."""
    stmt = select(parts.c.part, parts.c.platform_message_id).where(parts.c.outbox_id == outbox_id)
    return {int(p): str(m) for p, m in await conn.execute(stmt)}


async def record_part(conn: Conn, outbox_id: int, part: int, message_id: str, now: datetime) -> None:
    """Meta accepted part ``part`` of the row: never send it again."""
    await insert_ignore(conn, parts, {"outbox_id": outbox_id, "part": part,
                                      "platform_message_id": message_id, "sent_at": now})


async def forget_part(conn: Conn, outbox_id: int, part: int) -> None:
    """Meta reported part ``part`` failed after accepting it: the next try sends it again."""
    await conn.execute(delete(parts).where(parts.c.outbox_id == outbox_id, parts.c.part == part))


async def forget_parts(conn: Conn, outbox_id: int) -> None:
    """The row is to be sent again from scratch (as a template, say)."""
    await conn.execute(delete(parts).where(parts.c.outbox_id == outbox_id))


async def change_number(conn: Conn, old: str, new: str) -> bool:
    """A user changed their WhatsApp number: their identity, conversation, staff role and window
    follow them to ``new`` (their pending outbox rows: ``storage.outbox.move_chat``, in the same
    transaction). False when nothing was known under ``old``."""
    moved = await conn.execute(
        update(identities)
        .where(identities.c.channel == CHANNEL, identities.c.external_id == old)
        .values(external_id=new, chat_id=new)
    )
    await conn.execute(update(identities).where(identities.c.channel == CHANNEL,
                                                identities.c.chat_id == old).values(chat_id=new))
    convo = await conn.execute(
        update(conversations)
        .where(conversations.c.channel == CHANNEL, conversations.c.user_id == old)
        .values(user_id=new)
    )
    role = await conn.execute(
        update(staff).where(staff.c.channel == CHANNEL, staff.c.external_id == old)
        .values(external_id=new)
    )
    await conn.execute(update(windows).where(windows.c.chat_id == old).values(chat_id=new))
    return bool(moved.rowcount or convo.rowcount or role.rowcount)


async def record_receipt(
    conn: Conn, outbox_id: int, message_id: str, status: str, now: datetime,
    error_code: int | None = None, error_title: str | None = None,
) -> None:
    """Keep the furthest state reached by the row's message (a new message of the row, sent
    again as a template say, starts over)."""
    values = {"platform_message_id": message_id, "status": status, "error_code": error_code,
              "error_title": error_title, "updated_at": now}
    if await insert_ignore(conn, receipts, {"outbox_id": outbox_id, **values}):
        return
    stmt = select(receipts.c.status, receipts.c.platform_message_id).where(
        receipts.c.outbox_id == outbox_id
    )
    current, current_id = (await conn.execute(stmt)).one()
    if current_id != message_id or _RANK.get(status, 0) >= _RANK.get(str(current), 0):
        await conn.execute(update(receipts).where(receipts.c.outbox_id == outbox_id).values(**values))


async def receipt_of(conn: Conn, outbox_id: int) -> tuple[str, int | None] | None:
    stmt = select(receipts.c.status, receipts.c.error_code).where(receipts.c.outbox_id == outbox_id)
    row = (await conn.execute(stmt)).first()
    return (str(row[0]), row[1]) if row else None
