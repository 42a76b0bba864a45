"""Announcements in the artisans' main menu: the recent broadcasts addressed to them.

A missed or deleted message can be read again, in the artisan's current language (or the
broadcast's fallback), with its photo or document. Only broadcasts that were really addressed to
the artisan are listed and opened (the button id is re-checked against their deliveries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.dialogue import Context, MenuButton, MenuItem, Router
from bot.i18n import Msg, Raw
from bot.messages import Choice, Document
from bot.payloads import Payload
from handlers.broadcasts import delivery
from storage import broadcasts as repo

router = Router()
SHOWN = 8


@dataclass(frozen=True)
class OpenAnnouncement(Payload):
    """A broadcast the artisan received (re-checked against their deliveries)."""

    prefix: ClassVar[str] = "ann"
    broadcast_id: int


def _snippet(text: str, size: int = 40) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:size] + ("…" if len(first) > size or len(text.strip()) > len(first) else "")


async def show_announcements(ctx: Context) -> None:
    ctx.finish()
    artisan = ctx.artisan
    assert artisan is not None
    received = await repo.received_by(ctx.conn, artisan.id, SHOWN)
    choices = []
    for broadcast_id, queued_at in received:
        b = await repo.get(ctx.conn, broadcast_id)
        if b is None:
            continue
        text, _ = b.text_for(ctx.lang)
        when = queued_at.astimezone(ctx.zone).date()
        choices.append(Choice(OpenAnnouncement(b.id), Msg("ann.item", when=when, text=_snippet(text))))
    if not choices:
        ctx.say(Msg("ann.none"), [Choice("nav:menu", Msg("nav.menu"))])
        return
    ctx.say(Msg("ann.list", n=len(choices)), [*choices, Choice("nav:menu", Msg("nav.menu"))])


router.menu_item(MenuItem("announcements", "ann.menu", show_announcements, order=60,
                          visible=lambda ctx: ctx.artisan is not None))


@router.command("announcements", registered=True, describe="cmd.announcements")
async def cmd_announcements(ctx: Context) -> None:
    await show_announcements(ctx)


@router.action(OpenAnnouncement, registered=True)
async def open_announcement(ctx: Context, button: OpenAnnouncement) -> None:
    artisan = ctx.artisan
    assert artisan is not None
    addressed = {i for i, _ in await repo.received_by(ctx.conn, artisan.id, 50)}
    b = await repo.get(ctx.conn, button.broadcast_id)
    if b is None or b.id not in addressed:
        ctx.say(Msg("common.stale"))
        await show_announcements(ctx)
        return
    message = delivery.artisan_message(ctx.services, b, ctx.lang)
    media = await repo.media_of(ctx.conn, b.id)
    photo = media[1] if media and media[0] == "photo" else None
    document = Document(media[2], media[1], media[3]) if media and media[0] == "document" else None
    choices = [Choice(MenuButton("announcements"), Msg("ann.back")), Choice("nav:menu", Msg("nav.menu"))]
    ctx.say(Raw(message.text), choices, photo=photo, document=document)
