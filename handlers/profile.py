"""The artisan's profile: see every field, change any of them, change language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from bot.dialogue import Context, MenuItem, Router, State, Step, nav_choices
from bot.errors import InvalidInput
from bot.i18n import Msg
from bot.messages import Choice
from bot.payloads import Payload
from handlers import fields, phones
from handlers.alerts import ShowAlerts
from handlers.registration import LANGUAGE_NAMES, Reg, announce_language
from storage import artisans as artisan_repo
from storage import voice as voice_repo

router = Router()



class Prof(Step):
    """The steps of changing one field of the profile (each returns to the profile)."""

    NAME = "prof.name"
    PHONE = "prof.phone"
    REGION = "prof.region"
    CRAFT = "prof.craft"
    CRAFT_OTHER = "prof.craft_other"
    CNIE = "prof.cnie"
    LANG = "prof.lang"


EDITABLE = {"name": Prof.NAME, "phone": Prof.PHONE, "region": Prof.REGION, "craft": Prof.CRAFT,
            "cnie": Prof.CNIE, "lang": Prof.LANG}


@dataclass(frozen=True)
class EditField(Payload):
    """Change one field of the profile (one of ``EDITABLE``)."""

    prefix: ClassVar[str] = "prof:edit"
    field: str


@dataclass(frozen=True)
class ToggleVoiceHelp(Payload):
    """Voice help on/off, shown on the profile; handled by :mod:`handlers.voice`."""

    prefix: ClassVar[str] = "vh:toggle"


async def show_profile(ctx: Context, intro: Msg | None = None) -> None:
    ctx.finish()
    artisan = ctx.artisan
    assert artisan is not None
    values = {
        "full_name": artisan.full_name, "phone": artisan.phone, "region": artisan.region,
        "craft": artisan.craft, "craft_other": artisan.craft_other, "cnie": artisan.cnie,
    }
    params = fields.describe(values)
    status = Msg("profile.notices_off") if artisan.opted_out else Msg("profile.notices_on")
    if intro is not None:
        ctx.say(intro)
    choices = [Choice(EditField(f), Msg(f"profile.edit_{f}")) for f in EDITABLE]
    choices.append(Choice(ShowAlerts(), Msg("alert.profile_button")))
    voice = await voice_repo.wants(ctx.conn, artisan.id)
    choices.append(Choice(ToggleVoiceHelp(), Msg("voice.help_is_on" if voice else "voice.help_is_off")))
    choices.append(Choice("nav:menu", Msg("nav.menu")))
    ctx.say(Msg("profile.card", notices=status, **params), choices)


router.menu_item(MenuItem("profile", "menu.profile", show_profile, order=80))


@router.command("profile", registered=True, describe="cmd.profile")
async def cmd_profile(ctx: Context) -> None:
    await show_profile(ctx)


@router.action(EditField, registered=True)
async def edit(ctx: Context, button: EditField) -> None:
    target = button.field
    if target not in EDITABLE:
        await show_profile(ctx)
        return
    await ctx.goto(EDITABLE[target])


async def _save(ctx: Context, values: fields.Values) -> None:
    assert ctx.artisan is not None
    await artisan_repo.update_fields(ctx.conn, ctx.artisan.id, ctx.now, **values)
    await ctx.refresh_artisan()
    await show_profile(ctx, Msg("profile.saved"))


async def back_to_profile(ctx: Context) -> None:
    await show_profile(ctx)


def _editor(name: Prof, ask: Callable[[Context], Awaitable[None]],
            take: Callable[[Context], Awaitable[fields.Values]]) -> State:
    async def handle(ctx: Context) -> None:
        values = await take(ctx)
        if values.get("craft") == "other" and not values.get("craft_other"):
            await ctx.goto(Prof.CRAFT_OTHER)
            return
        await _save(ctx, values)

    return State(name, ask, handle, registered=True, on_back=back_to_profile)


async def handle_phone(ctx: Context) -> None:
    """A typed number is saved as a claim whoever else holds it (no oracle, see
    :mod:`handlers.phones`); a proven one is refused only when another profile proved it."""
    values = await fields.take_phone(ctx)
    assert ctx.artisan is not None
    if values["phone_verified"]:
        owner = await artisan_repo.by_verified_phone(ctx.conn, values["phone"])
        if owner is not None and owner.id != ctx.artisan.id:
            ctx.say(Msg("profile.phone_taken"))
            await ctx.reprompt()
            return
        await phones.proven(ctx, ctx.artisan.id, values["phone"])
    ctx.say(Msg("reg.phone_saved", phone=values["phone"]), remove_keyboard=True)
    await _save(ctx, values)


async def handle_cnie(ctx: Context) -> None:
    """Saved as typed, whoever else typed it: a CNIE on a profile is a claim (refusing a known
    one would tell anyone it is registered); only the register's CNIE links a certification."""
    await _save(ctx, await fields.take_cnie(ctx))


async def ask_lang(ctx: Context) -> None:
    ctx.say(
        Msg("profile.ask_language"),
        [*[Choice(f"lang:{code}", name) for code, name in LANGUAGE_NAMES.items()], *nav_choices()],
    )


async def take_lang(ctx: Context) -> None:
    code = (ctx.choice_id or "").removeprefix("lang:")
    if code not in LANGUAGE_NAMES:
        raise InvalidInput("common.use_buttons")
    announce_language(ctx, code)
    await _save(ctx, {"locale": code})


router.state(_editor(Prof.NAME, fields.ask_name, fields.take_name))
router.state(State(Prof.PHONE, fields.ask_phone, handle_phone, registered=True, on_back=back_to_profile))
router.state(_editor(Prof.REGION, fields.ask_region, fields.take_region))
router.state(_editor(Prof.CRAFT, fields.ask_craft, fields.take_craft))
router.state(_editor(Prof.CRAFT_OTHER, fields.ask_craft_other, fields.take_craft_other))
router.state(State(Prof.CNIE, fields.ask_cnie, handle_cnie, registered=True, on_back=back_to_profile))
router.state(State(Prof.LANG, ask_lang, take_lang, registered=True, on_back=back_to_profile))


@router.command("language", describe="cmd.language")
async def cmd_language(ctx: Context) -> None:
    if ctx.artisan is None:
        await ctx.goto(Reg.LANG)
        return
    await ctx.goto(Prof.LANG)


async def menu_language(ctx: Context) -> None:
    await ctx.goto(Prof.LANG)


router.menu_item(MenuItem("language", "menu.language", menu_language, order=85))
