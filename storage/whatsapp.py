"""What the WhatsApp channel keeps: delivery receipts of outbox rows, and the 24-hour window.

WhatsApp reports each message's fate later, in status callbacks (``sent`` → ``delivered`` →
``read``, or ``failed`` with an error code), naming it by the ``wamid`` the send returned, which
the outbox stored as ``platform_message_id``. :func:`record_receipt` keeps the latest state per
outbox row in ``whatsapp_receipts``; what a failure does to the row itself (retry, template,
unreachable) is decided by the channel and written with :func:`reschedule` / :func:`settle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, select, update

from storage.database import Conn
from storage.schema import identities, metadata, outbox
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

# Callbacks may arrive out of order; a later state never goes back to an earlier one.
_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


@dataclass(frozen=True)
class OutboxRow:
    id: int
    status: str
    chat_id: str
    artisan_id: int | None
    payload: dict[str, Any]


async def last_inbound(conn: Conn, chat_id: str) -> datetime | None:
    """When this WhatsApp chat last wrote to us (kept on its identity by the engine)."""
    stmt = select(identities.c.last_inbound_at).where(
        identities.c.channel == CHANNEL, identities.c.chat_id == chat_id
    )
    values = [v for v in (await conn.execute(stmt)).scalars() if v is not None]
    return max(values) if values else None


async def row_by_message_id(conn: Conn, message_id: str) -> OutboxRow | None:
    stmt = select(
        outbox.c.id, outbox.c.status, outbox.c.chat_id, outbox.c.artisan_id, outbox.c.payload
    ).where(outbox.c.channel == CHANNEL, outbox.c.platform_message_id == message_id)
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    return OutboxRow(row.id, row.status, row.chat_id, row.artisan_id, dict(row.payload or {}))


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
    payload: dict[str, Any] | None = None,
) -> None:
    """Send the row again at ``when`` (after a rate limit, or as a template)."""
    values: dict[str, Any] = {"status": "pending", "next_attempt_at": when, "last_error": reason[:500]}
    if payload is not None:
        values["payload"] = payload
    await conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))


async def settle(conn: Conn, row: OutboxRow, status: str, reason: str) -> None:
    """A final outcome reported after the send: ``failed`` or ``blocked`` with the reason."""
    await conn.execute(
        update(outbox).where(outbox.c.id == row.id).values(status=status, last_error=reason[:500])
    )
