"""``/broadcast``: staff write a message to many artisans, check it, and send or schedule it.

    /broadcast → language → text → compose hub ─┬─ text in another language / fallback language
                                                ├─ photo or document (attach / remove)
                                                ├─ audience hub ─ regions · crafts · languages ·
                                                │                 session (+ enrolled/wait-listed)
                                                └─ preview (as artisans see it, recipients per
                                                   channel) ─┬─ send now
                                                             └─ schedule (local date and time)

The broadcast row exists from the first step (status ``draft``, with its author) so that an
attached file is stored once, in the database, not in the conversation. Every state, action and
command here requires the ``staff`` role, and every button re-checks the broadcast id against
the conversation and the database: a forged or stale button gets "no longer available".
Sending itself (bulk enqueue, progress, report) is :mod:`handlers.broadcasts.delivery`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from bot.dialogue import Context, MenuItem, Router, State, Step, nav_choices, strip_invisible
from bot.errors import FileTooLarge, InvalidInput
from bot.i18n import Msg, Raw, Text
from bot.messages import Choice, Document, utf16_len
from bot.numbers import LATIN_DIGITS
from bot.payloads import Payload
from handlers.broadcasts import delivery
from handlers.broadcasts.buttons import BroadcastButton
from handlers.catalog import CRAFTS, REGIONS
from handlers.registration import LANGUAGE_NAMES
from storage import audience as audience_repo
from storage import broadcasts as repo
from storage.broadcasts import BroadcastStatus
from storage.database import Conn
from storage.enrolments import EnrolmentStatus

router = Router()
router.jobs.append(delivery.JOB)
router.attachments["broadcast"] = delivery.load_attachment
STAFF = "staff"
# In UTF-16 units, as Telegram counts (an emoji counts two); leaves room for the heading and
# the STOP line within Telegram's 4096.
MAX_TEXT = 3500
MAX_MEDIA_BYTES = 10 * 1024 * 1024

_DATETIME = re.compile(
    r"^\s*(?:(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2}))"
    r"(?:\s+|\s*[Tà@]\s*)(\d{1,2})\s*[:hH.]\s*(\d{2})\s*$"
)


# -- the answers that carry an id (the others are plain strings offered by their step) ---------

@dataclass(frozen=True)
class PickSession(Payload):
    """The audience: people enrolled in this session (``bc:s:none``: no session)."""

    prefix: ClassVar[str] = "bc:s"
    session_id: int


@dataclass(frozen=True)
class SendNow(BroadcastButton):
    prefix: ClassVar[str] = "bc:send"


@dataclass(frozen=True)
class Schedule(BroadcastButton):
    prefix: ClassVar[str] = "bc:sched"


@dataclass(frozen=True)
class ConfirmSchedule(BroadcastButton):
    prefix: ClassVar[str] = "bc:schedok"
class Compose(Step):
    """Composing a broadcast: texts per language, fallback, media, audience, preview, schedule."""

    LANG = "bc.lang"
    TEXT = "bc.text"
    HUB = "bc.hub"
    FALLBACK = "bc.fallback"
    MEDIA = "bc.media"
    AUDIENCE = "bc.audience"
    AUD_REGIONS = "bc.aud_regions"
    AUD_CRAFTS = "bc.aud_crafts"
    AUD_LANGS = "bc.aud_langs"
    AUD_SESSION = "bc.aud_session"
    AUD_SESSION_STATUS = "bc.aud_session_status"
    PREVIEW = "bc.preview"
    WHEN = "bc.when"
    WHEN_CONFIRM = "bc.when_confirm"


# -- the draft behind the conversation ---------------------------------------------------------

async def current(ctx: Context) -> repo.Broadcast:
    """The draft this conversation edits; a stale one (sent, cancelled, missing) ends the flow."""
    broadcast_id = ctx.data.get("bc")
    b = await repo.get(ctx.conn, int(broadcast_id)) if isinstance(broadcast_id, int) else None
    if b is None or b.status != BroadcastStatus.DRAFT:
        raise _Stale
    return b


class _Stale(Exception):
    """The draft is gone or no longer a draft."""


def _guarded(fn: Callable[[Context], Awaitable[None]]) -> Callable[[Context], Awaitable[None]]:
    async def run(ctx: Context) -> None:
        try:
            await fn(ctx)
        except _Stale:
            ctx.finish()
            ctx.say(Msg("common.stale"))

    return run


def _lang_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _state(name: Compose, prompt: Callable[[Context], Awaitable[None]],
           handle: Callable[[Context], Awaitable[None]], back: Compose | None = None,
           files: bool = False) -> None:
    router.state(State(name, _guarded(prompt), _guarded(handle), back=back, role=STAFF, files=files))


# -- entry -----------------------------------------------------------------------------------

@router.command("broadcast", role=STAFF, describe="cmd.broadcast")
async def cmd_broadcast(ctx: Context) -> None:
    inc = ctx.incoming
    broadcast_id = await repo.create_draft(
        ctx.conn, channel=inc.channel, author_id=inc.user_id, author_chat=inc.chat_id, lang=ctx.lang,
        now=ctx.now,
    )
    ctx.finish()
    await ctx.goto(Compose.LANG, bc=broadcast_id)


async def ask_lang(ctx: Context) -> None:
    b = await current(ctx)
    key = "bc.ask_lang_first" if not b.texts else "bc.ask_lang"
    ctx.say(Msg(key), [*[Choice(f"bc:l:{c}", n) for c, n in LANGUAGE_NAMES.items()], *nav_choices()])


async def take_lang(ctx: Context) -> None:
    code = (ctx.choice_id or "").removeprefix("bc:l:")
    if code not in LANGUAGE_NAMES:
        raise InvalidInput("common.use_buttons")
    await ctx.goto(Compose.TEXT, bc_lang=code)


async def ask_text(ctx: Context) -> None:
    b = await current(ctx)
    lang = str(ctx.data.get("bc_lang", b.fallback_lang))
    key = "bc.ask_text_replace" if lang in b.texts else "bc.ask_text"
    ctx.say(Msg(key, language=_lang_name(lang), max=MAX_TEXT), nav_choices(), numbered=False)


async def take_text(ctx: Context) -> None:
    b = await current(ctx)
    if ctx.incoming.kind != "text":
        raise InvalidInput("bc.text_expected")
    text = ctx.text.strip()
    if not strip_invisible(text).strip():
        raise InvalidInput("common.text_empty")
    if utf16_len(text) > MAX_TEXT:  # as Telegram counts: an emoji counts two
        raise InvalidInput("bc.text_too_long", max=MAX_TEXT, length=utf16_len(text))
    lang = str(ctx.data.get("bc_lang", b.fallback_lang))
    texts = {**b.texts, lang: text}
    fallback = b.fallback_lang if b.fallback_lang in b.texts else lang
    await repo.update_fields(ctx.conn, b.id, ctx.now, texts=texts, fallback_lang=fallback)
    ctx.data.pop("bc_lang", None)
    await ctx.goto(Compose.HUB)


_state(Compose.LANG, ask_lang, take_lang, back=Compose.HUB)
_state(Compose.TEXT, ask_text, take_text, back=Compose.LANG)


# -- the compose hub ---------------------------------------------------------------------------

async def ask_hub(ctx: Context) -> None:
    b = await current(ctx)
    if not b.texts:
        await ctx.goto(Compose.LANG)
        return
    written = ", ".join(_lang_name(c) for c in LANGUAGE_NAMES if c in b.texts)
    media: Text = Msg(f"bc.media_{b.media_kind}", name=b.media_name or "") if b.media_kind else Msg(
        "bc.media_none")
    choices = [Choice(f"bc:l:{c}", Msg("bc.write_in", language=n)) for c, n in LANGUAGE_NAMES.items()]
    if len(b.texts) > 1:
        choices.append(Choice("bc:fb", Msg("bc.fallback_button")))
    choices.append(Choice("bc:media", Msg("bc.media_button")))
    if b.media_kind:
        choices.append(Choice("bc:nomedia", Msg("bc.media_remove")))
    choices += [Choice("bc:aud", Msg("bc.audience_button")), Choice("bc:preview", Msg("bc.preview_button")),
                Choice("nav:cancel", Msg("nav.cancel"))]
    ctx.say(Msg("bc.hub", id=b.id, languages=written, fallback=_lang_name(b.fallback_lang), media=media,
                audience=Raw(await audience_text(ctx, b.audience))), choices)


async def take_hub(ctx: Context) -> None:
    b = await current(ctx)
    choice = ctx.choice_id or ""
    if choice.startswith("bc:l:"):
        await take_lang(ctx)
    elif choice == "bc:fb":
        await ctx.goto(Compose.FALLBACK)
    elif choice == "bc:media":
        await ctx.goto(Compose.MEDIA)
    elif choice == "bc:nomedia":
        await repo.update_fields(ctx.conn, b.id, ctx.now, media_kind=None, media=None, media_name=None,
                                 media_mime=None)
        await ctx.goto(Compose.HUB)
    elif choice == "bc:aud":
        await ctx.goto(Compose.AUDIENCE)
    elif choice == "bc:preview":
        await ctx.goto(Compose.PREVIEW)
    else:
        raise InvalidInput("common.use_buttons")


async def ask_fallback(ctx: Context) -> None:
    b = await current(ctx)
    ctx.say(Msg("bc.ask_fallback"),
            [*[Choice(f"bc:fb:{c}", n) for c, n in LANGUAGE_NAMES.items() if c in b.texts],
             *nav_choices()])


async def take_fallback(ctx: Context) -> None:
    b = await current(ctx)
    code = (ctx.choice_id or "").removeprefix("bc:fb:")
    if code not in b.texts:
        raise InvalidInput("common.use_buttons")
    await repo.update_fields(ctx.conn, b.id, ctx.now, fallback_lang=code)
    await ctx.goto(Compose.HUB)


async def ask_media(ctx: Context) -> None:
    await current(ctx)
    ctx.say(Msg("bc.ask_media", max=MAX_MEDIA_BYTES // (1024 * 1024)), nav_choices())


async def take_media(ctx: Context) -> None:
    b = await current(ctx)
    file = ctx.incoming.file
    if file is None:
        raise InvalidInput("bc.media_expected")
    if file.size is not None and file.size > MAX_MEDIA_BYTES:
        raise InvalidInput("bc.media_too_big", max=MAX_MEDIA_BYTES // (1024 * 1024))
    channel = ctx.services.channels.get(ctx.incoming.channel)
    if channel is None:
        raise InvalidInput("bc.media_unsupported_here")
    try:
        content = await channel.fetch_file(file.file_id)
    except FileTooLarge as err:  # the platform told us its size only now (WhatsApp)
        raise InvalidInput("bc.media_too_big", max=MAX_MEDIA_BYTES // (1024 * 1024)) from err
    except Exception as err:  # the platform could not give us the file
        raise InvalidInput("bc.media_failed") from err
    if not content or len(content) > MAX_MEDIA_BYTES:
        raise InvalidInput("bc.media_too_big", max=MAX_MEDIA_BYTES // (1024 * 1024))
    await repo.update_fields(ctx.conn, b.id, ctx.now, media_kind=file.kind, media=bytes(content),
                             media_name=file.filename[:255], media_mime=file.mime_type[:100])
    ctx.say(Msg("bc.media_saved"))
    await ctx.goto(Compose.HUB)


_state(Compose.HUB, ask_hub, take_hub)
_state(Compose.FALLBACK, ask_fallback, take_fallback, back=Compose.HUB)
_state(Compose.MEDIA, ask_media, take_media, back=Compose.HUB, files=True)


# -- audience ----------------------------------------------------------------------------------

async def audience_text(ctx: Context, data: dict[str, Any]) -> str:
    """The audience filter in words (HTML), e.g. "Regions: Marrakech-Safi · Crafts: Zellige"."""
    aud = audience_repo.Audience.from_json(data)
    if aud.everyone:
        return ctx.render(Msg("bc.aud_everyone"))
    parts: list[str] = []
    if aud.regions:
        names = ", ".join(ctx.render(Msg(f"region.{r}")) for r in aud.regions)
        parts.append(ctx.render(Msg("bc.aud_regions", names=Raw(names))))
    if aud.crafts:
        names = ", ".join(ctx.render(Msg(f"craft.{c}")) for c in aud.crafts)
        parts.append(ctx.render(Msg("bc.aud_crafts", names=Raw(names))))
    if aud.langs:
        parts.append(ctx.render(Msg("bc.aud_langs", names=", ".join(_lang_name(x) for x in aud.langs))))
    if aud.session is not None:
        found = await audience_repo.session(ctx.conn, aud.session)
        title = audience_repo.title_in(found.title, ctx.lang, f"#{aud.session}") if found else \
            f"#{aud.session}"
        statuses = ", ".join(ctx.render(Msg(f"bc.enrol_{s}")) for s in aud.session_statuses)
        parts.append(ctx.render(Msg("bc.aud_session", title=title, statuses=Raw(statuses))))
    return "\n".join(parts)


async def _audience(ctx: Context) -> tuple[repo.Broadcast, audience_repo.Audience]:
    b = await current(ctx)
    return b, audience_repo.Audience.from_json(b.audience)


async def _save_audience(ctx: Context, b: repo.Broadcast, aud: audience_repo.Audience) -> None:
    await repo.update_fields(ctx.conn, b.id, ctx.now, audience=aud.to_json())


async def ask_audience(ctx: Context) -> None:
    b, aud = await _audience(ctx)
    reach = await audience_repo.reach(ctx.conn, aud)
    choices = [
        Choice("bc:a:regions", Msg("bc.aud_by_region")),
        Choice("bc:a:crafts", Msg("bc.aud_by_craft")),
        Choice("bc:a:langs", Msg("bc.aud_by_lang")),
    ]
    if await audience_repo.has_table(ctx.conn, "enrolments"):
        choices.append(Choice("bc:a:session", Msg("bc.aud_by_session")))
    if not aud.everyone:
        choices.append(Choice("bc:a:all", Msg("bc.aud_all_button")))
    choices.append(Choice("bc:a:done", Msg("bc.aud_done")))
    ctx.say(Msg("bc.audience", audience=Raw(await audience_text(ctx, b.audience)),
                count=reach.total - reach.unreachable), choices)


async def take_audience(ctx: Context) -> None:
    b, aud = await _audience(ctx)
    choice = (ctx.choice_id or "").removeprefix("bc:a:")
    if choice == "all":
        await _save_audience(ctx, b, audience_repo.Audience())
        await ctx.goto(Compose.AUDIENCE)
    elif choice in ("regions", "crafts", "langs", "session"):
        await ctx.goto(Compose(f"bc.aud_{choice}"))
    elif choice == "done":
        await ctx.goto(Compose.HUB)
    else:
        raise InvalidInput("common.use_buttons")


def _picker(dimension: str, prefix: str, codes: tuple[str, ...], label: Callable[[str], Text],
            ask_key: str) -> None:
    """A multi-select state: each press toggles one value; "Done" returns to the audience."""

    async def ask(ctx: Context) -> None:
        _, aud = await _audience(ctx)
        chosen = set(getattr(aud, dimension))
        choices = [Choice(f"{prefix}{code}", Msg("bc.picked" if code in chosen else "bc.unpicked",
                                                 label=label(code))) for code in codes]
        ctx.say(Msg(ask_key), [*choices, Choice("bc:a:back", Msg("bc.aud_done"))])

    async def take(ctx: Context) -> None:
        b, aud = await _audience(ctx)
        choice = ctx.choice_id or ""
        if choice == "bc:a:back":
            await ctx.goto(Compose.AUDIENCE)
            return
        code = choice.removeprefix(prefix)
        if not choice.startswith(prefix) or code not in codes:
            raise InvalidInput("common.use_buttons")
        chosen = set(getattr(aud, dimension)) ^ {code}
        data = {**aud.to_json(), dimension: sorted(chosen)}
        await _save_audience(ctx, b, audience_repo.Audience.from_json(data))
        await ctx.goto(Compose(f"bc.aud_{dimension}"))

    _state(Compose(f"bc.aud_{dimension}"), ask, take, back=Compose.AUDIENCE)


_picker("regions", "bc:r:", REGIONS, lambda c: Msg(f"region.{c}"), "bc.ask_regions")
_picker("crafts", "bc:c:", CRAFTS, lambda c: Msg(f"craft.{c}"), "bc.ask_crafts")
_picker("langs", "bc:g:", tuple(LANGUAGE_NAMES), _lang_name, "bc.ask_langs")


async def ask_session(ctx: Context) -> None:
    await current(ctx)
    found = await audience_repo.sessions_for_audience(ctx.conn, ctx.now)
    if not found:
        ctx.say(Msg("bc.no_sessions"))
        await ctx.goto(Compose.AUDIENCE)
        return
    choices = []
    for s in found:
        title = audience_repo.title_in(s.title, ctx.lang, f"#{s.id}")
        label: Text = Msg("bc.session_choice", title=title, when=s.starts_at) if s.starts_at else title
        choices.append(Choice(PickSession(s.id), label))
    choices.append(Choice("bc:s:none", Msg("bc.session_none")))
    ctx.say(Msg("bc.ask_session"), [*choices, *nav_choices()])


async def take_session(ctx: Context) -> None:
    b, aud = await _audience(ctx)
    data = aud.to_json()
    if ctx.choice_id == "bc:s:none":
        data.pop("session", None)
        data.pop("session_statuses", None)
        await _save_audience(ctx, b, audience_repo.Audience.from_json(data))
        await ctx.goto(Compose.AUDIENCE)
        return
    picked = PickSession.unpack(ctx.choice_id or "")
    if picked is None or await audience_repo.session(ctx.conn, picked.session_id) is None:
        raise InvalidInput("common.use_buttons")
    data["session"] = picked.session_id
    await _save_audience(ctx, b, audience_repo.Audience.from_json(data))
    await ctx.goto(Compose.AUD_SESSION_STATUS)


async def ask_session_status(ctx: Context) -> None:
    await current(ctx)
    ctx.say(Msg("bc.ask_session_status"), [
        Choice("bc:ss:enrolled", Msg("bc.enrol_enrolled")),
        Choice("bc:ss:waitlisted", Msg("bc.enrol_waitlisted")),
        Choice("bc:ss:both", Msg("bc.enrol_both")),
        *nav_choices(),
    ])


async def take_session_status(ctx: Context) -> None:
    b, aud = await _audience(ctx)
    choice = (ctx.choice_id or "").removeprefix("bc:ss:")
    enrolled, waitlisted = EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED
    statuses = {"enrolled": [enrolled], "waitlisted": [waitlisted],
                "both": [enrolled, waitlisted]}.get(choice)
    if statuses is None or aud.session is None:
        raise InvalidInput("common.use_buttons")
    await _save_audience(ctx, b, audience_repo.Audience.from_json(
        {**aud.to_json(), "session_statuses": statuses}))
    await ctx.goto(Compose.AUDIENCE)


_state(Compose.AUDIENCE, ask_audience, take_audience, back=Compose.HUB)
_state(Compose.AUD_SESSION, ask_session, take_session, back=Compose.AUDIENCE)
_state(Compose.AUD_SESSION_STATUS, ask_session_status, take_session_status, back=Compose.AUD_SESSION)


# -- preview, send, schedule -------------------------------------------------------------------

async def ask_preview(ctx: Context) -> None:
    b = await current(ctx)
    if not b.texts:
        await ctx.goto(Compose.LANG)
        return
    aud = audience_repo.Audience.from_json(b.audience)
    people = await audience_repo.recipients(ctx.conn, aud)
    reach = await audience_repo.reach(ctx.conn, aud)
    readers: dict[str, int] = {}
    for p in people:
        readers[p.locale] = readers.get(p.locale, 0) + 1
    media = await repo.media_of(ctx.conn, b.id)
    photo = media[1] if media and media[0] == "photo" else None
    document = Document(media[2], media[1], media[3]) if media and media[0] == "document" else None
    for lang in [c for c in LANGUAGE_NAMES if readers.get(c) or (not readers and c in b.texts)]:
        text, used = b.text_for(lang)
        ctx.say(Msg("bc.preview_for", language=_lang_name(lang), count=readers.get(lang, 0),
                    used=_lang_name(used)))
        shown = delivery.artisan_message(ctx.services, b, lang)
        ctx.say(Raw(shown.text), photo=photo, document=document)
    lines = "\n".join(
        ctx.render(Msg("bc.channel_line", channel=Msg(f"bc.channel_{c}") if c in ("telegram", "whatsapp")
                       else c, n=n)) for c, n in reach.by_channel.items()
    )
    recipients = reach.total - reach.unreachable
    summary = Msg("bc.preview_summary", count=recipients, channels=Raw(lines),
                  audience=Raw(await audience_text(ctx, b.audience)),
                  unreachable=reach.unreachable, opted_out=reach.opted_out)
    choices = []
    if recipients:
        choices += [Choice(SendNow(b.id), Msg("bc.send_now")),
                    Choice(Schedule(b.id), Msg("bc.schedule"))]
    choices += [Choice("bc:edit", Msg("bc.edit")), Choice("nav:cancel", Msg("nav.cancel"))]
    ctx.say(summary if recipients else Msg("bc.nobody", audience=Raw(await audience_text(ctx, b.audience))),
            choices)


async def take_preview(ctx: Context) -> None:
    b = await current(ctx)
    choice = ctx.choice_id or ""
    if choice == "bc:edit":
        await ctx.goto(Compose.HUB)
    elif SendNow.unpack(choice) == SendNow(b.id):
        count = await delivery.start(ctx.services, ctx.conn, b.id)
        ctx.finish()
        if count is None:
            ctx.say(Msg("common.stale"))
            return
        ctx.say(Msg("bc.started", id=b.id, count=count))
    elif Schedule.unpack(choice) == Schedule(b.id):
        await ctx.goto(Compose.WHEN)
    else:
        raise InvalidInput("common.use_buttons")


def parse_local(text: str, now: datetime, ctx: Context) -> datetime:
    """``25/12/2026 09:30`` (or ``2026-12-25 09h30``) in the staff's zone → aware UTC datetime."""
    match = _DATETIME.match(strip_invisible(text).translate(LATIN_DIGITS))
    if match is None:
        raise InvalidInput("bc.when_invalid")
    g = match.groups()
    day, month, year = (g[0], g[1], g[2]) if g[0] else (g[5], g[4], g[3])
    try:
        local = datetime(int(year), int(month), int(day), int(g[6]), int(g[7]), tzinfo=ctx.zone)
    except ValueError:
        raise InvalidInput("bc.when_invalid") from None
    moment = local.astimezone(now.tzinfo)
    problem = schedule_problem(moment, now)
    if problem is not None:
        raise InvalidInput(problem, now=now)
    return moment


# -- the scheduling rule, shared with the console (console/broadcasts.py) ---------------------

def schedule_problem(moment: datetime, now: datetime) -> str | None:
    """Why ``moment`` cannot be a broadcast's sending time (a catalog key), or None: it must be
    more than a minute ahead and within a year."""
    if moment <= now + timedelta(minutes=1):
        return "bc.when_past"
    if moment > now + timedelta(days=366):
        return "bc.when_too_far"
    return None


async def schedule(conn: Conn, broadcast_id: int, moment: datetime, now: datetime) -> bool:
    """A draft becomes scheduled for ``moment`` (the broadcasts job starts it when due).
    False when it was no longer a draft."""
    return await repo.move(conn, broadcast_id, BroadcastStatus.SCHEDULED,
                           allowed_from=(BroadcastStatus.DRAFT,), now=now, scheduled_at=moment)


async def ask_when(ctx: Context) -> None:
    await current(ctx)
    ctx.say(Msg("bc.ask_when", zone=ctx.zone.key, now=ctx.now), nav_choices(), numbered=False)


async def take_when(ctx: Context) -> None:
    b = await current(ctx)
    if ctx.incoming.kind != "text":
        raise InvalidInput("bc.when_invalid")
    moment = parse_local(ctx.text, ctx.now, ctx)
    await ctx.goto(Compose.WHEN_CONFIRM, bc_at=moment.isoformat(), bc_id_check=b.id)


async def ask_when_confirm(ctx: Context) -> None:
    b = await current(ctx)
    moment = datetime.fromisoformat(str(ctx.data["bc_at"]))
    ctx.say(Msg("bc.confirm_schedule", id=b.id, when=moment),
            [Choice(ConfirmSchedule(b.id), Msg("bc.confirm_schedule_button")), *nav_choices()])


async def take_when_confirm(ctx: Context) -> None:
    b = await current(ctx)
    if ConfirmSchedule.unpack(ctx.choice_id or "") != ConfirmSchedule(b.id):
        raise InvalidInput("common.use_buttons")
    moment = datetime.fromisoformat(str(ctx.data["bc_at"]))
    if moment <= ctx.now:
        raise InvalidInput("bc.when_past", now=ctx.now)
    moved = await schedule(ctx.conn, b.id, moment, ctx.now)
    ctx.finish()
    if not moved:
        ctx.say(Msg("common.stale"))
        return
    ctx.say(Msg("bc.scheduled", id=b.id, when=moment))


_state(Compose.PREVIEW, ask_preview, take_preview, back=Compose.HUB)
_state(Compose.WHEN, ask_when, take_when, back=Compose.PREVIEW)
_state(Compose.WHEN_CONFIRM, ask_when_confirm, take_when_confirm, back=Compose.WHEN)


router.menu_item(MenuItem("broadcast", "bc.menu_staff", cmd_broadcast, order=72, role=STAFF))
