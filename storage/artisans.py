"""Artisans and their channel identities (who writes from where)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import RowMapping

from storage.database import Conn
from storage.schema import artisans, identities

PERSONAL_FIELDS = ("full_name", "phone", "cnie", "region", "craft", "craft_other")


@dataclass(frozen=True)
class Artisan:
    id: int
    full_name: str | None
    phone: str | None
    phone_verified: bool
    cnie: str | None
    region: str | None
    craft: str | None
    craft_other: str | None
    locale: str
    time_zone: str | None
    consent_at: datetime | None
    opted_out: bool
    created_at: datetime
    erased_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> Artisan:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Identity:
    id: int
    channel: str
    external_id: str
    artisan_id: int
    chat_id: str
    blocked: bool
    last_inbound_at: datetime | None


async def get(conn: Conn, artisan_id: int) -> Artisan | None:
    row = (await conn.execute(select(artisans).where(artisans.c.id == artisan_id))).mappings().first()
    return Artisan.from_row(row) if row else None


async def by_identity(conn: Conn, channel: str, external_id: str) -> Artisan | None:
    stmt = (
        select(artisans)
        .join(identities, identities.c.artisan_id == artisans.c.id)
        .where(and_(identities.c.channel == channel, identities.c.external_id == external_id))
        .where(artisans.c.erased_at.is_(None))
    )
    row = (await conn.execute(stmt)).mappings().first()
    return Artisan.from_row(row) if row else None


@dataclass(frozen=True)
class Contact:
    """Who an artisan is, for a staff spreadsheet (export of a broadcast's deliveries)."""

    full_name: str | None
    phone: str | None
    region: str | None
    craft: str | None


async def contacts(conn: Conn, artisan_ids: list[int]) -> dict[int, Contact]:
    """Name, phone, region and craft of each artisan in ``artisan_ids`` (absent ids are left out)."""
    found: dict[int, Contact] = {}
    for start in range(0, len(artisan_ids), 500):
        stmt = select(artisans.c.id, artisans.c.full_name, artisans.c.phone, artisans.c.region,
                      artisans.c.craft).where(artisans.c.id.in_(artisan_ids[start:start + 500]))
        for r in await conn.execute(stmt):
            found[int(r.id)] = Contact(r.full_name, r.phone, r.region, r.craft)
    return found


async def by_phone(conn: Conn, phone: str) -> Artisan | None:
    stmt = select(artisans).where(artisans.c.phone == phone, artisans.c.erased_at.is_(None))
    row = (await conn.execute(stmt.order_by(artisans.c.id))).mappings().first()
    return Artisan.from_row(row) if row else None


async def by_verified_phone(conn: Conn, phone: str) -> Artisan | None:
    """The profile that proved it owns ``phone`` (shared contact, WhatsApp number), if any."""
    stmt = select(artisans).where(artisans.c.phone == phone, artisans.c.phone_verified.is_(True),
                                  artisans.c.erased_at.is_(None))
    row = (await conn.execute(stmt.order_by(artisans.c.id))).mappings().first()
    return Artisan.from_row(row) if row else None


async def unverified_holders(conn: Conn, phone: str, *, besides: int) -> list[Artisan]:
    """Profiles other than ``besides`` that typed ``phone`` without proving it is theirs."""
    stmt = select(artisans).where(artisans.c.phone == phone, artisans.c.phone_verified.is_(False),
                                  artisans.c.erased_at.is_(None), artisans.c.id != besides)
    return [Artisan.from_row(r) for r in (await conn.execute(stmt.order_by(artisans.c.id))).mappings()]


async def create(conn: Conn, now: datetime, **fields: Any) -> int:
    values = {"created_at": now, "updated_at": now, "phone_verified": False, "opted_out": False}
    values.update(fields)
    result = await conn.execute(artisans.insert().values(**values))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


async def update_fields(conn: Conn, artisan_id: int, now: datetime, **fields: Any) -> None:
    await conn.execute(
        update(artisans).where(artisans.c.id == artisan_id).values(updated_at=now, **fields)
    )


async def erase(conn: Conn, artisan_id: int, now: datetime) -> None:
    """Wipe personal fields and identities, keep a tombstone row for counts (Law 09-08)."""
    await conn.execute(
        update(artisans)
        .where(artisans.c.id == artisan_id)
        .values(
            erased_at=now,
            updated_at=now,
            opted_out=True,
            phone_verified=False,
            consent_at=None,
            **dict.fromkeys(PERSONAL_FIELDS),
        )
    )
    await conn.execute(delete(identities).where(identities.c.artisan_id == artisan_id))


async def link_identity(
    conn: Conn, artisan_id: int, channel: str, external_id: str, chat_id: str, now: datetime
) -> None:
    existing = (
        await conn.execute(
            select(identities.c.id).where(
                identities.c.channel == channel, identities.c.external_id == external_id
            )
        )
    ).first()
    if existing:
        await conn.execute(
            update(identities)
            .where(identities.c.id == existing[0])
            .values(artisan_id=artisan_id, chat_id=chat_id, blocked=False, blocked_at=None)
        )
        return
    await conn.execute(
        identities.insert().values(
            channel=channel,
            external_id=external_id,
            artisan_id=artisan_id,
            chat_id=chat_id,
            blocked=False,
            last_inbound_at=now,
            created_at=now,
        )
    )


async def touch_identity(conn: Conn, channel: str, external_id: str, now: datetime) -> None:
    """Record an inbound message (opens WhatsApp's 24-hour window; a reply unblocks)."""
    await conn.execute(
        update(identities)
        .where(identities.c.channel == channel, identities.c.external_id == external_id)
        .values(last_inbound_at=now, blocked=False, blocked_at=None)
    )


async def identities_of(conn: Conn, artisan_id: int) -> list[Identity]:
    stmt = (
        select(identities)
        .where(identities.c.artisan_id == artisan_id)
        # NULLS LAST spelled out: SQLite and PostgreSQL disagree on the default.
        .order_by(identities.c.last_inbound_at.desc().nulls_last(), identities.c.id.desc())
    )
    rows = (await conn.execute(stmt)).mappings().all()
    return [
        Identity(
            id=r["id"],
            channel=r["channel"],
            external_id=r["external_id"],
            artisan_id=r["artisan_id"],
            chat_id=r["chat_id"],
            blocked=r["blocked"],
            last_inbound_at=r["last_inbound_at"],
        )
        for r in rows
    ]


async def mark_blocked(conn: Conn, channel: str, chat_id: str, now: datetime) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.channel == channel, identities.c.chat_id == chat_id)
        .values(blocked=True, blocked_at=now)
    )
