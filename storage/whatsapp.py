"""What the WhatsApp channel keeps: delivery receipts, sent parts, and the 24-hour window.

- ``whatsapp_receipts``: WhatsApp reports each message's fate later, in status callbacks
  (``sent`` → ``delivered`` → ``read``, or ``failed`` with an error code), naming it by the
  ``wamid`` the send returned. :func:`record_receipt` keeps the latest state per outbox row; what
  a failure does to the row itself (retry, template) is decided by the channel and written with
  :func:`reschedule` / :func:`settle`.
- ``whatsapp_parts``: one outbox message may take several Cloud API messages (a document, then
  the text with its buttons). Each part Meta accepted is written down at once
  (:func:`record_part`), so a retry after a later part failed sends only what is missing.
- ``whatsapp_windows``: when each chat last wrote to us, artisan or not (staff who never
  registered write too), which opens the 24-hour customer-service window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, delete, select, update

from storage.database import Conn
from storage.schema import conversations, identities, metadata, outbox, staff
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


@dataclass(frozen=True)
class OutboxRow:
    id: int
    status: str
    chat_id: str
    artisan_id: int | None
    payload: dict[str, Any]
    attempts: int = 0
    part: int | None = None  # which part of the row the message was, if known


async def last_inbound(conn: Conn, chat_id: str) -> datetime | None:
    """When this WhatsApp chat last wrote to us: whoever wrote (:func:`touch_window`), and the
    identity of an artisan (kept by the engine, also from before the window table existed)."""
    found: list[datetime] = []
    stmt = select(windows.c.last_inbound_at).where(windows.c.chat_id == chat_id)
    found += [v for v in (await conn.execute(stmt)).scalars() if v is not None]
    stmt = select(identities.c.last_inbound_at).where(
        identities.c.channel == CHANNEL, identities.c.chat_id == chat_id
    )
    found += [v for v in (await conn.execute(stmt)).scalars() if v is not None]
    return max(found) if found else None


async def touch_window(conn: Conn, chat_id: str, now: datetime) -> None:
    """``chat_id`` wrote to us at ``now``: its 24-hour window is open."""
    if not await insert_ignore(conn, windows, {"chat_id": chat_id, "last_inbound_at": now}):
        await conn.execute(update(windows).where(windows.c.chat_id == chat_id,
                                                 windows.c.last_inbound_at < now)
                           .values(last_inbound_at=now))


_ROW = (outbox.c.id, outbox.c.status, outbox.c.chat_id, outbox.c.artisan_id, outbox.c.payload,
        outbox.c.attempts)


async def row_by_message_id(conn: Conn, message_id: str) -> OutboxRow | None:
    """The outbox row that sent ``message_id`` (any of its parts; ``part`` says which, for a
    message of several)."""
    stmt = select(*_ROW, parts.c.part).join(parts, parts.c.outbox_id == outbox.c.id).where(
        outbox.c.channel == CHANNEL, parts.c.platform_message_id == message_id)
    row = (await conn.execute(stmt)).first()
    part = int(row.part) if row is not None else None
    if row is None:
        stmt = select(*_ROW).where(outbox.c.channel == CHANNEL,
                                   outbox.c.platform_message_id == message_id)
        row = (await conn.execute(stmt)).first()
        if row is None:
            return None
    return OutboxRow(row.id, row.status, row.chat_id, row.artisan_id, dict(row.payload or {}),
                     int(row.attempts or 0), part)


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
    follow them to ``new``. False when nothing was known under ``old``."""
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
    await conn.execute(
        update(outbox).where(outbox.c.channel == CHANNEL, outbox.c.chat_id == old,
                             outbox.c.status == "pending").values(chat_id=new)
    )
    return bool(moved.rowcount or convo.rowcount or role.rowcount)


async def record_receipt(
    conn: Conn, row: OutboxRow, message_id: str, status: str, now: datetime,
    error_code: int | None = None, error_title: str | None = None,
) -> None:
    """Keep the furthest state reached by the row's message (a new message of the row, sent
    again as a template say, starts over)."""
    values = {"platform_message_id": message_id, "status": status, "error_code": error_code,
              "error_title": error_title, "updated_at": now}
    if await insert_ignore(conn, receipts, {"outbox_id": row.id, **values}):
        return
    stmt = select(receipts.c.status, receipts.c.platform_message_id).where(
        receipts.c.outbox_id == row.id
    )
    current, current_id = (await conn.execute(stmt)).one()
    if current_id != message_id or _RANK.get(status, 0) >= _RANK.get(str(current), 0):
        await conn.execute(update(receipts).where(receipts.c.outbox_id == row.id).values(**values))


async def receipt_of(conn: Conn, outbox_id: int) -> tuple[str, int | None] | None:
    stmt = select(receipts.c.status, receipts.c.error_code).where(receipts.c.outbox_id == outbox_id)
    row = (await conn.execute(stmt)).first()
    return (str(row[0]), row[1]) if row else None


async def reschedule(
    conn: Conn, row: OutboxRow, when: datetime, reason: str, *,
    payload: dict[str, Any] | None = None, attempts: int | None = None,
) -> None:
    """Send the row again at ``when`` (after a rate limit, or as a template)."""
    values: dict[str, Any] = {"status": "pending", "next_attempt_at": when, "last_error": reason[:500]}
    if payload is not None:
        values["payload"] = payload
    if attempts is not None:
        values["attempts"] = attempts
    await conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))


async def settle(conn: Conn, row: OutboxRow, status: str, reason: str) -> None:
    """A final outcome reported after the send: ``failed`` or ``blocked`` with the reason."""
    await conn.execute(
        update(outbox).where(outbox.c.id == row.id).values(status=status, last_error=reason[:500])
    )
