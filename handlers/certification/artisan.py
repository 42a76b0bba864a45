"""The artisan's side: "My certification" in the main menu, and linking an application safely.

An application is shown to an artisan only when

- its phone is the artisan's **verified** phone (shared with Telegram's contact button, or the
  WhatsApp number itself), or
- the artisan gave its number **and** the CNIE on file for it.

Wrong number + CNIE guesses are limited (``HIRFA_CERTIFICATION__LINK_ATTEMPTS_PER_HOUR``, 5 by
default) per chat user, counted in the database so a restart does not reset them; the answer to
a wrong guess is the same whether the number exists or not. Buttons carry application ids, and
every one is re-checked against the artisan's own links: nobody sees someone else's file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from bot.dialogue import (
    NAV_MENU,
    Context,
    MenuButton,
    MenuItem,
    Router,
    Services,
    State,
    Step,
    nav_choices,
    show_menu,
)
from bot.errors import InvalidInput
from bot.i18n import Msg, Text
from bot.messages import Choice
from bot.payloads import Payload
from handlers import fields, phones
from handlers.certification import parsing
from handlers.certification.changes import calendar_file, claim_for
from handlers.certification.texts import application_line, artisan_card, join
from handlers.contact import contact_card, with_card
from handlers.validation import clean_cnie
from storage import artisans as artisan_repo
from storage import certifications as repo
from storage.certifications import Application

router = Router()

WINDOW = timedelta(hours=1)
MENU_ID = "certification"


@dataclass(frozen=True)
class ShowApplication(Payload):
    """One of the artisan's applications (re-checked to be theirs)."""

    prefix: ClassVar[str] = "cert:show"
    application_id: int


@dataclass(frozen=True)
class CalendarFile(Payload):
    """The .ics of the application's next appointment."""

    prefix: ClassVar[str] = "cert:ics"
    application_id: int


@dataclass(frozen=True)
class LinkApplication(Payload):
    """Link an application by its number and the CNIE on file."""

    prefix: ClassVar[str] = "cert:link"


@dataclass(frozen=True)
class VerifyPhone(Payload):
    """Prove the phone with Telegram's contact button (then files with that phone show)."""

    prefix: ClassVar[str] = "cert:verify"
class Cert(Step):
    """An artisan linking their certification file (number, then CNIE), or checking a code."""

    NUMBER = "cert.link.number"
    CNIE = "cert.link.cnie"
    VERIFY = "cert.verify"


# -- seeing one's applications ------------------------------------------------------------------

async def my_applications(ctx: Context) -> list[Application]:
    """The applications this artisan may see (claiming those that carry their verified phone)."""
    assert ctx.artisan is not None
    await claim_for(ctx.conn, ctx.artisan)
    return await repo.of_artisan(ctx.conn, ctx.artisan.id)


async def show_mine(ctx: Context, intro: Text | None = None) -> None:
    """The "My certification" entry: one card, a list to choose from, or how to link."""
    ctx.finish()
    assert ctx.artisan is not None
    if intro is not None:
        ctx.say(intro, remove_keyboard=True)
    apps = await my_applications(ctx)
    if len(apps) == 1:
        await show_one(ctx, apps[0], alone=True)
        return
    if not apps:
        choices = [Choice(LinkApplication(), Msg("cert.link.button"))]
        if not ctx.artisan.phone_verified:
            choices.append(Choice(VerifyPhone(), Msg("cert.verify.button")))
        choices.append(Choice(NAV_MENU, Msg("nav.menu")))
        key = "cert.none" if ctx.artisan.phone_verified else "cert.none_unverified"
        ctx.say(Msg(key), choices)
        return
    lines: list[Text] = [Msg("cert.list.title", count=len(apps))]
    lines += [application_line(app) for app in apps]
    choices = [Choice(ShowApplication(app.id), app.number) for app in apps]
    choices += [Choice(LinkApplication(), Msg("cert.link.another")), Choice(NAV_MENU, Msg("nav.menu"))]
    ctx.say(join(ctx.render, lines), choices)


async def show_one(ctx: Context, app: Application, *, alone: bool = False) -> None:
    entries = await repo.history(ctx.conn, app.id)
    choices: list[Choice] = []
    if calendar_file(ctx.services, _reader(ctx), app, 0) is not None:
        choices.append(Choice(CalendarFile(app.id), Msg("cert.ics.button")))
    if not alone:
        choices.append(Choice(MenuButton(MENU_ID), Msg("cert.list.all")))
    choices += [Choice(LinkApplication(), Msg("cert.link.another")), Choice(NAV_MENU, Msg("nav.menu"))]
    card = artisan_card(app, entries, ctx.zone, contact=contact_card(ctx.services.settings.chamber))
    ctx.say(join(ctx.render, card), choices)


def _reader(ctx: Context) -> artisan_repo.Artisan:
    assert ctx.artisan is not None
    return ctx.artisan


async def _own(ctx: Context, app_id: int) -> Application | None:
    """The application named by the pressed button, if it is this artisan's; else None."""
    for app in await my_applications(ctx):
        if app.id == app_id:
            return app
    return None


@router.action(ShowApplication, registered=True)
async def open_application(ctx: Context, button: ShowApplication) -> None:
    app = await _own(ctx, button.application_id)
    if app is None:
        ctx.say(Msg("common.stale"))
        await show_mine(ctx)
        return
    ctx.finish()
    await show_one(ctx, app)


@router.action(CalendarFile, registered=True)
async def send_calendar(ctx: Context, button: CalendarFile) -> None:
    app = await _own(ctx, button.application_id)
    document = calendar_file(ctx.services, _reader(ctx), app, 0) if app is not None else None
    if app is None or document is None:
        ctx.say(Msg("common.stale"))
        await show_mine(ctx)
        return
    entries = await repo.history(ctx.conn, app.id)
    document = calendar_file(ctx.services, _reader(ctx), app, entries[-1].id if entries else 0)
    ctx.say(Msg("cert.ics.sent", number=app.number), document=document)


router.menu_item(MenuItem(MENU_ID, "cert.menu", show_mine, order=40))

WORDS = ("certification", "my certification", "ma certification", "mon dossier", "شهادتي",
         "ملف شهادتي", "التصديق")


async def typed_word(ctx: Context) -> None:
    """"certification" / "شهادتي" typed anywhere opens the entry (registered artisans only)."""
    if ctx.artisan is None:
        fallback = ctx.services.router.fallback
        if fallback is not None:
            await fallback(ctx)
        return
    await show_mine(ctx)


router.keyword(WORDS, typed_word)


@router.command("certification", registered=True, describe="cert.cmd")
async def cmd_certification(ctx: Context) -> None:
    await show_mine(ctx)


# -- linking with number + CNIE ------------------------------------------------------------------

async def blocked_until(ctx: Context) -> Msg | None:
    """Why this user may not guess now (and until when), or None."""
    limit = ctx.services.settings.certification.link_attempts_per_hour
    inc = ctx.incoming
    wrong = await repo.wrong_attempts_since(ctx.conn, inc.channel, inc.user_id, ctx.now - WINDOW)
    if len(wrong) < limit:
        return None
    return with_card(Msg("cert.link.blocked", until=wrong[-limit] + WINDOW),
                     ctx.services.settings.chamber)


@router.action(LinkApplication, registered=True)
async def start_link(ctx: Context, _: LinkApplication) -> None:
    refusal = await blocked_until(ctx)
    if refusal is not None:
        ctx.finish()
        ctx.say(refusal)
        await show_menu(ctx)
        return
    ctx.finish()
    await ctx.goto(Cert.NUMBER)


async def ask_number(ctx: Context) -> None:
    ctx.say(Msg("cert.link.ask_number"), nav_choices(), numbered=False)


async def take_number(ctx: Context) -> None:
    if ctx.incoming.kind != "text":
        raise InvalidInput("cert.number_invalid")
    ctx.data["cert_number"] = parsing.clean_number(ctx.text)
    await ctx.goto(Cert.CNIE)


async def ask_cnie(ctx: Context) -> None:
    ctx.say(Msg("cert.link.ask_cnie"), nav_choices(), numbered=False)


async def take_cnie(ctx: Context) -> None:
    if ctx.incoming.kind != "text":
        raise InvalidInput("reg.cnie_invalid")
    cnie = clean_cnie(ctx.text)
    number = str(ctx.data.get("cert_number") or "")
    refusal = await blocked_until(ctx)
    if refusal is not None:
        ctx.finish()
        ctx.say(refusal)
        await show_menu(ctx)
        return
    app = await repo.by_number(ctx.conn, number) if number else None
    if app is not None and app.cnie == cnie:
        await _link(ctx, app)
        return
    inc = ctx.incoming
    await repo.add_wrong_attempt(ctx.conn, inc.channel, inc.user_id, ctx.now)
    refusal = await blocked_until(ctx)
    if refusal is not None:
        ctx.finish()
        ctx.say(Msg("cert.link.no_match_last"))
        ctx.say(refusal)
        await show_menu(ctx)
        return
    limit = ctx.services.settings.certification.link_attempts_per_hour
    wrong = await repo.wrong_attempts_since(ctx.conn, inc.channel, inc.user_id, ctx.now - WINDOW)
    ctx.say(Msg("cert.link.no_match", count=limit - len(wrong)))
    await ctx.goto(Cert.NUMBER)


async def _link(ctx: Context, app: Application) -> None:
    artisan = _reader(ctx)
    if app.artisan_id == artisan.id:
        await show_mine(ctx, Msg("cert.link.already_yours"))
        return
    holder = await artisan_repo.get(ctx.conn, app.artisan_id) if app.artisan_id else None
    if holder is not None and holder.erased_at is None:
        # They know the number and the CNIE, yet the file is another profile's: the chamber
        # sorts this out in person; nothing of the file is shown.
        ctx.finish()
        ctx.say(with_card(Msg("cert.link.taken"), ctx.services.settings.chamber))
        await show_menu(ctx)
        return
    if not await repo.link(ctx.conn, app.id, artisan.id, repo.LINK_CNIE, replacing=app.artisan_id):
        ctx.finish()
        ctx.say(with_card(Msg("cert.link.taken"), ctx.services.settings.chamber))
        await show_menu(ctx)
        return
    await show_mine(ctx, Msg("cert.link.done", number=app.number))


async def back_to_mine(ctx: Context) -> None:
    await show_mine(ctx)


router.state(State(Cert.NUMBER, ask_number, take_number, registered=True,
                   on_back=back_to_mine))
router.state(State(Cert.CNIE, ask_cnie, take_cnie, back=Cert.NUMBER,
                   registered=True))


# -- verifying the phone (Telegram's contact button) ---------------------------------------------

@router.action(VerifyPhone, registered=True)
async def start_verify(ctx: Context, _: VerifyPhone) -> None:
    ctx.finish()
    await ctx.goto(Cert.VERIFY)


async def ask_verify(ctx: Context) -> None:
    ctx.say(Msg("cert.verify.ask"), nav_choices(), ask_contact=True)


async def take_verify(ctx: Context) -> None:
    values = await fields.take_phone(ctx)
    if not values["phone_verified"]:
        raise InvalidInput("cert.verify.use_button")
    artisan = _reader(ctx)
    owner = await artisan_repo.by_verified_phone(ctx.conn, values["phone"])
    if owner is not None and owner.id != artisan.id:
        raise InvalidInput("profile.phone_taken")
    await phones.proven(ctx, artisan.id, values["phone"])
    await artisan_repo.update_fields(ctx.conn, artisan.id, ctx.now, phone=values["phone"],
                                     phone_verified=True)
    await ctx.refresh_artisan()
    await show_mine(ctx, Msg("cert.verify.done", phone=values["phone"]))


router.state(State(Cert.VERIFY, ask_verify, take_verify, registered=True, on_back=back_to_mine))


# -- housekeeping --------------------------------------------------------------------------------

async def prune_attempts(services: Services) -> None:
    """Wrong guesses older than the window no longer count: drop them."""
    async with services.db.transaction() as conn:
        await repo.prune_attempts(conn, services.clock.now() - WINDOW)
