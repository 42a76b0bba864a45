"""Numbers for staff: registrations by region, craft and week; sessions; broadcast deliveries.

Counts are of artisans who have not erased their data. Weeks start on Monday in the chamber's
zone. The sessions section reads the sessions feature's tables and is ``None`` when they do not
exist (yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from storage import broadcasts as broadcast_repo
from storage.audience import enrolments_table, has_table, sessions_table
from storage.broadcasts import BroadcastStatus
from storage.database import Conn
from storage.schema import artisans

WEEKS = 12
ENROLMENT_STATUSES = ("enrolled", "waitlisted", "cancelled", "attended", "no_show")


@dataclass(frozen=True)
class SessionStats:
    id: int
    title: dict[str, str]
    starts_at: datetime | None
    counts: dict[str, int]

    @property
    def enrolled(self) -> int:
        """Seats taken: enrolled now, or enrolled and then marked attended / no-show."""
        return sum(self.counts.get(s, 0) for s in ("enrolled", "attended", "no_show"))

    @property
    def attendance(self) -> float | None:
        marked = self.counts.get("attended", 0) + self.counts.get("no_show", 0)
        return self.counts.get("attended", 0) / marked if marked else None


@dataclass(frozen=True)
class BroadcastStats:
    id: int
    created_at: datetime
    status: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float | None:
        """Share of the recipients the message reached."""
        return self.counts.get("sent", 0) / self.total if self.total else None


@dataclass
class Stats:
    total: int = 0
    by_region: list[tuple[str | None, int]] = field(default_factory=list)
    by_craft: list[tuple[str | None, int]] = field(default_factory=list)
    by_week: list[tuple[date, int]] = field(default_factory=list)
    sessions: list[SessionStats] | None = None
    broadcasts: list[BroadcastStats] = field(default_factory=list)


async def _grouped(conn: Conn, column: Any) -> list[tuple[str | None, int]]:
    stmt = (
        select(column, func.count())
        .where(artisans.c.erased_at.is_(None))
        .group_by(column)
        .order_by(func.count().desc(), column.nulls_last())  # the same on SQLite and PostgreSQL
    )
    return [(r[0], int(r[1])) for r in await conn.execute(stmt)]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def collect(conn: Conn, now: datetime, zone: ZoneInfo, *, sessions: int = 8,
                  broadcasts: int = 8) -> Stats:
    stats = Stats()
    stats.by_region = await _grouped(conn, artisans.c.region)
    stats.by_craft = await _grouped(conn, artisans.c.craft)
    stats.total = sum(n for _, n in stats.by_region)
    this_week = week_start(now.astimezone(zone).date())
    first = this_week - timedelta(weeks=WEEKS - 1)
    starts = [first + timedelta(weeks=i) for i in range(WEEKS)]
    # Each week's end as a UTC instant (local midnight, so DST and the zone are respected); the
    # database counts the rows of each week (no row is loaded).
    ends = [datetime.combine(day + timedelta(weeks=1), datetime.min.time(), zone) for day in starts]
    week = case(*((artisans.c.created_at < end, i) for i, end in enumerate(ends)), else_=None)
    stmt = (select(week, func.count())
            .where(artisans.c.erased_at.is_(None),
                   artisans.c.created_at >= datetime.combine(first, datetime.min.time(), zone))
            .group_by(week))
    weeks = {int(i): int(n) for i, n in await conn.execute(stmt) if i is not None}
    stats.by_week = [(day, weeks.get(i, 0)) for i, day in enumerate(starts)]
    if await has_table(conn, "sessions") and await has_table(conn, "enrolments"):
        stats.sessions = await _sessions(conn, sessions)
    listed = await broadcast_repo.listed(
        conn, (BroadcastStatus.SENDING, BroadcastStatus.DONE, BroadcastStatus.STOPPED), limit=broadcasts
    )
    for b in listed:
        counts = await broadcast_repo.delivery_counts(conn, b.id)
        stats.broadcasts.append(BroadcastStats(b.id, b.started_at or b.created_at, b.status, counts))
    return stats


async def _sessions(conn: Conn, limit: int) -> list[SessionStats]:
    s, e = sessions_table, enrolments_table
    rows = list(await conn.execute(
        select(s.c.id, s.c.title, s.c.starts_at).order_by(s.c.starts_at.desc()).limit(limit)
    ))
    ids = [int(r[0]) for r in rows]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        stmt = select(e.c.session_id, e.c.status, func.count()).where(e.c.session_id.in_(ids)).group_by(
            e.c.session_id, e.c.status)
        for session_id, status, n in await conn.execute(stmt):
            counts[int(session_id)][str(status)] = int(n)
    out = []
    for row in reversed(rows):
        title = row[1]
        titles = ({str(k): str(v) for k, v in title.items()} if isinstance(title, dict)
                  else {"": str(title or "")})
        out.append(SessionStats(int(row[0]), titles, row[2], counts[int(row[0])]))
    return out
