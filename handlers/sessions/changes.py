"""Changing a published training session, with the artisans told: the one place that decides it.

Every surface that changes a session calls this module: the chat's editor
(:mod:`handlers.sessions.editor`), the staff's "Reschedule" (:mod:`handlers.sessions.staff`), the
spreadsheet import (:mod:`handlers.sessions.files`) and the web console (``console/pages.py``).

- :func:`edit` saves new details and a new time. A new time is a reschedule: the version is
  bumped (so reminders are queued afresh) and everyone enrolled or waiting is told, as
  ``notices.announce_rescheduled`` words it. A larger capacity promotes from the wait-list.
- :func:`reschedule` moves a session to a new start, keeping its length (an :func:`edit` of the
  time only).
- :func:`cancel` cancels and tells everyone.

Each runs inside the caller's transaction and re-checks the session there (locked), so a stale
form or an old button changes nothing. The answer is :class:`Applied` or :class:`Refused` with
its :class:`Refusal` reason and the message to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.dialogue import Services
from bot.i18n import Msg
from handlers.sessions import notices
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.database import Conn
from storage.sessions import SessionStatus


class Refusal(StrEnum):
    """Why a change was refused (nothing was saved)."""

    NOT_EDITABLE = "not_editable"  # gone, cancelled or done
    START_IN_PAST = "start_in_past"  # a new start time that has already passed
    CAPACITY_BELOW = "capacity_below"  # fewer seats than people already seated


@dataclass(frozen=True)
class Applied:
    """The change is saved; ``moved``: the time changed, ``told``: artisans notified."""

    moved: bool = False
    told: int = 0


@dataclass(frozen=True)
class Refused:
    """Nothing was saved; ``message`` (a catalog text) says why to the staff member."""

    reason: Refusal
    message: Msg


Outcome = Applied | Refused


def _not_editable() -> Refused:
    return Refused(Refusal.NOT_EDITABLE, Msg("sess.staff_not_editable"))


async def edit(
    services: Services, conn: Conn, session_id: int, *, starts_at: datetime, ends_at: datetime,
    **fields: Any,
) -> Outcome:
    """Save ``fields`` (title, description, craft, region, venue, latitude, longitude, capacity)
    and the time of a scheduled session."""
    now = services.clock.now()
    current = await session_repo.get(conn, session_id, lock=True)
    if current is None or current.status != SessionStatus.SCHEDULED:
        return _not_editable()
    moved = starts_at != current.starts_at
    if moved and starts_at <= now:
        return Refused(Refusal.START_IN_PAST, Msg("sess.start_in_past", when=starts_at))
    seated = await enrolment_repo.seated_count(conn, current.id)
    capacity = int(fields.get("capacity", current.capacity))
    if capacity < seated:
        return Refused(Refusal.CAPACITY_BELOW, Msg("sess.capacity_below", count=seated))
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
    return Applied(moved, told)


async def reschedule(services: Services, conn: Conn, session_id: int, starts_at: datetime) -> Outcome:
    """Move a scheduled session to ``starts_at``; it keeps its length."""
    current = await session_repo.get(conn, session_id)
    if current is None:
        return _not_editable()
    return await edit(services, conn, session_id, starts_at=starts_at,
                      ends_at=starts_at + (current.ends_at - current.starts_at))


async def cancel(services: Services, conn: Conn, session_id: int) -> Outcome:
    """Cancel a scheduled session and tell everyone enrolled or waiting."""
    if not await session_repo.cancel(conn, session_id, services.clock.now()):
        return _not_editable()
    cancelled = await session_repo.get(conn, session_id)
    assert cancelled is not None
    told = await notices.announce_cancelled(services, conn, cancelled)
    return Applied(told=told)
