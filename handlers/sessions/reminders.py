"""Reminders before each session, derived from the database on every tick.

The job (:func:`send_reminders`, every minute) looks at scheduled sessions starting within the
largest offset (24 h by default) and, for each enrolled artisan, works out which reminder is due
now. The outbox key ``reminder:{session}:{version}:{artisan}:{offset_minutes}`` makes each one
unique: a restart or a missed tick sends nothing twice, and a rescheduled session (new version)
gets new reminders for its new time.

Rules, per enrolment:

- the due time of an offset is ``starts_at - offset``; if that falls in the artisan's quiet hours
  (default 21:00-08:00 in their zone) it moves to the end of the quiet hours, unless the session
  starts before then (then it keeps its time: a 07:30 session still gets its 05:30 reminder);
- only the latest reminder that is due is sent (after downtime, a stale 24 h reminder is not
  sent next to the 2 h one), and none for a time before the artisan took the seat, except the
  last one: who takes a seat after its time gets it at once (out of quiet hours), as promised
  when they enrolled;
- opted-out artisans (STOP) get none; artisans whose chats all blocked the bot are skipped (the
  outbox records the row as ``skipped``) and counted.

The reminder carries "I'll be there" / "I can't come"; "can't come" (confirmed) frees the seat,
which promotes the next artisan on the wait-list.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dialogue import Context, Job, Router, Services
from bot.i18n import Msg
from bot.messages import Choice, Reply
from bot.timezones import load_zone
from handlers.sessions import notices
from handlers.sessions.artisan import show_card, show_mine, stale
from handlers.sessions.buttons import Coming, ConfirmNotComing, NotComing, OpenSession
from handlers.sessions.parsing import local_to_utc
from handlers.sessions.texts import title_of
from storage import artisans as artisan_repo
from storage import enrolments as enrolment_repo
from storage import outbox as outbox_repo
from storage import sessions as session_repo
from storage.database import Conn
from storage.enrolments import EnrolmentStatus
from storage.sessions import Session

log = logging.getLogger(__name__)

router = Router()
REMINDER = "reminder"
QUEUE_CHUNK = 50
"""Reminders queued per transaction (each transaction blocks the event loop while it runs)."""


def in_quiet_hours(local_hour: int, quiet: tuple[int, int]) -> bool:
    start, end = quiet
    if start == end:
        return False
    if start > end:  # spans midnight, e.g. 21 → 8
        return local_hour >= start or local_hour < end
    return start <= local_hour < end


def due_time(starts_at: datetime, offset: timedelta, zone: ZoneInfo, quiet: tuple[int, int]) -> datetime:
    """When the ``offset`` reminder of a session starting at ``starts_at`` should go out."""
    nominal = starts_at - offset
    local = nominal.astimezone(zone)
    if not in_quiet_hours(local.hour, quiet):
        return nominal
    end = quiet[1]
    day = local.date() + timedelta(days=1) if quiet[0] > quiet[1] and local.hour >= quiet[0] else local.date()
    quiet_end = local_to_utc(day, time(end), zone)
    return quiet_end if quiet_end < starts_at else nominal


def reminder_key(session: Session, artisan_id: int, offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    # Minutes, as the key convention says; seconds only for sub-minute test offsets.
    amount = str(seconds // 60) if seconds % 60 == 0 else f"{seconds}s"
    return f"reminder:{session.id}:{session.version}:{artisan_id}:{amount}"


@dataclass
class ReminderStats:
    """What one scan did (logged; returned for tests and the CLI)."""

    queued: int = 0
    blocked: int = 0
    opted_out: int = 0
    already: int = 0


async def send_reminders(services: Services) -> ReminderStats:
    """One scan: queue every reminder that is due now and was not queued before.

    The steady state (nothing new) is one read transaction of three indexed queries; the write
    lock is taken only when a session has ended or a reminder is actually due.
    """
    now = services.clock.now()
    settings = services.settings
    offsets = sorted(settings.reminder_offsets, reverse=True)
    stats = ReminderStats()
    if not offsets:
        return stats
    async with services.db.read() as conn:
        ended = await session_repo.any_ended(conn, now)
        candidates = {s.id: s for s in await session_repo.starting_between(conn, now, now + offsets[0])}
        rows = await enrolment_repo.enrolled_in(conn, list(candidates))
        due = _due(services, candidates, rows, offsets, now, stats)
        existing = await outbox_repo.existing_keys(conn, [key for _, _, key in due])
    if ended:
        async with services.db.transaction() as conn:
            finished = await session_repo.finish_past(conn, now)
        if finished:
            log.info("sessions: %d session(s) ended and marked done", finished)
    by_session: dict[int, list[tuple[int, str]]] = {}
    for session_id, artisan_id, key in due:
        if key in existing:
            stats.already += 1
        else:
            by_session.setdefault(session_id, []).append((artisan_id, key))
    for session_id, pending in by_session.items():
        # Short transactions with a pause between them: the statements run on the event loop,
        # and the conversations must go on while a large session's reminders are queued.
        for start in range(0, len(pending), QUEUE_CHUNK):
            async with services.db.transaction() as conn:
                await _queue(services, conn, session_id, pending[start:start + QUEUE_CHUNK], now, stats)
            await asyncio.sleep(0)
    if stats.queued or stats.blocked:
        log.info("reminders: %d queued, %d skipped (blocked), %d opted out, %d already sent",
                 stats.queued, stats.blocked, stats.opted_out, stats.already)
    if stats.queued:
        services.outbox.wake()
    return stats


def _due(
    services: Services, candidates: dict[int, Session], rows: list[enrolment_repo.EnrolledRow],
    offsets: list[timedelta], now: datetime, stats: ReminderStats,
) -> list[tuple[int, int, str]]:
    """(session, artisan, key) of the latest reminder due for each enrolled artisan."""
    settings = services.settings
    due: list[tuple[int, int, str]] = []
    for row in rows:
        session = candidates[row.enrolment.session_id]
        if row.erased:
            continue
        zone = load_zone(row.time_zone or settings.timezone)
        times = [(due_time(session.starts_at, o, zone, settings.quiet_hours), o) for o in offsets]
        passed = [(when, offset) for when, offset in times if when <= now]
        if not passed:
            continue
        # The latest due reminder only (ties: the shorter offset).
        _, offset = max(passed, key=lambda pair: (pair[0], -pair[1]))
        took_seat = row.enrolment.updated_at
        if took_seat > session.starts_at - offset:
            if offset != offsets[-1]:
                continue  # took the seat after this reminder's time: a later one will come
            # After the last reminder's time: the promised reminder goes now, out of quiet
            # hours (unless the session starts before they end).
            if due_time(session.starts_at, session.starts_at - took_seat, zone,
                        settings.quiet_hours) > now:
                continue
        if row.opted_out:
            stats.opted_out += 1
            continue
        artisan_id = row.enrolment.artisan_id
        due.append((session.id, artisan_id, reminder_key(session, artisan_id, offset)))
    return due


async def _queue(
    services: Services, conn: Conn, session_id: int, pending: list[tuple[int, str]],
    now: datetime, stats: ReminderStats,
) -> None:
    session = await session_repo.get(conn, session_id)  # fresh: the scan was a read
    if session is None or not session.is_open(now):
        return
    default = services.settings.default_locale
    for artisan_id, key in pending:
        if not key.startswith(f"reminder:{session.id}:{session.version}:"):
            continue  # rescheduled meanwhile: the next scan computes the new reminders
        artisan = await artisan_repo.get(conn, artisan_id)
        if artisan is None:
            continue
        chats = [i for i in await artisan_repo.identities_of(conn, artisan_id) if not i.blocked]
        reply = Reply(
            Msg("sess.reminder", title=title_of(session, artisan.locale, default),
                when=session.starts_at, venue=session.venue),
            [Choice(Coming(session.id, session.version), Msg("sess.btn_rsvp_yes")),
             Choice(NotComing(session.id, session.version), Msg("sess.btn_rsvp_no")),
             Choice(OpenSession(session.id), Msg("sess.btn_open"))],
        )
        if await services.outbox.notify(conn, artisan_id, reply, kind=REMINDER, key=key, priority=3):
            if chats:
                stats.queued += 1
            else:
                stats.blocked += 1


async def reminder_job(services: Services) -> None:
    await send_reminders(services)


router.jobs.append(Job("session-reminders", reminder_job, 60))


# -- the answers ------------------------------------------------------------------------------

async def _enrolled_session(ctx: Context, session_id: int) -> Session | None:
    assert ctx.artisan is not None
    session = await session_repo.get(ctx.conn, session_id)
    if session is None:
        return None
    enrolment = await enrolment_repo.get(ctx.conn, session_id, ctx.artisan.id)
    if enrolment is None or enrolment.status != EnrolmentStatus.ENROLLED or not session.is_open(ctx.now):
        return None
    return session


@router.action(Coming, registered=True)
async def rsvp_yes(ctx: Context, button: Coming) -> None:
    session = await _enrolled_session(ctx, button.session_id)
    if session is None or session.version != button.version:
        if session is not None:
            await show_card(ctx, session.id, Msg("common.stale"))
            return
        await stale(ctx)
        return
    assert ctx.artisan is not None
    enrolment = await enrolment_repo.get(ctx.conn, session.id, ctx.artisan.id)
    assert enrolment is not None
    await enrolment_repo.set_rsvp(ctx.conn, enrolment.id, "yes", ctx.now)
    ctx.finish()
    ctx.say(
        Msg("sess.rsvp_thanks", title=title_of(session, ctx.lang, ctx.services.settings.default_locale),
            when=session.starts_at),
        [Choice(OpenSession(session.id), Msg("sess.btn_open")), Choice("nav:menu", Msg("nav.menu"))],
    )


@router.action(NotComing, registered=True)
async def rsvp_no(ctx: Context, button: NotComing) -> None:
    session = await _enrolled_session(ctx, button.session_id)
    if session is None:
        await stale(ctx)
        return
    ctx.say(
        Msg("sess.confirm_cant_come",
            title=title_of(session, ctx.lang, ctx.services.settings.default_locale)),
        [Choice(ConfirmNotComing(session.id), Msg("sess.btn_yes_free")),
         Choice(OpenSession(session.id), Msg("sess.btn_keep"))],
    )


@router.action(ConfirmNotComing, registered=True)
async def cant_come(ctx: Context, button: ConfirmNotComing) -> None:
    session = await _enrolled_session(ctx, button.session_id)
    if session is None:
        await stale(ctx)
        return
    assert ctx.artisan is not None
    await notices.withdraw(ctx.services, ctx.conn, session.id, ctx.artisan.id, rsvp="no")
    ctx.finish()
    ctx.say(Msg("sess.cant_come_done"))
    await show_mine(ctx)
