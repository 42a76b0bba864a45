"""Enrolments: who holds a seat, who waits, who came (repository; the caller owns the transaction).

Race-free by construction: :func:`enrol` and :func:`promote` lock the session row first
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every transaction is ``BEGIN IMMEDIATE``, so
writers are serialised), count the seats inside the same transaction, and write with conditions
in the statement (``WHERE status = 'waitlisted'``). The unique ``(session_id, artisan_id)`` makes
a second enrolment of the same artisan impossible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import RowMapping

from storage import sessions as session_repo
from storage.database import Conn
from storage.schema import artisans
from storage.sessions import Session
from storage.sessions_schema import SEATED as SEATED
from storage.sessions_schema import EnrolmentStatus as EnrolmentStatus
from storage.sessions_schema import SessionStatus, enrolments, sessions

ACTIVE = (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED)


@dataclass(frozen=True)
class Enrolment:
    id: int
    session_id: int
    artisan_id: int
    status: str
    position: int | None
    rsvp: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Enrolment:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Attendee:
    """An enrolment with what staff need to see of the artisan."""

    enrolment: Enrolment
    full_name: str | None
    phone: str | None
    locale: str
    rank: int | None  # position on the wait-list, 1-based


async def get(conn: Conn, session_id: int, artisan_id: int) -> Enrolment | None:
    stmt = select(enrolments).where(
        enrolments.c.session_id == session_id, enrolments.c.artisan_id == artisan_id
    )
    row = (await conn.execute(stmt)).mappings().first()
    return Enrolment.from_row(row) if row else None


async def by_id(conn: Conn, enrolment_id: int) -> Enrolment | None:
    row = (await conn.execute(select(enrolments).where(enrolments.c.id == enrolment_id))).mappings().first()
    return Enrolment.from_row(row) if row else None


async def seated_count(conn: Conn, session_id: int) -> int:
    stmt = select(func.count()).where(
        enrolments.c.session_id == session_id, enrolments.c.status.in_(SEATED)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def enrol(conn: Conn, session_id: int, artisan_id: int, now: datetime) -> Enrolment | None:
    """Take a seat, or a place at the end of the wait-list when the session is full.

    Returns the enrolment as it is now (unchanged if the artisan was already enrolled or
    waiting), or None when the session is not open (cancelled, done, started, unknown).
    """
    session = await session_repo.get(conn, session_id, lock=True)
    if session is None or not session.is_open(now):
        return None
    existing = await get(conn, session_id, artisan_id)
    if existing is not None and existing.status in ACTIVE:
        return existing
    full = await seated_count(conn, session_id) >= session.capacity
    status = EnrolmentStatus.WAITLISTED if full else EnrolmentStatus.ENROLLED
    position = await _next_position(conn, session_id) if full else None
    values = {"status": status, "position": position, "rsvp": None, "updated_at": now}
    if existing is None:
        await conn.execute(
            enrolments.insert().values(session_id=session_id, artisan_id=artisan_id, created_at=now,
                                       **values)
        )
    else:
        await conn.execute(
            update(enrolments)
            .where(enrolments.c.id == existing.id, enrolments.c.status.not_in(ACTIVE))
            .values(**values)
        )
    return await get(conn, session_id, artisan_id)


async def _next_position(conn: Conn, session_id: int) -> int:
    stmt = select(func.max(enrolments.c.position)).where(enrolments.c.session_id == session_id)
    return int((await conn.execute(stmt)).scalar() or 0) + 1


async def withdraw(
    conn: Conn, session_id: int, artisan_id: int, now: datetime, *, rsvp: str | None = None
) -> str | None:
    """Give up a seat or a wait-list place; return the status it had (None if neither)."""
    current = await get(conn, session_id, artisan_id)
    if current is None or current.status not in ACTIVE:
        return None
    values: dict[str, object] = {"status": EnrolmentStatus.WITHDRAWN, "position": None, "updated_at": now}
    if rsvp is not None:
        values["rsvp"] = rsvp
    result = await conn.execute(
        update(enrolments)
        .where(enrolments.c.id == current.id, enrolments.c.status == current.status)
        .values(**values)
    )
    return current.status if result.rowcount else None


async def promote(conn: Conn, session_id: int, now: datetime) -> list[int]:
    """Fill free seats from the head of the wait-list; return the promoted artisans' ids."""
    session = await session_repo.get(conn, session_id, lock=True)
    if session is None or not session.is_open(now):
        return []
    promoted: list[int] = []
    free = session.capacity - await seated_count(conn, session_id)
    while free > 0:
        stmt = (
            select(enrolments.c.id, enrolments.c.artisan_id)
            .where(enrolments.c.session_id == session_id, enrolments.c.status == EnrolmentStatus.WAITLISTED)
            .order_by(enrolments.c.position, enrolments.c.id)
            .limit(1)
        )
        head = (await conn.execute(stmt)).first()
        if head is None:
            break
        result = await conn.execute(
            update(enrolments)
            .where(enrolments.c.id == head.id, enrolments.c.status == EnrolmentStatus.WAITLISTED)
            .values(status=EnrolmentStatus.ENROLLED, position=None, rsvp=None, updated_at=now)
        )
        if result.rowcount:
            promoted.append(int(head.artisan_id))
            free -= 1
    return promoted


async def rank(conn: Conn, enrolment: Enrolment) -> int | None:
    """1-based place on the wait-list (None if not waiting)."""
    if enrolment.status != EnrolmentStatus.WAITLISTED or enrolment.position is None:
        return None
    stmt = select(func.count()).where(
        enrolments.c.session_id == enrolment.session_id,
        enrolments.c.status == EnrolmentStatus.WAITLISTED,
        enrolments.c.position <= enrolment.position,
    )
    return int((await conn.execute(stmt)).scalar_one())


async def set_rsvp(conn: Conn, enrolment_id: int, answer: str, now: datetime) -> bool:
    result = await conn.execute(
        update(enrolments)
        .where(enrolments.c.id == enrolment_id, enrolments.c.status == EnrolmentStatus.ENROLLED)
        .values(rsvp=answer, updated_at=now)
    )
    return bool(result.rowcount)


async def mark(conn: Conn, enrolment_id: int, present: bool, now: datetime) -> bool:
    """Attendance: ``attended`` or ``no_show`` (only for seated rows)."""
    result = await conn.execute(
        update(enrolments)
        .where(enrolments.c.id == enrolment_id, enrolments.c.status.in_(SEATED))
        .values(status=EnrolmentStatus.ATTENDED if present else EnrolmentStatus.NO_SHOW, updated_at=now)
    )
    return bool(result.rowcount)


async def mark_arrived(conn: Conn, enrolment_id: int, now: datetime) -> bool:
    """Present at the door (an entry code scanned): only a seated row not yet marked present,
    so two scans of one code mark it once."""
    result = await conn.execute(
        update(enrolments)
        .where(enrolments.c.id == enrolment_id,
               enrolments.c.status.in_((EnrolmentStatus.ENROLLED, EnrolmentStatus.NO_SHOW)))
        .values(status=EnrolmentStatus.ATTENDED, updated_at=now)
    )
    return bool(result.rowcount)


async def mark_all_present(conn: Conn, session_id: int, now: datetime) -> int:
    result = await conn.execute(
        update(enrolments)
        .where(enrolments.c.session_id == session_id, enrolments.c.status == EnrolmentStatus.ENROLLED)
        .values(status=EnrolmentStatus.ATTENDED, updated_at=now)
    )
    return int(result.rowcount or 0)


async def of_session(conn: Conn, session_id: int, *, active_only: bool = False) -> list[Attendee]:
    """Everyone on a session's lists: seated first (by enrolment), then the wait-list in order."""
    stmt = (
        select(enrolments, artisans.c.full_name, artisans.c.phone, artisans.c.locale)
        .join(artisans, artisans.c.id == enrolments.c.artisan_id)
        .where(enrolments.c.session_id == session_id)
        .order_by(enrolments.c.position.is_not(None), enrolments.c.position, enrolments.c.id)
    )
    if active_only:
        stmt = stmt.where(enrolments.c.status.in_(ACTIVE))
    out: list[Attendee] = []
    waiting = 0
    for row in (await conn.execute(stmt)).mappings():
        enrolment = Enrolment.from_row(row)
        rank_value = None
        if enrolment.status == EnrolmentStatus.WAITLISTED:
            waiting += 1
            rank_value = waiting
        out.append(Attendee(enrolment, row["full_name"], row["phone"], row["locale"], rank_value))
    return out


async def of_artisan(
    conn: Conn, artisan_id: int, now: datetime
) -> list[tuple[Session, Enrolment]]:
    """The artisan's seats and wait-list places in sessions that have not started."""
    stmt = (
        select(sessions, enrolments.c.id.label("e_id"))
        .join(enrolments, enrolments.c.session_id == sessions.c.id)
        .where(
            enrolments.c.artisan_id == artisan_id,
            enrolments.c.status.in_(ACTIVE),
            sessions.c.status == SessionStatus.SCHEDULED,
            sessions.c.starts_at > now,
        )
        .order_by(sessions.c.starts_at)
    )
    out = []
    for row in (await conn.execute(stmt)).mappings():
        enrolment = await by_id(conn, int(row["e_id"]))
        if enrolment is not None:
            out.append((Session.from_row(row), enrolment))
    return out


async def audience(conn: Conn, session_id: int) -> list[int]:
    """Artisans enrolled or waiting (who must hear of a change)."""
    stmt = (
        select(enrolments.c.artisan_id)
        .where(enrolments.c.session_id == session_id, enrolments.c.status.in_(ACTIVE))
        .order_by(enrolments.c.id)
    )
    return [int(r[0]) for r in await conn.execute(stmt)]


@dataclass(frozen=True)
class EnrolledRow:
    """An enrolled row with what the reminder scan needs to know about its artisan."""

    enrolment: Enrolment
    opted_out: bool
    erased: bool
    time_zone: str | None


async def enrolled_in(conn: Conn, session_ids: list[int]) -> list[EnrolledRow]:
    """Enrolled rows of these sessions, with the artisan's opt-out, erasure and time zone."""
    if not session_ids:
        return []
    stmt = (
        select(enrolments, artisans.c.opted_out, artisans.c.erased_at, artisans.c.time_zone)
        .join(artisans, artisans.c.id == enrolments.c.artisan_id)
        .where(and_(enrolments.c.session_id.in_(session_ids),
                    enrolments.c.status == EnrolmentStatus.ENROLLED))
        .order_by(enrolments.c.session_id, enrolments.c.id)
    )
    return [
        EnrolledRow(Enrolment.from_row(r), bool(r["opted_out"]), r["erased_at"] is not None,
                    r["time_zone"])
        for r in (await conn.execute(stmt)).mappings()
    ]


async def active_sessions_of(conn: Conn, artisan_id: int, now: datetime) -> list[int]:
    """Open sessions where the artisan holds a seat or waits (for erasure)."""
    return [s.id for s, _ in await of_artisan(conn, artisan_id, now)]
