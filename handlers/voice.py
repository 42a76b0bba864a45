"""Voice help: the chamber's recorded voice for people who read with difficulty.

- **Voice prompts** (staff): staff menu → "Voice prompts" → a message (the menu, each
  registration step, the session card, a certification stage, a reminder) → a language → record
  (send a voice note), replace, listen or delete. Stored once with its bytes (see
  ``storage/voice_schema.py``); each channel uploads it once and then sends it by its own id.
- **Voice help** (artisans): chosen at registration ("I agree, with voice notes") or in the
  profile. Then every reply, notice or reminder whose message has a recorded note in the
  artisan's language is preceded by that voice note, on Telegram and WhatsApp
  (:func:`attach_voices` for replies, :func:`voice_of` for the outbox).
- **Voice notes from artisans** where the bot waits for words become questions to the chamber
  (``handlers/questions.py`` sets ``Router.voice_note``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.dialogue import Context, MenuItem, Router, State, Step, nav_choices
from bot.errors import InvalidInput
from bot.i18n import Msg, Text
from bot.messages import Choice
from bot.payloads import Payload
from handlers.certification.stages import STAGES
from handlers.profile import ToggleVoiceHelp, show_profile
from handlers.registration import LANGUAGE_NAMES
from storage import voice as voice_repo
from storage.database import Conn

router = Router()
STAFF = "staff"
MAX_VOICE_BYTES = 5 * 1024 * 1024  # a minute of voice note is about 100 KB


class Voice(Step):
    RECORD = "voice.record"


# The messages a voice note can be recorded for: (catalog key, how staff see it).
MESSAGES: tuple[tuple[str, Text], ...] = (
    ("menu.title", Msg("voice.msg_menu")),
    ("reg.consent", Msg("voice.msg_consent")),
    ("reg.ask_name", Msg("voice.msg_name")),
    ("reg.ask_phone", Msg("voice.msg_phone")),
    ("reg.ask_region", Msg("voice.msg_region")),
    ("reg.ask_craft", Msg("voice.msg_craft")),
    ("reg.ask_cnie", Msg("voice.msg_cnie")),
    ("reg.summary", Msg("voice.msg_summary")),
    ("sess.card", Msg("voice.msg_card")),
    ("sess.reminder", Msg("voice.msg_reminder")),
    *((f"cert.stage.{s.code}", Msg("voice.msg_stage", stage=Msg(f"cert.stage.{s.code}")))
      for s in STAGES),
)
KEYS = frozenset(key for key, _ in MESSAGES)


# -- artisans: voice help ---------------------------------------------------------------------

async def wants_voice(ctx: Context) -> bool:
    if ctx.artisan is not None:
        return await voice_repo.wants(ctx.conn, ctx.artisan.id)
    return bool(ctx.data.get("voice_help"))  # chosen during registration, not saved yet


async def attach_voices(ctx: Context) -> None:
    """After each update: put the recorded voice note on the replies that have one."""
    spoken = [reply for reply in ctx.replies if reply.speaks in KEYS]
    if not spoken or not await wants_voice(ctx):
        return
    for reply in spoken:
        assert reply.speaks is not None
        reply.voice_ref = await voice_repo.ref_for(ctx.conn, reply.speaks, ctx.lang)


async def voice_of(conn: Conn, artisan_id: int, lang: str, key: str) -> str | None:
    """For the outbox: the voice note of a notice or reminder, if the artisan wants it."""
    if key not in KEYS or not await voice_repo.wants(conn, artisan_id):
        return None
    return await voice_repo.ref_for(conn, key, lang)


router.after_update.append(attach_voices)
router.voice_of = voice_of


@router.action(ToggleVoiceHelp, registered=True)
async def toggle_voice_help(ctx: Context, _: ToggleVoiceHelp) -> None:
    assert ctx.artisan is not None
    on = not await voice_repo.wants(ctx.conn, ctx.artisan.id)
    await voice_repo.set_help(ctx.conn, ctx.artisan.id, on, ctx.now)
    await show_profile(ctx, Msg("voice.help_turned_on" if on else "voice.help_turned_off"))


async def forget(ctx: Context, artisan_id: int) -> None:
    await voice_repo.forget_artisan(ctx.conn, artisan_id)


router.erase_hooks.append(forget)


async def _download(ctx: Context, file_id: str) -> bytes | None:
    """The bytes of a file the user sent, from the channel's ``fetch_file`` (None if the channel
    cannot give them: the platform's id is kept anyway)."""
    channel = ctx.services.channels.get(ctx.incoming.channel)
    if channel is None:
        return None
    try:
        return bytes(await channel.fetch_file(file_id))
    except Exception:  # the platform could not give us the file
        return None


# -- staff: voice prompts ---------------------------------------------------------------------

def _languages(ctx: Context) -> tuple[str, ...]:
    return ctx.services.translator.languages


async def show_list(ctx: Context, intro: Text | None = None) -> None:
    ctx.finish()
    done = await voice_repo.recorded(ctx.conn, KEYS)
    choices = []
    for index, (key, label) in enumerate(MESSAGES):
        langs = sorted(lang for k, lang in done if k == key)
        shown = Msg("voice.line_recorded", message=label, langs=", ".join(langs)) if langs else label
        choices.append(Choice(PickLanguage(index), shown))
    if intro is not None:
        ctx.say(intro)
    ctx.say(Msg("voice.list", count=len(done)), [*choices, Choice("nav:menu", Msg("nav.menu"))])


router.menu_item(MenuItem("voice", "voice.menu", show_list, order=78, role=STAFF))


@router.command("voice", role=STAFF, describe="voice.cmd")
async def cmd_voice(ctx: Context) -> None:
    await show_list(ctx)


@dataclass(frozen=True)
class PromptList(Payload):
    prefix: ClassVar[str] = "vp:list"


@dataclass(frozen=True)
class PickLanguage(Payload):
    """The languages of one message (its index in ``MESSAGES``)."""

    prefix: ClassVar[str] = "vp:m"
    index: int


@dataclass(frozen=True)
class PromptButton(Payload):
    """A button about one message (index in ``MESSAGES``) in one language."""

    index: int
    lang: str


@dataclass(frozen=True)
class PromptCard(PromptButton):
    prefix: ClassVar[str] = "vp:l"


@dataclass(frozen=True)
class Listen(PromptButton):
    prefix: ClassVar[str] = "vp:play"


@dataclass(frozen=True)
class Record(PromptButton):
    prefix: ClassVar[str] = "vp:rec"


@dataclass(frozen=True)
class Delete(PromptButton):
    prefix: ClassVar[str] = "vp:del"


@dataclass(frozen=True)
class ConfirmDelete(PromptButton):
    prefix: ClassVar[str] = "vp:delok"


def _message(ctx: Context, button: PromptButton) -> tuple[int, str] | None:
    """(index, language) of a button, if both still exist; None otherwise."""
    if button.index >= len(MESSAGES) or button.lang not in _languages(ctx):
        return None
    return button.index, button.lang


@router.action(PromptList, role=STAFF)
async def back_to_list(ctx: Context, _: PromptList) -> None:
    await show_list(ctx)


@router.action(PickLanguage, role=STAFF)
async def choose_language(ctx: Context, button: PickLanguage) -> None:
    if button.index >= len(MESSAGES):
        await show_list(ctx, Msg("common.stale"))
        return
    ctx.finish()
    index = button.index
    key, label = MESSAGES[index]
    done = {lang for k, lang in await voice_repo.recorded(ctx.conn, [key])}
    choices = [Choice(PromptCard(index, lang),
                      Msg("voice.lang_recorded" if lang in done else "voice.lang_missing",
                          language=_language_name(lang)))
               for lang in _languages(ctx)]
    ctx.say(Msg("voice.pick_language", message=label), [*choices, Choice(PromptList(), Msg("nav.back"))])


def _language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang)


async def show_card(ctx: Context, index: int, lang: str, intro: Text | None = None) -> None:
    ctx.finish()
    key, label = MESSAGES[index]
    prompt = await voice_repo.find(ctx.conn, key, lang)
    if intro is not None:
        ctx.say(intro)
    if prompt is None:
        ctx.say(Msg("voice.card_missing", message=label, language=_language_name(lang)),
                [Choice(Record(index, lang), Msg("voice.record")),
                 Choice(PickLanguage(index), Msg("nav.back"))])
        return
    ctx.say(Msg("voice.card", message=label, language=_language_name(lang), when=prompt.recorded_at),
            [Choice(Listen(index, lang), Msg("voice.listen")),
             Choice(Record(index, lang), Msg("voice.replace")),
             Choice(Delete(index, lang), Msg("voice.delete")), Choice(PickLanguage(index), Msg("nav.back"))])


@router.action(PromptCard, role=STAFF)
async def open_card(ctx: Context, button: PromptCard) -> None:
    picked = _message(ctx, button)
    if picked is None:
        await show_list(ctx, Msg("common.stale"))
        return
    await show_card(ctx, *picked)


@router.action(Listen, role=STAFF)
async def listen(ctx: Context, button: Listen) -> None:
    picked = _message(ctx, button)
    if picked is None:
        await show_list(ctx, Msg("common.stale"))
        return
    key, label = MESSAGES[picked[0]]
    ref = await voice_repo.ref_for(ctx.conn, key, picked[1])
    if ref is None:
        await show_card(ctx, *picked, intro=Msg("common.stale"))
        return
    await show_card(ctx, *picked)
    ctx.replies[-1].voice_ref = ref


@router.action(Record, role=STAFF)
async def start_recording(ctx: Context, button: Record) -> None:
    picked = _message(ctx, button)
    if picked is None:
        await show_list(ctx, Msg("common.stale"))
        return
    ctx.finish()
    await ctx.goto(Voice.RECORD, vp_index=picked[0], vp_lang=picked[1])


def _recording(ctx: Context) -> tuple[int, str]:
    index, lang = ctx.data.get("vp_index"), ctx.data.get("vp_lang")
    if not isinstance(index, int) or not 0 <= index < len(MESSAGES) or lang not in _languages(ctx):
        raise InvalidInput("common.stale")
    return index, str(lang)


async def ask_recording(ctx: Context) -> None:
    index, lang = _recording(ctx)
    ctx.say(Msg("voice.ask_record", message=MESSAGES[index][1], language=_language_name(lang)),
            nav_choices(back=False))


async def take_recording(ctx: Context) -> None:
    index, lang = _recording(ctx)
    file = ctx.incoming.file
    if file is None or file.kind != "voice":
        raise InvalidInput("voice.expected")
    if file.size is not None and file.size > MAX_VOICE_BYTES:
        raise InvalidInput("voice.too_long")
    content = await _download(ctx, file.file_id)
    if not content:
        raise InvalidInput("voice.download_failed")
    if len(content) > MAX_VOICE_BYTES:
        raise InvalidInput("voice.too_long")
    by = f"{ctx.incoming.channel}:{ctx.incoming.user_id}"
    replaced = await voice_repo.save(ctx.conn, MESSAGES[index][0], lang, content, file.mime_type,
                                     channel=ctx.incoming.channel, file_id=file.file_id, by=by,
                                     now=ctx.now)
    await show_card(ctx, index, lang, Msg("voice.replaced" if replaced else "voice.saved"))


router.state(State(Voice.RECORD, ask_recording, take_recording, role=STAFF, voice=True))


@router.action(Delete, role=STAFF)
async def ask_delete(ctx: Context, button: Delete) -> None:
    picked = _message(ctx, button)
    if picked is None:
        await show_list(ctx, Msg("common.stale"))
        return
    index, lang = picked
    ctx.finish()
    ctx.say(Msg("voice.confirm_delete", message=MESSAGES[index][1], language=_language_name(lang)),
            [Choice(ConfirmDelete(index, lang), Msg("voice.delete_yes")),
             Choice(PromptCard(index, lang), Msg("voice.delete_no"))])


@router.action(ConfirmDelete, role=STAFF)
async def delete(ctx: Context, button: ConfirmDelete) -> None:
    picked = _message(ctx, button)
    if picked is None:
        await show_list(ctx, Msg("common.stale"))
        return
    index, lang = picked
    removed = await voice_repo.remove(ctx.conn, MESSAGES[index][0], lang)
    await show_card(ctx, index, lang, Msg("voice.deleted" if removed else "common.stale"))
