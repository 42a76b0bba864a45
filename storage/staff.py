"""Staff members and their roles (``admin`` or ``staff``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from storage.database import Conn
from storage.schema import staff
from storage.sql import insert_ignore

ROLES = ("admin", "staff")


async def role_of(conn: Conn, channel: str, external_id: str) -> str | None:
    stmt = select(staff.c.role).where(staff.c.channel == channel, staff.c.external_id == external_id)
    row = (await conn.execute(stmt)).first()
    return str(row[0]) if row else None


async def grant(
    conn: Conn, channel: str, external_id: str, role: str, now: datetime, by: str
) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    inserted = await insert_ignore(
        conn,
        staff,
        {"channel": channel, "external_id": external_id, "role": role, "added_by": by,
         "created_at": now},
    )
    if not inserted:
        await conn.execute(
            update(staff)
            .where(staff.c.channel == channel, staff.c.external_id == external_id)
            .values(role=role)
        )


async def revoke(conn: Conn, channel: str, external_id: str) -> bool:
    result = await conn.execute(
        delete(staff).where(staff.c.channel == channel, staff.c.external_id == external_id)
    )
    return bool(result.rowcount)


async def members(conn: Conn) -> list[tuple[str, str, str]]:
    rows = await conn.execute(select(staff.c.channel, staff.c.external_id, staff.c.role))
    return [(r[0], r[1], r[2]) for r in rows]
