"""Training sessions: create, change, find, list (repository; the caller owns the transaction).

A session's title and description are ``{lang: text}``; :func:`pick_text` chooses the reader's
language or falls back. Listing functions return :class:`Listed` rows that carry the seat counts
computed in the same query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, case, func, or_, select, update
from sqlalchemy.engine import RowMapping

from storage.database import Conn
from storage.sessions_schema import SEATED, EnrolmentStatus, enrolments, sessions
from storage.sessions_schema import SessionStatus as SessionStatus

LANG_ORDER = ("ar", "fr", "en")
# Sessions are written in ar/fr/en; a Darija reader reads the Arabic text first.
_NEAREST = {"ary": "ar"}


@dataclass(frozen=True)
class Session:
    id: int
    ext_ref: str | None
    title: dict[str, str]
    description: dict[str, str]
    craft: str | None
    region: str | None
    venue: str
    latitude: float | None
    longitude: float | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    status: str
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Session:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["title"] = dict(values["title"] or {})
        values["description"] = dict(values["description"] or {})
        return cls(**values)

    @property
    def location(self) -> tuple[float, float] | None:
        if self.latitude is None or self.longitude is None:
            return None
        return (self.latitude, self.longitude)

    def is_open(self, now: datetime) -> bool:
        """Scheduled and not started yet: enrolment, cancelling and reminders apply."""
        return self.status == SessionStatus.SCHEDULED and self.starts_at > now


@dataclass(frozen=True)
class Listed:
    """A session with its seat counts (seats taken, wait-list length)."""

    session: Session
    seated: int
    waiting: int

    @property
    def seats_left(self) -> int:
        return max(0, self.session.capacity - self.seated)


def pick_text(texts: Mapping[str, str], lang: str, default: str) -> tuple[str, str]:
    """The text in ``lang`` (or its nearest written language: Darija → Arabic), else in
    ``default``, else the first one; and the language used."""
    for code in (lang, _NEAREST.get(lang, lang), default, *LANG_ORDER, *sorted(texts)):
        value = texts.get(code)
        if value:
            return value, code
    return "", lang


def _seated() -> Any:
    return (
        select(func.count())
        .where(enrolments.c.session_id == sessions.c.id, enrolments.c.status.in_(SEATED))
        .scalar_subquery()
    )


def _waiting() -> Any:
    return (
        select(func.count())
        .where(enrolments.c.session_id == sessions.c.id, enrolments.c.status == EnrolmentStatus.WAITLISTED)
        .scalar_subquery()
    )


def _listed_query() -> Select[Any]:
    return select(sessions, _seated().label("seated"), _waiting().label("waiting"))


def _listed(row: RowMapping) -> Listed:
    return Listed(Session.from_row(row), int(row["seated"]), int(row["waiting"]))


async def get(conn: Conn, session_id: int, *, lock: bool = False) -> Session | None:
    """The session, or None. ``lock=True`` takes the row lock (``FOR UPDATE`` on PostgreSQL;
    SQLite transactions are already ``BEGIN IMMEDIATE``) before counting seats."""
    stmt = select(sessions).where(sessions.c.id == session_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).mappings().first()
    return Session.from_row(row) if row else None


async def get_listed(conn: Conn, session_id: int) -> Listed | None:
    row = (await conn.execute(_listed_query().where(sessions.c.id == session_id))).mappings().first()
    return _listed(row) if row else None


async def by_ext_ref(conn: Conn, ext_ref: str) -> Session | None:
    row = (await conn.execute(select(sessions).where(sessions.c.ext_ref == ext_ref))).mappings().first()
    return Session.from_row(row) if row else None


async def create(conn: Conn, now: datetime, **fields: Any) -> int:
    values: dict[str, Any] = {"status": SessionStatus.SCHEDULED, "version": 1, "created_at": now,
                              "updated_at": now, "description": {}}
    values.update(fields)
    result = await conn.execute(sessions.insert().values(**values))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


async def update_fields(conn: Conn, session_id: int, now: datetime, **fields: Any) -> None:
    """Change details that are not the time (use :func:`reschedule` for that)."""
    await conn.execute(
        update(sessions).where(sessions.c.id == session_id).values(updated_at=now, **fields)
    )


async def reschedule(
    conn: Conn, session_id: int, starts_at: datetime, ends_at: datetime, now: datetime
) -> int | None:
    """Move a scheduled session and bump its version; return the new version (None if it is
    not scheduled any more)."""
    result = await conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.status == SessionStatus.SCHEDULED)
        .values(starts_at=starts_at, ends_at=ends_at, version=sessions.c.version + 1, updated_at=now)
    )
    if not result.rowcount:
        return None
    session = await get(conn, session_id)
    return session.version if session else None


async def cancel(conn: Conn, session_id: int, now: datetime) -> bool:
    """Cancel a scheduled session; False if it was not scheduled."""
    result = await conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.status == SessionStatus.SCHEDULED)
        .values(status=SessionStatus.CANCELLED, updated_at=now)
    )
    return bool(result.rowcount)


async def any_ended(conn: Conn, now: datetime) -> bool:
    """Is some session still ``scheduled`` although it has ended? (a cheap indexed read)"""
    stmt = (select(sessions.c.id)
            .where(sessions.c.status == SessionStatus.SCHEDULED, sessions.c.ends_at <= now).limit(1))
    return (await conn.execute(stmt)).first() is not None


async def finish_past(conn: Conn, now: datetime) -> int:
    """Mark scheduled sessions that have ended as ``done``; return how many."""
    result = await conn.execute(
        update(sessions)
        .where(sessions.c.status == SessionStatus.SCHEDULED, sessions.c.ends_at <= now)
        .values(status=SessionStatus.DONE, updated_at=now)
    )
    return int(result.rowcount or 0)


@lru_cache(maxsize=1)
def _upcoming_statement() -> Select[Any]:
    """Built once (the artisan's list is the busiest query of the bot); values are parameters."""
    def score(column: Any, name: str) -> Any:
        return case((column == bindparam(name), 2), (column.is_(None), 1), else_=0)

    relevance = score(sessions.c.craft, "craft") + score(sessions.c.region, "region")
    return (
        _listed_query()
        .where(sessions.c.status == SessionStatus.SCHEDULED, sessions.c.starts_at > bindparam("now"))
        .order_by(relevance.desc(), sessions.c.starts_at, sessions.c.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@lru_cache(maxsize=1)
def _count_upcoming_statement() -> Select[int]:
    return select(func.count()).select_from(sessions).where(
        sessions.c.status == SessionStatus.SCHEDULED, sessions.c.starts_at > bindparam("now")
    )


async def upcoming(
    conn: Conn,
    now: datetime,
    *,
    craft: str | None,
    region: str | None,
    limit: int,
    offset: int = 0,
) -> list[Listed]:
    """Scheduled sessions not started yet: those for the artisan's craft and region first
    (then those open to every craft/region, then the others), soonest first within each."""
    params = {"now": now, "craft": craft, "region": region, "limit": limit, "offset": offset}
    return [_listed(r) for r in (await conn.execute(_upcoming_statement(), params)).mappings()]


async def count_upcoming(conn: Conn, now: datetime) -> int:
    return int((await conn.execute(_count_upcoming_statement(), {"now": now})).scalar_one())


async def for_staff(
    conn: Conn, since: datetime, *, limit: int, offset: int = 0
) -> tuple[list[Listed], int]:
    """Every session ending after ``since`` (any status), by start time; and the total."""
    where = or_(sessions.c.ends_at >= since, sessions.c.starts_at >= since)
    stmt = (
        _listed_query().where(where).order_by(sessions.c.starts_at, sessions.c.id)
        .limit(limit).offset(offset)
    )
    rows = [_listed(r) for r in (await conn.execute(stmt)).mappings()]
    total = int((await conn.execute(select(func.count()).select_from(sessions).where(where))).scalar_one())
    return rows, total


async def starting_between(conn: Conn, start: datetime, end: datetime) -> list[Session]:
    """Scheduled sessions with ``start < starts_at <= end`` (the reminder scan's window)."""
    stmt = (
        select(sessions)
        .where(sessions.c.status == SessionStatus.SCHEDULED, sessions.c.starts_at > start,
               sessions.c.starts_at <= end)
        .order_by(sessions.c.starts_at)
    )
    return [Session.from_row(r) for r in (await conn.execute(stmt)).mappings()]
