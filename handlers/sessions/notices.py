"""Messages to artisans that are not direct replies: promotion from the wait-list, a session
moved or cancelled. They go through the outbox, in the same transaction as the change, rendered
in each artisan's language (the title picked for that language).

These are service messages about the artisan's own enrolment, so they are sent even to artisans
who said STOP (which silences reminders and broadcasts); erased artisans get nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.dialogue import Services
from bot.i18n import Msg
from bot.messages import Choice, Reply
from handlers.sessions.buttons import CalendarFile, GiveBack, ListPage, OpenSession
from handlers.sessions.texts import short
from storage import artisans as artisan_repo
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.database import Conn
from storage.sessions import Session

PROMOTION, CHANGE = "promotion", "session_change"


async def promote_and_notify(services: Services, conn: Conn, session_id: int) -> list[int]:
    """Fill free seats from the wait-list and tell each promoted artisan (with a button to give
    the seat back). Returns the promoted artisans' ids."""
    now = services.clock.now()
    promoted = await enrolment_repo.promote(conn, session_id, now)
    session = await session_repo.get(conn, session_id)
    if session is None:
        return promoted
    default = services.settings.default_locale
    for artisan_id in promoted:
        artisan = await artisan_repo.get(conn, artisan_id)
        if artisan is None:
            continue
        reply = Reply(
            Msg("sess.promoted", **short(session, artisan.locale, default)),
            [Choice(GiveBack(session.id), Msg("sess.btn_giveback")),
             Choice(CalendarFile(session.id), Msg("sess.btn_ics")),
             Choice(OpenSession(session.id), Msg("sess.btn_open"))],
        )
        await services.outbox.notify(
            conn, artisan_id, reply, kind=PROMOTION, priority=5,
            key=f"promoted:{session.id}:{artisan_id}:{int(now.timestamp())}",
        )
    return promoted


async def withdraw(
    services: Services, conn: Conn, session_id: int, artisan_id: int,
    *, rsvp: str | None = None,
) -> str | None:
    """Give up a seat or a wait-list place; a freed seat promotes the next in line.
    Returns the status the artisan had (None if they had neither)."""
    now = services.clock.now()
    previous = await enrolment_repo.withdraw(conn, session_id, artisan_id, now, rsvp=rsvp)
    if previous is not None:
        await promote_and_notify(services, conn, session_id)
    return previous


async def announce_rescheduled(
    services: Services, conn: Conn, session: Session, old_start: datetime
) -> int:
    """Tell everyone enrolled or waiting that ``session`` (already moved) has a new time."""
    return await _tell_audience(
        services, conn, session, f"moved:{session.id}:{session.version}",
        lambda locale, default: Reply(
            Msg("sess.rescheduled_notice", old=old_start, **short(session, locale, default)),
            [Choice(CalendarFile(session.id), Msg("sess.btn_ics")),
             Choice(OpenSession(session.id), Msg("sess.btn_open"))],
        ),
    )


async def announce_cancelled(services: Services, conn: Conn, session: Session) -> int:
    """Tell everyone enrolled or waiting that ``session`` is cancelled."""
    return await _tell_audience(
        services, conn, session, f"cancelled:{session.id}",
        lambda locale, default: Reply(
            Msg("sess.cancelled_notice", **short(session, locale, default)),
            [Choice(ListPage(0), Msg("sess.btn_list"))],
        ),
    )


async def _tell_audience(
    services: Services, conn: Conn, session: Session, key: str,
    reply_for: Callable[[str, str], Reply],
) -> int:
    """Queue ``reply_for(artisan's locale, default locale)`` to everyone enrolled or waiting
    (key ``{key}:{artisan}``); return how many were queued for the first time."""
    default = services.settings.default_locale
    count = 0
    for artisan_id in await enrolment_repo.audience(conn, session.id):
        artisan = await artisan_repo.get(conn, artisan_id)
        if artisan is None:
            continue
        if await services.outbox.notify(conn, artisan_id, reply_for(artisan.locale, default),
                                        kind=CHANGE, priority=5, key=f"{key}:{artisan_id}"):
            count += 1
    return count
