"""Certification applications, their stage history and wrong linking attempts (repository).

Plain async functions on the caller's connection; they never commit. Who may see or change an
application is decided by ``handlers.certification``, not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import RowMapping

from storage.certification_schema import (
    certification_history,
    certification_link_attempts,
    certifications,
)
from storage.database import Conn

LINK_PHONE = "phone"
LINK_CNIE = "cnie"


@dataclass(frozen=True)
class Application:
    """One application (dossier) of the chamber's register."""

    id: int
    number: str
    cnie: str
    phone: str | None
    full_name: str
    craft: str | None
    stage: str
    stage_date: date | None
    note: str | None
    summons_at: datetime | None
    summons_place: str | None
    artisan_id: int | None
    link_method: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Application:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class HistoryEntry:
    """A stage an application reached: when, with which note, recorded by whom."""

    id: int
    certification_id: int
    stage: str
    stage_date: date | None
    at: datetime
    note: str | None
    summons_at: datetime | None
    summons_place: str | None
    author: str
    source: str

    @classmethod
    def from_row(cls, row: RowMapping) -> HistoryEntry:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


async def get(conn: Conn, application_id: int) -> Application | None:
    stmt = select(certifications).where(certifications.c.id == application_id)
    row = (await conn.execute(stmt)).mappings().first()
    return Application.from_row(row) if row else None


async def by_number(conn: Conn, number: str) -> Application | None:
    stmt = select(certifications).where(certifications.c.number == number)
    row = (await conn.execute(stmt)).mappings().first()
    return Application.from_row(row) if row else None


async def by_numbers(conn: Conn, numbers: Iterable[str]) -> dict[str, Application]:
    wanted = list(set(numbers))
    found: dict[str, Application] = {}
    for start in range(0, len(wanted), 500):
        stmt = select(certifications).where(certifications.c.number.in_(wanted[start:start + 500]))
        for row in (await conn.execute(stmt)).mappings():
            application = Application.from_row(row)
            found[application.number] = application
    return found


async def search(
    conn: Conn, *, number: str | None = None, cnie: str | None = None,
    phone: str | None = None, limit: int = 20,
) -> list[Application]:
    """Applications whose number, CNIE or phone is exactly one of those given."""
    conditions = []
    if number:
        conditions.append(certifications.c.number == number)
    if cnie:
        conditions.append(certifications.c.cnie == cnie)
    if phone:
        conditions.append(certifications.c.phone == phone)
    if not conditions:
        return []
    stmt = select(certifications).where(or_(*conditions)).order_by(certifications.c.number).limit(limit)
    return [Application.from_row(r) for r in (await conn.execute(stmt)).mappings()]


async def of_artisan(conn: Conn, artisan_id: int) -> list[Application]:
    stmt = (
        select(certifications)
        .where(certifications.c.artisan_id == artisan_id)
        .order_by(certifications.c.created_at, certifications.c.id)
    )
    return [Application.from_row(r) for r in (await conn.execute(stmt)).mappings()]


async def with_phone(conn: Conn, phone: str) -> list[Application]:
    stmt = select(certifications).where(certifications.c.phone == phone).order_by(certifications.c.id)
    return [Application.from_row(r) for r in (await conn.execute(stmt)).mappings()]


async def create(conn: Conn, now: datetime, **fields: Any) -> int:
    values = {"created_at": now, "updated_at": now}
    values.update(fields)
    result = await conn.execute(certifications.insert().values(**values))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


async def update_fields(
    conn: Conn, application_id: int, now: datetime, **fields: Any
) -> None:
    await conn.execute(
        update(certifications)
        .where(certifications.c.id == application_id)
        .values(updated_at=now, **fields)
    )


async def link(
    conn: Conn, application_id: int, artisan_id: int, method: str,
    *, replacing: int | None = None,
) -> bool:
    """Link an application to an artisan if it is still unlinked (or still linked to
    ``replacing``, e.g. an erased profile); False if someone else got there first."""
    current = certifications.c.artisan_id
    allowed = current.is_(None) if replacing is None else or_(current.is_(None), current == replacing)
    result = await conn.execute(
        update(certifications)
        .where(and_(certifications.c.id == application_id, allowed))
        .values(artisan_id=artisan_id, link_method=method)
    )
    return bool(result.rowcount)


async def unlink(conn: Conn, application_id: int) -> None:
    await conn.execute(
        update(certifications)
        .where(certifications.c.id == application_id)
        .values(artisan_id=None, link_method=None)
    )


async def add_history(conn: Conn, application_id: int, **fields: Any) -> int:
    result = await conn.execute(
        certification_history.insert().values(certification_id=application_id, **fields)
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


async def history(conn: Conn, application_id: int) -> list[HistoryEntry]:
    """Every stage of an application, oldest first."""
    stmt = (
        select(certification_history)
        .where(certification_history.c.certification_id == application_id)
        .order_by(certification_history.c.id)
    )
    return [HistoryEntry.from_row(r) for r in (await conn.execute(stmt)).mappings()]


# -- wrong "number + CNIE" guesses ------------------------------------------------------------

async def wrong_attempts_since(
    conn: Conn, channel: str, user_id: str, since: datetime
) -> list[datetime]:
    """When this user guessed wrong since ``since``, oldest first."""
    stmt = (
        select(certification_link_attempts.c.at)
        .where(
            certification_link_attempts.c.channel == channel,
            certification_link_attempts.c.user_id == user_id,
            certification_link_attempts.c.at > since,
        )
        .order_by(certification_link_attempts.c.at)
    )
    return [r[0] for r in await conn.execute(stmt)]


async def add_wrong_attempt(conn: Conn, channel: str, user_id: str, at: datetime) -> None:
    await conn.execute(
        certification_link_attempts.insert().values(channel=channel, user_id=user_id, at=at)
    )


async def prune_attempts(conn: Conn, before: datetime) -> int:
    result = await conn.execute(
        delete(certification_link_attempts).where(certification_link_attempts.c.at <= before)
    )
    return int(result.rowcount or 0)
