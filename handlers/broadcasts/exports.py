"""Spreadsheets for staff: the deliveries of a broadcast as CSV or XLSX.

Used by ``hirfa export deliveries --broadcast ID`` and by the "deliveries" button under a
broadcast report. Times are shown in the chamber's zone (the column header says which). The file
itself is written by :mod:`bot.spreadsheets` (formula-safe).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from storage import artisans
from storage import broadcasts as repo
from storage.database import Conn

DELIVERY_HEADERS = (
    "artisan_id", "name", "phone", "region", "craft", "language", "channel", "chat_id", "status",
    "attempts", "last_error", "queued_at", "sent_at",
)

_NOBODY = artisans.Contact("", "", "", "")


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


async def delivery_table(
    conn: Conn, broadcast_id: int, zone: ZoneInfo
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: one row per recipient of the broadcast, in the order they were queued."""
    rows = await repo.deliveries(conn, broadcast_id)
    ids = [r["artisan_id"] for r in rows if r["artisan_id"] is not None]
    people = await artisans.contacts(conn, ids)
    header = [h if not h.endswith("_at") else f"{h} ({zone.key})" for h in DELIVERY_HEADERS]
    table: list[list[Any]] = []
    for r in rows:
        person = people.get(r["artisan_id"], _NOBODY)  # erased or unknown: empty cells
        payload = r["payload"] or {}
        table.append([
            r["artisan_id"], person.full_name, person.phone, person.region, person.craft,
            payload.get("locale", ""),
            r["channel"], r["chat_id"], r["status"], r["attempts"], r["last_error"] or "",
            _local(r["created_at"], zone), _local(r["sent_at"], zone),
        ])
    return header, table
