"""What works everywhere: the main menu, help, /whoami, and the words menu/cancel/back (in
every language, see locales/understanding), and the two ways out offered after two answers that
were not understood: talk to the chamber, switch language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.dialogue import (
    ASK_CHAMBER,
    SWITCH_LANGUAGE,
    Context,
    MenuButton,
    Router,
    cancel,
    go_back,
    show_menu,
)
from bot.i18n import Msg
from bot.payloads import Payload
from handlers.contact import contact_card
from handlers.profile import Prof
from handlers.registration import Reg

router = Router()

MENU_WORDS = ("menu", "القائمة", "قائمة", "لائحة", "menu principal", "accueil", "home", "مينو")
CANCEL_WORDS = ("cancel", "annuler", "الغاء", "إلغاء", "الغي")
BACK_WORDS = ("back", "retour", "رجوع", "ارجع", "رجع")
HELP_WORDS = ("help", "aide", "مساعدة", "عاون")


async def menu(ctx: Context) -> None:
    await show_menu(ctx)


async def help_text(ctx: Context) -> None:
    ctx.say(Msg("chamber.help", help=Msg("core.help"),
                card=contact_card(ctx.services.settings.chamber)))
    await ctx.reprompt()


router.keyword(MENU_WORDS, menu)
router.keyword(CANCEL_WORDS, cancel)
router.keyword(BACK_WORDS, go_back)
router.keyword(HELP_WORDS, help_text)
router.concepts.update(menu=menu, cancel=cancel, back=go_back, help=help_text)


async def chamber_contact(ctx: Context) -> None:
    """How to reach the chamber (what /help says), then the question that was on screen.
    The questions-to-the-chamber feature replaces this by setting ``router.ask_chamber``."""
    ctx.say(Msg("core.help"))
    await ctx.reprompt()


router.ask_chamber = chamber_contact


@dataclass(frozen=True)
class AskChamber(Payload):
    prefix: ClassVar[str] = ASK_CHAMBER


@dataclass(frozen=True)
class SwitchLanguage(Payload):
    prefix: ClassVar[str] = SWITCH_LANGUAGE


@router.action(AskChamber)
async def talk_to_chamber(ctx: Context, _: AskChamber) -> None:
    handler = ctx.services.router.ask_chamber or chamber_contact
    await handler(ctx)


@router.action(SwitchLanguage)
async def switch_language(ctx: Context, _: SwitchLanguage) -> None:
    """Registered artisans change it in their profile; others pick it again (their answers so
    far are kept)."""
    await ctx.goto(Prof.LANG if ctx.artisan is not None else Reg.LANG)


@router.command("menu", describe="cmd.menu")
async def cmd_menu(ctx: Context) -> None:
    await show_menu(ctx)


@router.command("help", describe="cmd.help")
async def cmd_help(ctx: Context) -> None:
    await help_text(ctx)


@router.command("whoami", describe="cmd.whoami")
async def cmd_whoami(ctx: Context) -> None:
    if ctx.role is not None:
        role = Msg(f"core.role_{ctx.role}")
    elif ctx.artisan is not None:
        role = Msg("core.role_artisan")
    else:
        role = Msg("core.role_unregistered")
    ctx.say(Msg("core.whoami", role=role, channel=ctx.incoming.channel, user_id=ctx.incoming.user_id))


@router.action(MenuButton)
async def menu_choice(ctx: Context, button: MenuButton) -> None:
    """A main-menu button; works from any message, re-checked against the menu as it is now."""
    for item in ctx.services.router.menu:
        if item.id == button.item and item.shown_to(ctx):
            await item.handler(ctx)
            return
    ctx.say(Msg("common.stale"))
    await show_menu(ctx)
