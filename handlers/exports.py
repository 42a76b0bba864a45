"""Spreadsheets for staff: the deliveries of a broadcast as CSV or XLSX.

Used by ``hirfa export deliveries --broadcast ID`` and by the "deliveries" button under a
broadcast report. Times are shown in the chamber's zone (the column header says which). The file
itself is written by :mod:`bot.spreadsheets` (formula-safe).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage import broadcasts as repo
from storage.database import Conn
from storage.schema import artisans

DELIVERY_HEADERS = (
    "artisan_id", "name", "phone", "region", "craft", "language", "channel", "chat_id", "status",
    "attempts", "last_error", "queued_at", "sent_at",
)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


async def delivery_table(
    conn: Conn, broadcast_id: int, zone: ZoneInfo
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: one row per recipient of the broadcast, in the order they were queued."""
    rows = await repo.deliveries(conn, broadcast_id)
    ids = [r["artisan_id"] for r in rows if r["artisan_id"] is not None]
    people: dict[int, Any] = {}
    for start in range(0, len(ids), 500):
        stmt = select(artisans.c.id, artisans.c.full_name, artisans.c.phone, artisans.c.region,
                      artisans.c.craft).where(artisans.c.id.in_(ids[start:start + 500]))
        people.update({int(r[0]): r for r in await conn.execute(stmt)})
    header = [h if not h.endswith("_at") else f"{h} ({zone.key})" for h in DELIVERY_HEADERS]
    table: list[list[Any]] = []
    for r in rows:
        person = people.get(r["artisan_id"]) if r["artisan_id"] is not None else None
        payload = r["payload"] or {}
        table.append([
            r["artisan_id"], person[1] if person else "", person[2] if person else "",
            person[3] if person else "", person[4] if person else "", payload.get("locale", ""),
            r["channel"], r["chat_id"], r["status"], r["attempts"], r["last_error"] or "",
            _local(r["created_at"], zone), _local(r["sent_at"], zone),
        ])
    return header, table
