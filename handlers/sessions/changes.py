"""Changing a training session, with the artisans told: one place for the chat and the console.

``edit`` saves new details (and a new time: the session is rescheduled, its version bumped, and
everyone enrolled or waiting told, as ``notices.announce_rescheduled`` words it); a larger
capacity promotes from the wait-list. ``cancel`` cancels and tells everyone. Both run inside the
caller's transaction and re-check the session there, so a stale form changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.dialogue import Services
from bot.i18n import Msg
from handlers.sessions import notices
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.database import Conn
from storage.sessions import SessionStatus


@dataclass(frozen=True)
class Outcome:
    """What happened: ``problem`` (a catalog message) when nothing was saved."""

    saved: bool
    moved: bool = False
    told: int = 0
    problem: Msg | None = None


async def edit(
    services: Services, conn: Conn, session_id: int, *, starts_at: datetime, ends_at: datetime,
    **fields: Any,
) -> Outcome:
    """Save ``fields`` (title, description, craft, region, venue, latitude, longitude, capacity)
    and the time of a scheduled session."""
    now = services.clock.now()
    current = await session_repo.get(conn, session_id, lock=True)
    if current is None or current.status != SessionStatus.SCHEDULED:
        return Outcome(False, problem=Msg("sess.staff_not_editable"))
    moved = starts_at != current.starts_at
    if moved and starts_at <= now:
        return Outcome(False, problem=Msg("sess.start_in_past", when=starts_at))
    seated = await enrolment_repo.seated_count(conn, current.id)
    capacity = int(fields.get("capacity", current.capacity))
    if capacity < seated:
        return Outcome(False, problem=Msg("sess.capacity_below", count=seated))
    await session_repo.update_fields(conn, current.id, now, **fields,
                                     **({} if moved else {"ends_at": ends_at}))
    told = 0
    if moved:
        await session_repo.reschedule(conn, current.id, starts_at, ends_at, now)
        moved_session = await session_repo.get(conn, current.id)
        assert moved_session is not None
        told = await notices.announce_rescheduled(services, conn, moved_session, current.starts_at)
    if capacity > current.capacity:
        await notices.promote_and_notify(services, conn, current.id)
    return Outcome(True, moved, told)


async def cancel(services: Services, conn: Conn, session_id: int) -> Outcome:
    """Cancel a scheduled session and tell everyone enrolled or waiting."""
    if not await session_repo.cancel(conn, session_id, services.clock.now()):
        return Outcome(False, problem=Msg("sess.staff_not_editable"))
    cancelled = await session_repo.get(conn, session_id)
    assert cancelled is not None
    told = await notices.announce_cancelled(services, conn, cancelled)
    return Outcome(True, told=told)
