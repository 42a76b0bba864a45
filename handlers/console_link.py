"""``/console``: a staff member gets a one-time link that signs them in to the browser console.

The link is signed, bound to the staff member who asked, lasts ``HIRFA_CONSOLE__LINK_MINUTES``
and works once (see :mod:`storage.console`). It opens a page with a "sign in" button, so that a
chat app fetching the link for a preview does not use it up.
"""

from __future__ import annotations

from datetime import timedelta

from bot.dialogue import Context, Router
from bot.i18n import Msg
from storage import console as console_repo

router = Router()


@router.command("console", role="staff", describe="cmd.console")
async def cmd_console(ctx: Context) -> None:
    ctx.finish()
    settings = ctx.services.settings.console
    if settings.base_url is None:
        ctx.say(Msg("console.chat_disabled"))
        return
    staffer = console_repo.Staffer(ctx.incoming.channel, ctx.incoming.user_id)
    token = await console_repo.issue_link(ctx.conn, staffer, ctx.lang, ctx.now,
                                          timedelta(minutes=settings.link_minutes))
    ctx.say(Msg("console.chat_link", link=f"{settings.base_url}/console/signin/{token}",
                minutes=settings.link_minutes))
