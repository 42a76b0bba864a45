"""What the WhatsApp channel keeps: delivery receipts of outbox rows.

WhatsApp reports each message's fate later, in status callbacks (``sent`` → ``delivered`` →
``read``, or ``failed`` with an error code), naming it by the ``wamid`` the send returned, which
the outbox stored as ``platform_message_id``. :func:`record_receipt` keeps the latest state per
outbox row in ``whatsapp_receipts``; what a failure does to the row itself is decided by the
sender (``bot/sender.py``) and written by ``storage/outbox.py``. (The 24-hour window is read
with the outbox's claim, from ``identities.last_inbound_at``.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, select, update

from storage.database import Conn
from storage.schema import metadata
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
