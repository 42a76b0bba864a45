"""Law 09-08 in practice: STOP / resume notices at once, and "delete my data"."""

from __future__ import annotations

from bot.dialogue import Context, MenuItem, Router, State, Step, show_menu
from bot.i18n import Msg
from bot.messages import Choice
from storage import artisans as artisan_repo
from storage import updates as updates_repo

router = Router()


class Privacy(Step):
    DELETE = "privacy.delete"

STOP_WORDS = ("stop", "arret", "arrêt", "arreter", "stopper", "توقف", "وقف", "ستوب")
RESUME_WORDS = ("start", "resume", "reprendre", "استئناف", "استمرار")
DELETE_WORDS = (
    "delete my data", "supprimer mes donnees", "supprimer mes données", "حذف بياناتي", "امسح بياناتي",
)


async def stop_notices(ctx: Context) -> None:
    if ctx.artisan is None:
        ctx.finish()
        ctx.say(Msg("privacy.stop_unregistered"))
        return
    await artisan_repo.update_fields(ctx.conn, ctx.artisan.id, ctx.now, opted_out=True)
    await ctx.refresh_artisan()
    ctx.finish()
    ctx.say(Msg("privacy.stopped"))
    await show_menu(ctx)


async def resume_notices(ctx: Context) -> None:
    if ctx.artisan is None:
        fallback = ctx.services.router.fallback
        if fallback is not None:
            await fallback(ctx)
        return
    await artisan_repo.update_fields(ctx.conn, ctx.artisan.id, ctx.now, opted_out=False)
    await ctx.refresh_artisan()
    ctx.finish()
    ctx.say(Msg("privacy.resumed"))
    await show_menu(ctx)


router.keyword(STOP_WORDS, stop_notices)
router.keyword(RESUME_WORDS, resume_notices)
router.concepts["stop"] = stop_notices  # "wgef", "ⴱⴷⴷ", ... (locales/understanding)


@router.command("stop", describe="cmd.stop")
async def cmd_stop(ctx: Context) -> None:
    await stop_notices(ctx)


router.menu_item(MenuItem("stop", "menu.stop_notices", stop_notices, order=90,
                          visible=lambda ctx: ctx.artisan is not None and not ctx.artisan.opted_out))
router.menu_item(MenuItem("resume", "menu.resume_notices", resume_notices, order=90,
                          visible=lambda ctx: ctx.artisan is not None and ctx.artisan.opted_out))


async def ask_delete(ctx: Context) -> None:
    ctx.say(
        Msg("privacy.delete_confirm"),
        [Choice("del:yes", Msg("privacy.delete_yes")), Choice("del:no", Msg("privacy.delete_no"))],
    )


async def take_delete(ctx: Context) -> None:
    if ctx.choice_id != "del:yes" or ctx.artisan is None:
        ctx.finish()
        ctx.say(Msg("privacy.delete_kept"))
        await show_menu(ctx)
        return
    artisan_id = ctx.artisan.id
    chats = [(i.channel, i.chat_id) for i in await artisan_repo.identities_of(ctx.conn, artisan_id)]
    await ctx.services.outbox.forget_artisan(ctx.conn, artisan_id, chats)
    await updates_repo.forget_chats(ctx.conn, chats)  # what they wrote, kept for redeliveries
    for hook in ctx.services.router.erase_hooks:
        await hook(ctx, artisan_id)
    await artisan_repo.erase(ctx.conn, artisan_id, ctx.now)
    # The engine rewrites this conversation's row with the data below: what it held is gone.
    ctx.services.db.checkpoint_after_commit()  # no old copy of the profile left in the -wal file
    lang = ctx.lang
    ctx.artisan = None
    ctx.state = None
    # Only the language stays (not personal data): this answer and the next ones (the menu, a
    # new registration) are in the language the person chose, not the chamber's default.
    ctx.data = {"lang": lang}
    ctx.say(Msg("privacy.deleted", lang=lang), remove_keyboard=True)


async def start_delete(ctx: Context) -> None:
    if ctx.artisan is None:
        ctx.finish()
        ctx.say(Msg("privacy.nothing_to_delete"))
        return
    await ctx.goto(Privacy.DELETE)


router.state(State(Privacy.DELETE, ask_delete, take_delete, registered=True))
router.keyword(DELETE_WORDS, start_delete)
router.menu_item(MenuItem("delete", "menu.delete_data", start_delete, order=95))


@router.command("delete", describe="cmd.delete")
async def cmd_delete(ctx: Context) -> None:
    await start_delete(ctx)
