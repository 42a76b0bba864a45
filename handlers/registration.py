"""The artisan's first conversation: language → consent → name → phone → region → craft → CNIE
→ summary (edit any field, turn new-training alerts off) → confirm → main menu.

Nothing personal is written to the ``artisans`` table before the artisan confirms the summary;
until then answers live in the conversation state (so a restart resumes at the same step), and
cancelling erases them. A deep link (``/start s42``) given before registering is kept and opened
once registration is done.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.dialogue import Context, Router, State, Step, nav_choices, show_menu
from bot.errors import InvalidInput
from bot.i18n import Msg, Raw
from bot.languages import SELF_NAMES, ordered
from bot.messages import Choice
from handlers import fields, phones
from handlers.validation import mask_phone, verified_number
from storage import alerts as alert_repo
from storage import artisans as artisan_repo
from storage import voice as voice_repo

router = Router()

LANGUAGE_NAMES = SELF_NAMES
_DEEPLINK = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
Take = Callable[[Context], Awaitable[fields.Values]]


class Reg(Step):
    """The steps of registration (and of linking a second channel)."""

    LANG = "reg.lang"
    CONSENT = "reg.consent"
    NAME = "reg.name"
    PHONE = "reg.phone"
    LINK = "reg.link"
    REGION = "reg.region"
    CRAFT = "reg.craft"
    CRAFT_OTHER = "reg.craft_other"
    CNIE = "reg.cnie"
    SUMMARY = "reg.summary"


def answers(ctx: Context) -> dict[str, object]:
    reg = ctx.data.setdefault("reg", {})
    assert isinstance(reg, dict)
    return reg


# -- entry -----------------------------------------------------------------------------------

async def start_registration(ctx: Context) -> None:
    """Where every unregistered user lands: pick a language first."""
    if ctx.state and ctx.state.startswith("reg."):
        ctx.say(Msg("reg.continue"))
        await ctx.reprompt()
        return
    await ctx.goto(Reg.LANG)


router.fallback = start_registration


@router.command("start", describe="cmd.start")
async def cmd_start(ctx: Context) -> None:
    payload = ctx.args.split()[0] if ctx.args else ""
    if payload and _DEEPLINK.match(payload):
        ctx.data["deeplink"] = payload
    if ctx.artisan is None:
        await start_registration(ctx)
        return
    if await open_deeplink(ctx):
        return
    await show_menu(ctx)


async def open_deeplink(ctx: Context) -> bool:
    """Open a kept deep link (``s42`` → the sessions feature), if a feature handles it."""
    payload = ctx.data.pop("deeplink", None)
    if not isinstance(payload, str) or not payload:
        return False
    handler = ctx.services.router.deeplinks.get(payload[0])
    if handler is None:
        return False
    ctx.args = payload
    await handler(ctx)
    return True


# -- language and consent --------------------------------------------------------------------

def announce_language(ctx: Context, lang: str) -> None:
    """Tell the channels this chat's language (Telegram gives Darija and Tamazight speakers
    their "/" menu per chat: its menus per language only know two-letter codes)."""
    inc = ctx.incoming
    ctx.services.channels.language_changed(inc.channel, inc.chat_id, lang, ctx.role)


async def ask_language(ctx: Context) -> None:
    """One short line per language, the likely one first (Telegram's language, the WhatsApp
    number's country), and a button per language in its own name."""
    t = ctx.services.translator
    codes = ordered(ctx.lang, t.languages)
    greeting = "\n".join(t.render(Msg("reg.welcome"), lang, ctx.zone) for lang in codes)
    ctx.say(Raw(greeting), [Choice(f"lang:{code}", LANGUAGE_NAMES[code]) for code in codes])


async def take_language(ctx: Context) -> None:
    code = (ctx.choice_id or "").removeprefix("lang:")
    if code not in LANGUAGE_NAMES:
        raise InvalidInput("common.use_buttons")
    ctx.data["lang"] = code
    ctx.data.pop("consent_shown", None)
    await ctx.goto(Reg.CONSENT)


def _consent_choices(ctx: Context) -> list[Choice]:
    """Agree, agree with voice help (offered to everyone here, so that the next questions
    already come with the chamber's voice), disagree and "more"; once the full notice is read,
    "back" takes the last place (the word "back" works at any time)."""
    last = (nav_choices(cancel=False) if ctx.data.get("consent_more")
            else [Choice("consent:more", Msg("reg.consent_more"))])
    return [Choice("consent:yes", Msg("reg.consent_yes")),
            Choice("consent:voice", Msg("voice.consent_with_voice")),
            Choice("consent:no", Msg("reg.consent_no")), *last]


async def ask_consent(ctx: Context) -> None:
    """The short notice once; asked again (after a misunderstanding, a voice note, a stale
    button), only the short question. "More" gives the full notice, once."""
    if ctx.data.get("consent_shown"):
        ctx.say(Msg("reg.consent_again"), _consent_choices(ctx))
        return
    ctx.data["consent_shown"] = True
    ctx.say(Msg("reg.consent"), _consent_choices(ctx))


async def take_consent(ctx: Context) -> None:
    if ctx.choice_id in ("consent:yes", "consent:voice"):
        ctx.data["consent"] = True
        # Voice help is offered to everyone here: the next steps already come with the voice.
        ctx.data["voice_help"] = ctx.choice_id == "consent:voice"
        await ctx.goto(Reg.NAME)
        return
    if ctx.choice_id == "consent:no":
        ctx.finish()
        ctx.data.pop("deeplink", None)
        ctx.say(Msg("reg.consent_declined"))
        return
    if ctx.choice_id == "consent:more":
        ctx.data["consent_more"] = True
        ctx.say(Msg("reg.consent_full"))
        await ask_consent(ctx)
        return
    raise InvalidInput("common.use_buttons")


router.state(State(Reg.LANG, ask_language, take_language))
router.state(State(Reg.CONSENT, ask_consent, take_consent, back=Reg.LANG))


# -- the profile questions -------------------------------------------------------------------

def _step(name: Reg, ask: Callable[[Context], Awaitable[None]], take: Take, back: Reg,
          following: Callable[[Context, fields.Values], Reg]) -> State:
    async def handle(ctx: Context) -> None:
        values = await take(ctx)
        answers(ctx).update(values)
        target = following(ctx, values)
        if ctx.data.get("editing") and target != Reg.CRAFT_OTHER:
            target = Reg.SUMMARY
        await ctx.goto(target)

    return State(name, ask, handle, back=back)


async def handle_phone(ctx: Context) -> None:
    """A typed number is kept as a claim, with the same answer whether or not another profile
    holds it (no oracle); only a proven number is offered the profile that proved it."""
    values = await fields.take_phone(ctx)
    answers(ctx).update(values)
    if values["phone_verified"]:
        owner = await artisan_repo.by_verified_phone(ctx.conn, values["phone"])
        if owner is not None:
            ctx.data["link_to"] = owner.id
            await ctx.goto(Reg.LINK)
            return
    ctx.say(Msg("reg.phone_saved", phone=values["phone"]), remove_keyboard=True)
    await ctx.goto(Reg.SUMMARY if ctx.data.get("editing") else Reg.REGION)


async def ask_phone(ctx: Context) -> None:
    verified = ctx.incoming.verified_phone
    if verified and not ctx.data.get("link_refused"):
        # WhatsApp: the sender's number is known and verified; no need to ask.
        phone = verified_number(verified)
        answers(ctx).update({"phone": phone, "phone_verified": True})
        owner = await artisan_repo.by_verified_phone(ctx.conn, phone)
        if owner is not None:
            ctx.data["link_to"] = owner.id
            await ctx.goto(Reg.LINK)
            return
        await ctx.goto(Reg.SUMMARY if ctx.data.get("editing") else Reg.REGION)
        return
    await fields.ask_phone(ctx)


def _after_craft(ctx: Context, values: fields.Values) -> Reg:
    return Reg.CRAFT_OTHER if values.get("craft") == "other" else Reg.CNIE


async def handle_cnie(ctx: Context) -> None:
    """Any well-formed CNIE gets the same answer: whether it is on another profile is not said
    (see :func:`confirm`)."""
    answers(ctx).update(await fields.take_cnie(ctx))
    await ctx.goto(Reg.SUMMARY)


router.state(_step(Reg.NAME, fields.ask_name, fields.take_name, Reg.CONSENT,
                   lambda ctx, v: Reg.PHONE))
router.state(State(Reg.PHONE, ask_phone, handle_phone, back=Reg.NAME))
router.state(_step(Reg.REGION, fields.ask_region, fields.take_region, Reg.PHONE,
                   lambda ctx, v: Reg.CRAFT))
router.state(_step(Reg.CRAFT, fields.ask_craft, fields.take_craft, Reg.REGION, _after_craft))
router.state(_step(Reg.CRAFT_OTHER, fields.ask_craft_other, fields.take_craft_other, Reg.CRAFT,
                   lambda ctx, v: Reg.CNIE))
router.state(State(Reg.CNIE, fields.ask_cnie, handle_cnie, back=Reg.CRAFT))


# -- linking a second channel to an existing artisan ------------------------------------------

async def ask_link(ctx: Context) -> None:
    owner = await artisan_repo.get(ctx.conn, int(ctx.data.get("link_to", 0)))
    if owner is None or owner.phone is None:
        ctx.data.pop("link_to", None)
        await ctx.goto(Reg.REGION)
        return
    ctx.say(
        Msg("reg.link_ask", phone=mask_phone(owner.phone)),
        [Choice("link:yes", Msg("common.yes")), Choice("link:no", Msg("reg.link_no")),
         *nav_choices(back=False)],
    )


async def take_link(ctx: Context) -> None:
    owner_id = int(ctx.data.get("link_to", 0))
    owner = await artisan_repo.get(ctx.conn, owner_id)
    if (ctx.choice_id != "link:yes" or owner is None or owner.erased_at is not None
            or not owner.phone_verified):
        ctx.data.pop("link_to", None)
        ctx.data["link_refused"] = True  # on WhatsApp: ask for a number instead of re-offering
        answers(ctx).pop("phone", None)
        answers(ctx).pop("phone_verified", None)
        ctx.say(Msg("reg.link_declined"))
        await ctx.goto(Reg.PHONE)
        return
    inc = ctx.incoming
    await artisan_repo.link_identity(ctx.conn, owner.id, inc.channel, inc.user_id, inc.chat_id, ctx.now)
    await ctx.refresh_artisan()
    ctx.finish()
    ctx.say(Msg("reg.linked"), remove_keyboard=True)
    if not await open_deeplink(ctx):
        await show_menu(ctx)


router.state(State(Reg.LINK, ask_link, take_link, back=Reg.PHONE))


# -- summary and confirmation ------------------------------------------------------------------

REQUIRED = (("full_name", Reg.NAME), ("phone", Reg.PHONE), ("region", Reg.REGION),
            ("craft", Reg.CRAFT))
EDITABLE = {"name": Reg.NAME, "phone": Reg.PHONE, "region": Reg.REGION, "craft": Reg.CRAFT,
            "cnie": Reg.CNIE}


async def ask_summary(ctx: Context) -> None:
    """The answers, whether new trainings of the craft will be announced (on unless turned off
    here: one tap, no extra step), Confirm first, then one button per field to change."""
    ctx.data["editing"] = True
    params = fields.describe(answers(ctx))
    alerts = not ctx.data.get("alerts_off")
    choices = [Choice("reg:confirm", Msg("reg.confirm"))]
    choices += [Choice(f"reg:edit:{f}", Msg(f"reg.edit_{f}")) for f in EDITABLE]
    choices.append(Choice("reg:alerts", Msg("alert.reg_btn_off" if alerts else "alert.reg_btn_on")))
    choices.append(Choice("nav:cancel", Msg("nav.cancel")))
    ctx.say(Msg("alert.reg_summary", summary=Msg("reg.summary", **params),
                line=Msg("alert.reg_on" if alerts else "alert.reg_off")), choices)
    ctx.replies[-1].voice_key = "reg.summary"  # voice help speaks the summary's recording


async def take_summary(ctx: Context) -> None:
    choice = ctx.choice_id or ""
    if choice == "reg:alerts":
        ctx.data["alerts_off"] = not ctx.data.get("alerts_off")
        await ctx.goto(Reg.SUMMARY)
        return
    if choice.startswith("reg:edit:"):
        target = choice.removeprefix("reg:edit:")
        if target in EDITABLE:
            await ctx.goto(EDITABLE[target])
            return
    if choice != "reg:confirm":
        raise InvalidInput("common.use_buttons")
    await confirm(ctx)


async def confirm(ctx: Context) -> None:
    values = answers(ctx)
    if not ctx.data.get("consent"):
        await ctx.goto(Reg.CONSENT)
        return
    for field, step in REQUIRED:
        if not values.get(field):
            await ctx.goto(step)
            return
    verified = bool(values.get("phone_verified"))
    if verified and await artisan_repo.by_verified_phone(ctx.conn, str(values["phone"])) is not None:
        await ctx.goto(Reg.PHONE)  # proven meanwhile by another account: offer to link
        return
    # The CNIE is stored as typed, even if another profile typed it too: it is a claim, and
    # anything else would tell whether it is known. Certification checks the register's CNIE.
    inc = ctx.incoming
    artisan_id = await artisan_repo.create(
        ctx.conn,
        ctx.now,
        full_name=values["full_name"],
        phone=values["phone"],
        phone_verified=verified,
        cnie=values.get("cnie"),
        region=values["region"],
        craft=values["craft"],
        craft_other=values.get("craft_other"),
        locale=ctx.lang,
        consent_at=ctx.now,
    )
    await artisan_repo.link_identity(ctx.conn, artisan_id, inc.channel, inc.user_id, inc.chat_id, ctx.now)
    if ctx.data.get("voice_help"):
        await voice_repo.set_help(ctx.conn, artisan_id, True, ctx.now)
    if verified:
        await phones.proven(ctx, artisan_id, str(values["phone"]))
    if ctx.data.get("alerts_off"):
        await alert_repo.set_alerts(ctx.conn, artisan_id, False, ctx.now)
    await ctx.refresh_artisan()
    announce_language(ctx, ctx.lang)
    ctx.finish()
    ctx.say(Msg("reg.done", name=str(values["full_name"])), remove_keyboard=True)
    if not await open_deeplink(ctx):
        await show_menu(ctx)


router.state(State(Reg.SUMMARY, ask_summary, take_summary, back=Reg.CNIE))
