"""The artisan's profile fields: how each is asked and how an answer is read.

Registration and the profile editor ask the same questions and accept the same answers; they only
differ in what happens next (the next step, or saving at once), so both build their states from
these functions.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue import Context, nav_choices
from bot.errors import InvalidInput
from bot.i18n import Msg, Text
from bot.messages import Choice
from handlers.catalog import CRAFTS, REGIONS
from handlers.validation import clean_cnie, clean_free_text, clean_name, parse_phone

Values = dict[str, Any]


async def ask_name(ctx: Context) -> None:
    ctx.say(Msg("reg.ask_name"), nav_choices())


async def take_name(ctx: Context) -> Values:
    if ctx.incoming.kind != "text":
        raise InvalidInput("reg.name_expected")
    return {"full_name": clean_name(ctx.text)}


async def ask_phone(ctx: Context) -> None:
    if ctx.incoming.verified_phone:
        # The channel already knows the number (WhatsApp): no "share my number" button there.
        ctx.say(Msg("reg.ask_phone_typed"), nav_choices())
        return
    ctx.say(Msg("reg.ask_phone"), nav_choices(), ask_contact=True)


async def take_phone(ctx: Context) -> Values:
    """A shared contact (must be the user's own) or a typed number; both end up E.164."""
    inc = ctx.incoming
    if inc.kind == "contact" and inc.contact is not None:
        # Telegram's "share my number" button always carries the sender's own user id; a
        # forwarded contact card carries someone else's id, or none.
        if inc.contact.user_id != inc.user_id:
            raise InvalidInput("reg.contact_not_yours")
        return {"phone": parse_phone(inc.contact.phone), "phone_verified": True}
    if inc.kind != "text":
        raise InvalidInput("reg.phone_invalid")
    return {"phone": parse_phone(inc.text), "phone_verified": False}


async def ask_region(ctx: Context) -> None:
    choices = [Choice(f"region:{code}", Msg(f"region.{code}")) for code in REGIONS]
    ctx.say(Msg("reg.ask_region"), [*choices, *nav_choices()])


async def take_region(ctx: Context) -> Values:
    code = (ctx.choice_id or "").removeprefix("region:")
    if code not in REGIONS:
        raise InvalidInput("common.use_buttons")
    return {"region": code}


async def ask_craft(ctx: Context) -> None:
    choices = [Choice(f"craft:{code}", Msg(f"craft.{code}")) for code in CRAFTS]
    ctx.say(Msg("reg.ask_craft"), [*choices, *nav_choices()])


async def take_craft(ctx: Context) -> Values:
    code = (ctx.choice_id or "").removeprefix("craft:")
    if code not in CRAFTS:
        raise InvalidInput("common.use_buttons")
    return {"craft": code, "craft_other": None}


async def ask_craft_other(ctx: Context) -> None:
    ctx.say(Msg("reg.ask_craft_other"), nav_choices())


async def take_craft_other(ctx: Context) -> Values:
    if ctx.incoming.kind != "text":
        raise InvalidInput("common.text_empty")
    return {"craft": "other", "craft_other": clean_free_text(ctx.text)}


async def ask_cnie(ctx: Context) -> None:
    ctx.say(Msg("reg.ask_cnie"), [Choice("cnie:skip", Msg("reg.cnie_skip")), *nav_choices()])


async def take_cnie(ctx: Context) -> Values:
    if ctx.choice_id == "cnie:skip":
        return {"cnie": None}
    if ctx.incoming.kind != "text":
        raise InvalidInput("reg.cnie_invalid")
    return {"cnie": clean_cnie(ctx.text)}


def describe(values: Values) -> dict[str, Text]:
    """Parameters for a profile card / summary from stored values."""
    craft = values.get("craft")
    craft_text: Text
    if craft == "other" and values.get("craft_other"):
        craft_text = str(values["craft_other"])
    elif craft:
        craft_text = Msg(f"craft.{craft}")
    else:
        craft_text = Msg("common.none")
    region = values.get("region")
    return {
        "name": str(values.get("full_name") or ""),
        "phone": str(values.get("phone") or ""),
        "region": Msg(f"region.{region}") if region else Msg("common.none"),
        "craft": craft_text,
        "cnie": str(values["cnie"]) if values.get("cnie") else Msg("reg.cnie_none"),
        "language": Msg("lang.self_name"),
    }
