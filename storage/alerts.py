"""New-session alerts: who wants them, which sessions were announced, and who matches one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from storage.chamber_schema import alert_prefs, announced_sessions
from storage.database import Conn
from storage.schema import artisans
from storage.sessions_schema import SessionStatus, enrolments, sessions
from storage.sql import insert_ignore


@dataclass(frozen=True)
class Fresh:
    """A scheduled session not announced yet."""

    id: int
    craft: str | None
    region: str | None


async def wants_alerts(conn: Conn, artisan_id: int) -> bool:
    value = (await conn.execute(select(alert_prefs.c.new_sessions)
             .where(alert_prefs.c.artisan_id == artisan_id))).scalar()
    return True if value is None else bool(value)


async def set_alerts(conn: Conn, artisan_id: int, on: bool, now: datetime) -> None:
    row = {"artisan_id": artisan_id, "new_sessions": on, "updated_at": now}
    if not await insert_ignore(conn, alert_prefs, row):
        await conn.execute(alert_prefs.update().where(alert_prefs.c.artisan_id == artisan_id)
                           .values(new_sessions=on, updated_at=now))


async def fresh_sessions(conn: Conn, now: datetime, created_since: datetime) -> list[Fresh]:
    """Scheduled sessions still ahead, created since ``created_since``, not yet announced."""
    rows = (await conn.execute(
        select(sessions.c.id, sessions.c.craft, sessions.c.region)
        .outerjoin(announced_sessions, announced_sessions.c.session_id == sessions.c.id)
        .where(sessions.c.status == SessionStatus.SCHEDULED, sessions.c.starts_at > now,
               sessions.c.created_at >= created_since, announced_sessions.c.session_id.is_(None))
        .order_by(sessions.c.id))).all()
    return [Fresh(int(r.id), r.craft, r.region) for r in rows]


async def matching(conn: Conn, session: Fresh) -> list[tuple[int, str]]:
    """(artisan id, language) of those to tell: same craft and region (a session without one is
    for all), notices on (not STOP), alerts not turned off, not erased, not enrolled already."""
    cond = [artisans.c.erased_at.is_(None), artisans.c.opted_out.is_(False),
            artisans.c.consent_at.is_not(None),
            or_(alert_prefs.c.new_sessions.is_(None), alert_prefs.c.new_sessions.is_(True))]
    if session.craft:
        cond.append(artisans.c.craft == session.craft)
    if session.region:
        cond.append(artisans.c.region == session.region)
    already = select(enrolments.c.artisan_id).where(enrolments.c.session_id == session.id)
    cond.append(artisans.c.id.not_in(already))
    rows = (await conn.execute(
        select(artisans.c.id, artisans.c.locale)
        .outerjoin(alert_prefs, alert_prefs.c.artisan_id == artisans.c.id)
        .where(and_(*cond)).order_by(artisans.c.id))).all()
    return [(int(r.id), str(r.locale)) for r in rows]


async def mark_announced(conn: Conn, session_id: int, recipients: int, now: datetime) -> bool:
    return await insert_ignore(conn, announced_sessions, {
        "session_id": session_id, "recipients": recipients, "announced_at": now})
