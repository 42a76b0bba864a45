"""Feedback after a session: ratings (1-5) and comments of those present, reasons of those absent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from storage.chamber_schema import feedback
from storage.database import Conn
from storage.sessions_schema import SEATED, EnrolmentStatus, SessionStatus, enrolments, sessions
from storage.sql import insert_ignore


@dataclass(frozen=True)
class Summary:
    """A session's feedback: how many rated, the average, ratings 1..5, comments, absences."""

    responses: int
    average: float | None
    distribution: dict[int, int]
    comments: list[str]
    reasons: dict[str, int]


async def save(conn: Conn, session_id: int, artisan_id: int, now: datetime, **values: object) -> None:
    """Record (or change) one artisan's rating, reason or comment for a session."""
    row = {"session_id": session_id, "artisan_id": artisan_id, "created_at": now,
           "updated_at": now, **values}
    if not await insert_ignore(conn, feedback, row):
        await conn.execute(feedback.update().where(
            feedback.c.session_id == session_id, feedback.c.artisan_id == artisan_id)
            .values(updated_at=now, **values))


@dataclass(frozen=True)
class Given:
    """What one artisan answered about a session."""

    rating: int | None
    reason: str | None
    comment: str | None


async def of_session(conn: Conn, session_id: int) -> dict[int, Given]:
    """Each artisan's answers for a session, by artisan id (for the enrolment export)."""
    rows = (await conn.execute(select(feedback.c.artisan_id, feedback.c.rating, feedback.c.reason,
                                      feedback.c.comment)
            .where(feedback.c.session_id == session_id))).all()
    return {int(r.artisan_id): Given(r.rating, r.reason, r.comment) for r in rows}


async def summary(conn: Conn, session_id: int) -> Summary:
    rows = (await conn.execute(select(feedback.c.rating, feedback.c.comment, feedback.c.reason)
            .where(feedback.c.session_id == session_id).order_by(feedback.c.id))).all()
    ratings = [int(r.rating) for r in rows if r.rating is not None]
    distribution = {n: ratings.count(n) for n in range(1, 6)}
    reasons: dict[str, int] = {}
    for r in rows:
        if r.reason:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
    return Summary(len(ratings), round(sum(ratings) / len(ratings), 2) if ratings else None,
                   distribution, [str(r.comment) for r in rows if r.comment], reasons)


async def overall(conn: Conn) -> tuple[int, float | None]:
    """All ratings: how many, average (for /stats)."""
    count, average = (await conn.execute(
        select(func.count(feedback.c.rating), func.avg(feedback.c.rating)))).one()
    return int(count or 0), round(float(average), 2) if average is not None else None


async def ended_between(
    conn: Conn, start: datetime, end: datetime
) -> list[tuple[int, dict[str, str], datetime]]:
    rows = (await conn.execute(select(sessions.c.id, sessions.c.title, sessions.c.ends_at).where(
        sessions.c.ends_at > start, sessions.c.ends_at <= end, sessions.c.status != SessionStatus.CANCELLED)
        .order_by(sessions.c.ends_at))).all()
    return [(int(r.id), dict(r.title), r.ends_at) for r in rows]


async def to_ask(conn: Conn, session_id: int, *, unmarked_too: bool) -> list[tuple[int, str]]:
    """(artisan id, status) to ask: present, absent, and — when nobody was marked and the delay
    has passed — everyone still enrolled."""
    rows = (await conn.execute(select(enrolments.c.artisan_id, enrolments.c.status).where(
        enrolments.c.session_id == session_id,
        enrolments.c.status.in_(SEATED)))).all()
    came_or_not = (EnrolmentStatus.ATTENDED, EnrolmentStatus.NO_SHOW)
    marked = any(r.status in came_or_not for r in rows)
    out = []
    for r in rows:
        unmarked = r.status == EnrolmentStatus.ENROLLED and not marked and unmarked_too
        if r.status in came_or_not or unmarked:
            out.append((int(r.artisan_id), str(r.status)))
    return out


async def recent_sessions(conn: Conn, limit: int = 8) -> list[tuple[int, dict[str, str], int]]:
    """Sessions with feedback, newest first: (id, title, responses)."""
    # Grouped by the primary key alone: the title follows from it, and PostgreSQL cannot group
    # by a JSON column (json has no equality operator).
    rows = (await conn.execute(
        select(sessions.c.id, sessions.c.title, func.count(feedback.c.rating).label("n"))
        .join(feedback, feedback.c.session_id == sessions.c.id)
        .group_by(sessions.c.id).order_by(sessions.c.id.desc()).limit(limit))).all()
    return [(int(r.id), dict(r.title), int(r.n)) for r in rows]


async def enrolment_status(conn: Conn, session_id: int, artisan_id: int) -> str | None:
    return (await conn.execute(select(enrolments.c.status).where(
        enrolments.c.session_id == session_id, enrolments.c.artisan_id == artisan_id))).scalar()
