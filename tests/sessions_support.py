"""Helpers for the training-session tests: sessions written straight to the database (when the
test is about something else than creating them), and reading rows back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bot.timezones import load_zone
from handlers.sessions.parsing import local_to_utc
from storage import sessions as session_repo
from storage.schema import outbox
from storage.sessions_schema import enrolments, sessions
from tests.harness import Harness

CASABLANCA = load_zone("Africa/Casablanca")
TITLES = {"ar": "تقنيات الزليج", "fr": "Techniques du zellige", "en": "Zellige techniques"}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Casablanca wall-clock time as UTC."""
    return local_to_utc(day, time(hour, minute), CASABLANCA)


async def make_session(
    h: Harness,
    *,
    starts_at: datetime | None = None,
    capacity: int = 2,
    minutes: int = 120,
    title: dict[str, str] | None = None,
    craft: str | None = "zellige",
    region: str | None = "MS",
    venue: str = "Dar Al Maâlem, Marrakech",
    location: tuple[float, float] | None = None,
    ext_ref: str | None = None,
) -> int:
    now = h.clock.now()
    start = starts_at or now + timedelta(days=7)
    async with h.app.db.transaction() as conn:
        return await session_repo.create(
            conn, now, title=title or dict(TITLES), description={"fr": "Atelier pratique"},
            craft=craft, region=region, venue=venue,
            latitude=location[0] if location else None, longitude=location[1] if location else None,
            starts_at=start, ends_at=start + timedelta(minutes=minutes), capacity=capacity,
            created_by="test", ext_ref=ext_ref,
        )


async def session_row(h: Harness, session_id: int) -> dict[str, Any]:
    async with h.app.db.read() as conn:
        row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).mappings().one()
    return dict(row)


async def all_sessions(h: Harness) -> list[dict[str, Any]]:
    async with h.app.db.read() as conn:
        return [dict(r) for r in (await conn.execute(select(sessions).order_by(sessions.c.id))).mappings()]


async def statuses(h: Harness, session_id: int) -> dict[int, str]:
    """artisan_id → enrolment status."""
    async with h.app.db.read() as conn:
        rows = await conn.execute(
            select(enrolments.c.artisan_id, enrolments.c.status).where(enrolments.c.session_id == session_id)
        )
        return {int(a): str(s) for a, s in rows}


async def outbox_keys(h: Harness, prefix: str = "") -> list[str]:
    async with h.app.db.read() as conn:
        rows = await conn.execute(select(outbox.c.idem_key).order_by(outbox.c.id))
        return [str(k) for (k,) in rows if str(k).startswith(prefix)]


async def outbox_rows(h: Harness, prefix: str = "") -> list[dict[str, Any]]:
    async with h.app.db.read() as conn:
        rows = (await conn.execute(select(outbox).order_by(outbox.c.id))).mappings()
        return [dict(r) for r in rows if str(r["idem_key"]).startswith(prefix)]


async def artisan_id(h: Harness, user: int) -> int:
    from storage import artisans as artisan_repo

    async with h.app.db.read() as conn:
        artisan = await artisan_repo.by_identity(conn, "telegram", str(user))
    assert artisan is not None
    return artisan.id


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]
