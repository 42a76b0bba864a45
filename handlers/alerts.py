"""New-session alerts: when staff publish a session (in the chat or by import), the artisans of
its craft and region hear of it once, with the card and the enrol button.

:func:`announce` (a job, every minute) finds scheduled sessions not announced yet, claims each
(``announced_sessions``, so a session is announced once even when edited later or when two runs
race) and queues one notice per matching artisan through the outbox (key
``newsession:<session>:<artisan>``), which paces them. STOP (``opted_out``) and the artisan's
own choice (``alert_prefs``: on by default, one tap off in every alert, ``/alerts`` and the
profile) are respected; during quiet hours the notices wait until they end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import ClassVar

from bot.dialogue import Context, Job, Router, Services
from bot.i18n import Msg
from bot.messages import Choice, Reply
from bot.payloads import Payload
from handlers.sessions.buttons import Enrol, OpenSession
from handlers.sessions.parsing import local_to_utc
from handlers.sessions.reminders import in_quiet_hours
from handlers.sessions.texts import card
from storage import alerts as repo
from storage import sessions as session_repo
from storage.database import Conn
from storage.sessions import SessionStatus

router = Router()
KIND = "new_session"
# Sessions created before this window are not announced (e.g. the first start after an upgrade).
LOOKBACK = timedelta(days=2)


def quiet_end(now: datetime, services: Services) -> datetime | None:
    """When the quiet hours end, if ``now`` is inside them (else None: send now)."""
    zone = services.zone
    quiet = services.settings.quiet_hours
    local = now.astimezone(zone)
    if not in_quiet_hours(local.hour, quiet):
        return None
    day = local.date() + timedelta(days=1) if quiet[0] > quiet[1] and local.hour >= quiet[0] \
        else local.date()
    return local_to_utc(day, time(quiet[1]), zone)


async def announce(services: Services) -> None:
    now = services.clock.now()
    async with services.db.read() as conn:
        fresh = await repo.fresh_sessions(conn, now, now - LOOKBACK)
    for session in fresh:
        async with services.db.transaction() as conn:
            await _announce_one(services, conn, session, now)
    services.outbox.wake_if_queued()


async def _announce_one(services: Services, conn: Conn, session: repo.Fresh, now: datetime) -> None:
    listed = await session_repo.get_listed(conn, session.id)
    if listed is None or listed.session.status != SessionStatus.SCHEDULED:
        return
    recipients = await repo.matching(conn, session)
    if not await repo.mark_announced(conn, session.id, len(recipients), now):
        return  # another run did it
    default = services.settings.default_locale
    later = quiet_end(now, services)
    for artisan_id, lang in recipients:
        reply = Reply(Msg("alert.new_session", card=card(listed, lang, default)), [
            Choice(Enrol(session.id), Msg("alert.btn_enrol")),
            Choice(OpenSession(session.id), Msg("alert.btn_details")),
            Choice(AlertsOff(), Msg("alert.btn_off")),
        ])
        await services.outbox.notify(conn, artisan_id, reply, kind=KIND,
                                     key=f"newsession:{session.id}:{artisan_id}",
                                     not_before=later)


router.jobs.append(Job("alerts.new_sessions", announce, 60.0))


async def show_choice(ctx: Context) -> None:
    assert ctx.artisan is not None
    on = await repo.wants_alerts(ctx.conn, ctx.artisan.id)
    ctx.say(Msg("alert.state_on" if on else "alert.state_off"),
            [Choice(AlertsOff() if on else AlertsOn(), Msg("alert.btn_off" if on else "alert.btn_on")),
             Choice("nav:menu", Msg("nav.menu"))])


@router.command("alerts", registered=True, describe="cmd.alerts")
async def cmd_alerts(ctx: Context) -> None:
    await show_choice(ctx)


@dataclass(frozen=True)
class ShowAlerts(Payload):
    """Whether alerts are on, with the button to change it (from the profile)."""

    prefix: ClassVar[str] = "al:show"


@dataclass(frozen=True)
class AlertsOff(Payload):
    prefix: ClassVar[str] = "al:off"


@dataclass(frozen=True)
class AlertsOn(Payload):
    prefix: ClassVar[str] = "al:on"


@router.action(ShowAlerts, registered=True)
async def alerts_show(ctx: Context, _: ShowAlerts) -> None:
    await show_choice(ctx)


@router.action(AlertsOff, registered=True)
async def alerts_off(ctx: Context, _: AlertsOff) -> None:
    assert ctx.artisan is not None
    await repo.set_alerts(ctx.conn, ctx.artisan.id, False, ctx.now)
    await show_choice(ctx)


@router.action(AlertsOn, registered=True)
async def alerts_on(ctx: Context, _: AlertsOn) -> None:
    assert ctx.artisan is not None
    await repo.set_alerts(ctx.conn, ctx.artisan.id, True, ctx.now)
    await show_choice(ctx)
