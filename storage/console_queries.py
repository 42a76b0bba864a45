"""What the console's pages read: the artisans' search (keyset pages), a profile, the dashboard's
"needs attention", the sessions list. Portable SQLAlchemy Core; every list is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select

from storage import outbox as outbox_repo
from storage.certification_schema import certifications
from storage.certifications import Application
from storage.chamber_schema import QuestionStatus, questions
from storage.database import Conn
from storage.schema import artisans, identities
from storage.sessions_schema import SEATED, EnrolmentStatus, SessionStatus, enrolments, sessions

PAGE = 50
SORTS = ("new", "old", "name")


@dataclass(frozen=True)
class ArtisanFilter:
    """The search form of the artisans' page (every field optional)."""

    q: str = ""
    region: str = ""
    craft: str = ""
    lang: str = ""
    channel: str = ""
    sort: str = "new"

    def conditions(self) -> list[Any]:
        out: list[Any] = [artisans.c.erased_at.is_(None)]
        q = self.q.strip()
        if q:
            like = f"%{q.replace('%', '').replace('_', '')}%"
            digits = "".join(ch for ch in q if ch.isdigit())
            terms = [artisans.c.full_name.ilike(like), artisans.c.cnie == q.upper()]
            if len(digits) >= 4:
                terms.append(artisans.c.phone.like(f"%{digits}%"))
            out.append(or_(*terms))
        if self.region:
            out.append(artisans.c.region == self.region)
        if self.craft:
            out.append(artisans.c.craft == self.craft)
        if self.lang:
            out.append(artisans.c.locale == self.lang)
        if self.channel:
            out.append(
                exists().where(identities.c.artisan_id == artisans.c.id, identities.c.channel == self.channel)
            )
        return out


@dataclass
class ArtisanPage:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    next_after: str | None = None


COLUMNS = (
    artisans.c.id,
    artisans.c.full_name,
    artisans.c.phone,
    artisans.c.cnie,
    artisans.c.region,
    artisans.c.craft,
    artisans.c.locale,
    artisans.c.created_at,
    artisans.c.opted_out,
)


def _ordered(stmt: Select[Any], f: ArtisanFilter, after: str | None) -> Select[Any]:
    """Keyset pagination: ``after`` is the last row of the previous page (``id`` or
    ``name|id``), so page 100 costs what page 1 costs."""
    if f.sort == "name":
        name = func.coalesce(artisans.c.full_name, "")
        if after:
            last_name, _, last_id = after.rpartition("|")
            if last_id.isdigit():
                stmt = stmt.where(
                    or_(name > last_name, and_(name == last_name, artisans.c.id > int(last_id)))
                )
        return stmt.order_by(name, artisans.c.id)
    if f.sort == "old":
        if after and after.isdigit():
            stmt = stmt.where(artisans.c.id > int(after))
        return stmt.order_by(artisans.c.id)
    if after and after.isdigit():
        stmt = stmt.where(artisans.c.id < int(after))
    return stmt.order_by(artisans.c.id.desc())


async def search_artisans(
    conn: Conn, f: ArtisanFilter, after: str | None = None, *, limit: int = PAGE
) -> ArtisanPage:
    where = f.conditions()
    stmt = _ordered(select(*COLUMNS).where(*where), f, after).limit(limit + 1)
    rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
    page = ArtisanPage(rows[:limit])
    page.total = int(
        (await conn.execute(select(func.count()).select_from(artisans).where(*where))).scalar_one()
    )
    await _add_channels(conn, page.rows)
    if len(rows) > limit:
        last = page.rows[-1]
        page.next_after = f"{last['full_name'] or ''}|{last['id']}" if f.sort == "name" else str(last["id"])
    return page


async def all_artisans(conn: Conn, f: ArtisanFilter, *, limit: int = 100_000) -> list[dict[str, Any]]:
    """Every artisan of a selection (for an export), in the page's order."""
    stmt = _ordered(select(*COLUMNS).where(*f.conditions()), f, None).limit(limit)
    rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
    await _add_channels(conn, rows)
    return rows


async def _add_channels(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """The channels of each artisan, one query per 500 rows (never one per artisan)."""
    ids = [r["id"] for r in rows]
    channels: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        stmt = (
            select(identities.c.artisan_id, identities.c.channel)
            .where(identities.c.artisan_id.in_(ids[start : start + 500]))
            .order_by(identities.c.id)
        )
        for artisan_id, channel in await conn.execute(stmt):
            channels.setdefault(int(artisan_id), []).append(str(channel))
    for r in rows:
        r["channels"] = channels.get(r["id"], [])


async def artisan_profile(conn: Conn, artisan_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(artisans).where(artisans.c.id == artisan_id))).mappings().first()
    if row is None:
        return None
    profile: dict[str, Any] = dict(row)
    profile["identities"] = [
        dict(r)
        for r in (
            await conn.execute(
                select(identities.c.channel, identities.c.blocked, identities.c.last_inbound_at).where(
                    identities.c.artisan_id == artisan_id
                )
            )
        ).mappings()
    ]
    profile["enrolments"] = [
        dict(r)
        for r in (
            await conn.execute(
                select(
                    sessions.c.id,
                    sessions.c.title,
                    sessions.c.starts_at,
                    sessions.c.status.label("session_status"),
                    enrolments.c.status,
                    enrolments.c.updated_at,
                )
                .join(enrolments, enrolments.c.session_id == sessions.c.id)
                .where(enrolments.c.artisan_id == artisan_id)
                .order_by(sessions.c.starts_at.desc())
                .limit(100)
            )
        ).mappings()
    ]
    profile["messages"] = await outbox_repo.history_of_artisan(conn, artisan_id, 30)
    return profile


async def staff_sessions(
    conn: Conn, now: datetime, *, past: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    """Sessions with their counts: upcoming (not ended at ``now``, by start) or past (newest
    first). Counts come from one grouped query, not one per session."""
    stmt = select(
        sessions.c.id,
        sessions.c.title,
        sessions.c.starts_at,
        sessions.c.ends_at,
        sessions.c.venue,
        sessions.c.region,
        sessions.c.craft,
        sessions.c.capacity,
        sessions.c.status,
    )
    if not past:
        stmt = stmt.where(sessions.c.ends_at >= now).order_by(sessions.c.starts_at, sessions.c.id)
    else:
        stmt = stmt.where(sessions.c.ends_at < now).order_by(
            sessions.c.starts_at.desc(), sessions.c.id.desc()
        )
    rows = [dict(r) for r in (await conn.execute(stmt.limit(limit))).mappings()]
    counts = await enrolment_counts(conn, [r["id"] for r in rows])
    for r in rows:
        r["counts"] = counts.get(r["id"], {})
    return rows


async def sessions_between(conn: Conn, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Sessions starting in ``[start, end)`` (the calendar's month), by start, with counts."""
    stmt = (
        select(
            sessions.c.id, sessions.c.title, sessions.c.starts_at, sessions.c.ends_at,
            sessions.c.venue, sessions.c.capacity, sessions.c.status,
        )
        .where(sessions.c.starts_at >= start, sessions.c.starts_at < end)
        .order_by(sessions.c.starts_at, sessions.c.id)
    )
    rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
    counts = await enrolment_counts(conn, [r["id"] for r in rows])
    for r in rows:
        r["counts"] = counts.get(r["id"], {})
    return rows


async def enrolment_counts(conn: Conn, session_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start : start + 500]
        stmt = (
            select(enrolments.c.session_id, enrolments.c.status, func.count())
            .where(enrolments.c.session_id.in_(chunk))
            .group_by(enrolments.c.session_id, enrolments.c.status)
        )
        for session_id, status, n in await conn.execute(stmt):
            out.setdefault(int(session_id), {})[str(status)] = int(n)
    return out


async def full_with_waitlist(conn: Conn, now: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Upcoming sessions that people wait for (the dashboard's first "needs attention")."""
    waiting = (
        select(func.count())
        .where(enrolments.c.session_id == sessions.c.id, enrolments.c.status == EnrolmentStatus.WAITLISTED)
        .scalar_subquery()
    )
    stmt = (
        select(
            sessions.c.id,
            sessions.c.title,
            sessions.c.starts_at,
            sessions.c.capacity,
            waiting.label("waiting"),
        )
        .where(sessions.c.status == SessionStatus.SCHEDULED, sessions.c.starts_at > now, waiting > 0)
        .order_by(sessions.c.starts_at)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def failed_deliveries(conn: Conn, since: datetime) -> int:
    return await outbox_repo.failed_since(conn, since)


async def seated_of(conn: Conn, session_id: int) -> list[dict[str, Any]]:
    """Who has a seat (for the attendance list), by name."""
    stmt = (
        select(enrolments.c.id, enrolments.c.status, artisans.c.full_name, artisans.c.phone)
        .join(artisans, artisans.c.id == enrolments.c.artisan_id)
        .where(
            enrolments.c.session_id == session_id, enrolments.c.status.in_(SEATED)
        )
        .order_by(artisans.c.full_name, enrolments.c.id)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def question_counts(conn: Conn, me: str) -> dict[str, int]:
    """The inbox's tabs: open questions, open ones assigned to ``me``, answered ones."""
    stmt = select(
        func.count().filter(questions.c.status == QuestionStatus.OPEN),
        func.count().filter(questions.c.status == QuestionStatus.OPEN, questions.c.assigned_to == me),
        func.count().filter(questions.c.status == QuestionStatus.ANSWERED),
    )
    open_, mine, answered = (await conn.execute(stmt)).one()
    return {"open": int(open_ or 0), "mine": int(mine or 0), "answered": int(answered or 0)}


async def applications_named(conn: Conn, words: str, limit: int = 50) -> list[Application]:
    """Certification files whose holder's name contains ``words``; with no words, the files
    changed last (the register page's search by name, next to the exact number/CNIE/phone one)."""
    c = certifications
    stmt = select(c).order_by(c.c.updated_at.desc(), c.c.id.desc()).limit(limit)
    if words:
        like = f"%{words.replace('%', '').replace('_', '')}%"
        stmt = select(c).where(c.c.full_name.ilike(like)).order_by(c.c.full_name, c.c.id).limit(limit)
    return [Application.from_row(r) for r in (await conn.execute(stmt)).mappings()]
