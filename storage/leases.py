"""Leases: one process at a time holds a named role (the clock) for a deployment.

A lease is a row ``(name, holder, expires_at)``. The holder renews it well before it expires;
another process takes it only once it has expired, so when the holder dies (SIGKILL, a lost
machine) its role moves to a live process within one lease period. Both operations are one
conditional statement, so two processes racing for an expired lease cannot both win, on SQLite
(writers serialised) as on PostgreSQL (the row lock makes the second ``UPDATE`` re-check its
``WHERE`` against the first one's committed row).

Times come from the application's clock, so processes on several machines need their clocks in
sync (NTP) to within a small part of the lease period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, String, Table, case, delete, literal, or_, select, update

from storage.database import Conn
from storage.schema import metadata
from storage.sql import insert_ignore
from storage.types import UTCDateTime

leases = Table(
    "leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    expires_at: datetime
    acquired_at: datetime


async def claim(conn: Conn, name: str, holder: str, now: datetime, period: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + period``.

    True when ``holder`` holds it afterwards: it already did (renewed), or the lease was free
    or expired (taken). False while another holder's lease runs.
    """
    renewed = await conn.execute(
        update(leases)
        .where(leases.c.name == name, or_(leases.c.holder == holder, leases.c.expires_at <= now))
        .values(
            holder=holder, expires_at=now + period,
            # a new holder records when it took over; a renewal keeps that time
            acquired_at=case((leases.c.holder == holder, leases.c.acquired_at),
                             else_=literal(now, UTCDateTime())),
        )
    )
    if renewed.rowcount:
        return True
    return await insert_ignore(
        conn, leases, {"name": name, "holder": holder, "expires_at": now + period, "acquired_at": now}
    )


async def release(conn: Conn, name: str, holder: str, until: datetime | None = None) -> None:
    """Give the lease up (a clean stop), so another process takes over at once, or from
    ``until`` (a short quiet moment after the last use of the role)."""
    mine = (leases.c.name == name, leases.c.holder == holder)
    if until is None:
        await conn.execute(delete(leases).where(*mine))
    else:
        await conn.execute(update(leases).where(*mine).values(expires_at=until))


async def get(conn: Conn, name: str) -> Lease | None:
    row = (await conn.execute(select(leases).where(leases.c.name == name))).mappings().first()
    return Lease(**row) if row else None
