"""Ask the chamber: artisans' questions reach a human, staff answers come back.

The artisan (main menu "❓ Ask the chamber", typed words, or an offer after free text nothing
understood) writes, sends voice notes, photos or documents: several messages form one question
until staff answer. They are told when they will hear back (opening hours, ``contact.answer_by``).

Where staff see it:

- with ``HIRFA_TELEGRAM__STAFF_GROUP_ID`` (a forum supergroup), each artisan has their own topic,
  named with their name, region, craft and language, opened by a card (profile and recent
  messages). :func:`relay` (a job, also run right after each message) creates missing topics —
  a Bot API call, made outside any transaction — and queues the messages into them through the
  outbox (key ``q:in:<message>``, so each goes once, in order). A staff member's message in the
  topic (text, voice, photo, document) is the answer: stored, then queued to the artisan on their
  own channel (``q:out:<message>``); media are fetched from the platform they came from and
  re-uploaded when sent (:func:`media_loader`).
- without a group, staff get a notice in the bot and work from "Questions" in the staff menu
  (open, mine, answered), where they read a thread and answer it in the bot.

Assign to me, mark answered, reopen and canned answers (the chamber's FAQ, edited by admins with
``/faq``) work in both places. An open question past its answer time is flagged once
(:func:`flag_overdue`). :func:`start_question` is the entry other features use to offer the
chamber (e.g. after two misses of the understanding engine).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from bot.dialogue import (
    Context,
    Job,
    MenuButton,
    MenuItem,
    Router,
    Services,
    State,
    Step,
    nav_choices,
    show_menu,
)
from bot.i18n import Msg, Text
from bot.messages import Choice, Document, OutMessage, Reply, render
from bot.payloads import Payload
from handlers import fields
from handlers.contact import answer_by, contact_card
from handlers.registration import LANGUAGE_NAMES
from storage import artisans as artisan_repo
from storage import questions as repo
from storage import staff as staff_repo
from storage.artisans import Artisan
from storage.database import Conn
from storage.questions import Direction, QMessage, Question, QuestionStatus

log = logging.getLogger(__name__)
router = Router()



class Questions(Step):
    """An artisan asking (and the offer to ask), a staff member answering, an admin writing
    a ready answer."""

    ASK = "q.ask"
    OFFER = "q.offer"
    STAFF_ANSWER = "q.staff_answer"
    FAQ_TITLE = "q.faq_title"
    FAQ_BODY = "q.faq_body"


KIND = "question"  # outbox kind (WhatsApp: the "*" notice template outside the 24-hour window)
MEDIA = "qmedia"
STAFF_GROUP_CHANNEL = "telegram"  # where the staff group lives (``telegram.staff_group_id``)
ASK_WORDS = ("ask", "question", "ask the chamber", "poser une question", "question a la chambre",
             "سؤال", "اسال الغرفة", "سول", "contact", "contacter la chambre", "اتصل بالغرفة")
MAX_SNIPPET = 600


# -- helpers ----------------------------------------------------------------------------------

def staff_group(services: Services) -> str | None:
    """The staff group's chat id (a forum group on :data:`STAFF_GROUP_CHANNEL`), if one is set."""
    group = services.settings.telegram.staff_group_id
    return str(group) if group is not None and services.settings.telegram.enabled else None


def who(ctx: Context) -> str:
    """How a staff member is recorded (``telegram:9001``)."""
    return f"{ctx.incoming.channel}:{ctx.incoming.user_id}"


def _message_fields(ctx: Context) -> dict[str, Any] | None:
    """What the user sent as a question/answer message, or None if it cannot be one."""
    inc = ctx.incoming
    if inc.kind == "text" and inc.text.strip():
        return {"kind": "text", "text": inc.text.strip()}
    if inc.kind == "unsupported" and inc.file is not None:
        f = inc.file
        return {"kind": f.kind, "text": inc.text.strip(), "file_channel": inc.channel,
                "file_id": f.file_id, "file_name": f.filename, "mime_type": f.mime_type}
    return None


def _snippet(m: QMessage) -> Text:
    """One message as a line: its text, or what kind of file it is (and its caption)."""
    text = m.text[:MAX_SNIPPET]
    if m.kind == "text":
        return text
    return Msg(f"q.media_{m.kind}", caption=text)


def _artisan_line(artisan: Artisan) -> Msg:
    values = fields.describe({"full_name": artisan.full_name, "region": artisan.region,
                              "craft": artisan.craft, "craft_other": artisan.craft_other})
    return Msg("q.artisan_line", name=values["name"] or "?", region=values["region"],
               craft=values["craft"], language=LANGUAGE_NAMES.get(artisan.locale, artisan.locale))


def _staff_render(services: Services, reply: Reply) -> OutMessage:
    """Staff texts (the group, staff chats) are in the chamber's default language."""
    return render(reply, services.translator, services.settings.default_locale, services.zone)


# -- buttons --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupButton(Payload):
    """A button under a question in the staff group's topic: ``action`` is mine, done, reopen
    or faq (read by :func:`_group_button`, not by the engine: the group has its own handler)."""

    prefix: ClassVar[str] = "qg"
    action: str
    question_id: int


@dataclass(frozen=True)
class GroupUse(Payload):
    """Answer the question in the topic with a canned answer."""

    prefix: ClassVar[str] = "qg:use"
    question_id: int
    canned_id: int


@dataclass(frozen=True)
class Listing(Payload):
    """The staff's list of questions: ``which`` is open, mine or answered."""

    prefix: ClassVar[str] = "qs:list"
    which: str


@dataclass(frozen=True)
class QuestionButton(Payload):
    """A button about one question, in a staff member's chat with the bot."""

    question_id: int


@dataclass(frozen=True)
class OpenThread(QuestionButton):
    prefix: ClassVar[str] = "qs:open"


@dataclass(frozen=True)
class SendMedia(QuestionButton):
    prefix: ClassVar[str] = "qs:media"


@dataclass(frozen=True)
class Answer(QuestionButton):
    prefix: ClassVar[str] = "qs:answer"


@dataclass(frozen=True)
class Assign(QuestionButton):
    prefix: ClassVar[str] = "qs:mine"


@dataclass(frozen=True)
class MarkDone(QuestionButton):
    prefix: ClassVar[str] = "qs:done"


@dataclass(frozen=True)
class Reopen(QuestionButton):
    prefix: ClassVar[str] = "qs:reopen"


@dataclass(frozen=True)
class PickCanned(QuestionButton):
    prefix: ClassVar[str] = "qs:faq"


@dataclass(frozen=True)
class UseCanned(Payload):
    prefix: ClassVar[str] = "qs:use"
    question_id: int
    canned_id: int


@dataclass(frozen=True)
class CannedButton(Payload):
    """An admin's button about one canned answer."""

    canned_id: int


@dataclass(frozen=True)
class EditCanned(CannedButton):
    prefix: ClassVar[str] = "faq:edit"


@dataclass(frozen=True)
class ChangeCanned(CannedButton):
    prefix: ClassVar[str] = "faq:change"


@dataclass(frozen=True)
class DeleteCanned(CannedButton):
    prefix: ClassVar[str] = "faq:delete"


@dataclass(frozen=True)
class AddCanned(Payload):
    prefix: ClassVar[str] = "faq:add"


def _group_buttons(question: Question) -> list[Choice]:
    q = question.id
    buttons = [Choice(GroupButton("mine", q), Msg("q.btn_assign")),
               Choice(GroupButton("faq", q), Msg("q.btn_faq"))]
    if question.status == QuestionStatus.OPEN:
        buttons.insert(1, Choice(GroupButton("done", q), Msg("q.btn_done")))
    else:
        buttons.insert(1, Choice(GroupButton("reopen", q), Msg("q.btn_reopen")))
    return buttons


# -- the artisan's side -----------------------------------------------------------------------

async def start_question(ctx: Context, intro: Text | None = None) -> None:
    """Start a question to the chamber (menu, typed words, or another feature's offer)."""
    if intro is not None:
        ctx.say(intro)
    await ctx.goto(Questions.ASK)


async def ask_prompt(ctx: Context) -> None:
    ctx.say(Msg("q.ask_prompt"), [Choice("q:done", Msg("q.btn_sent")), *nav_choices(back=False)])


async def ask_handle(ctx: Context) -> None:
    if ctx.choice_id == "q:done":
        await show_menu(ctx)
        return
    message = _message_fields(ctx)
    if message is None:
        ctx.say(Msg("q.ask_unsupported"))
        await ask_prompt(ctx)
        return
    await receive(ctx, message, source="menu")
    ctx.say(Msg("q.more_hint"), [Choice("q:done", Msg("q.btn_sent")), *nav_choices(back=False)])


async def receive(ctx: Context, message: dict[str, Any], *, source: str) -> None:
    """Store an artisan's message in their question, tell them it arrived, pass it to staff."""
    assert ctx.artisan is not None
    question_id, _, created = await repo.add_incoming(ctx.conn, ctx.artisan.id, ctx.now,
                                                      source=source, **message)
    if created:
        chamber = ctx.services.settings.chamber
        ctx.say(Msg("q.received", when=answer_by(ctx.now, chamber, ctx.zone)))
    else:
        ctx.say(Msg("q.added"))
    if not await _relay_known(ctx.services, ctx.conn, ctx.artisan.id):
        # The artisan's topic must be opened first (a Bot API call, outside this transaction):
        # the relay job runs as soon as this update commits, not at its next period.
        ctx.wake.add(RELAY_JOB)


async def offer_unplaced(ctx: Context) -> None:
    """Free text nothing understood: offer to send it to the chamber (kept until answered)."""
    ctx.finish()
    ctx.data["q_pending"] = ctx.text.strip()[:4000]
    ctx.state = Questions.OFFER.value
    ctx.say(Msg("q.offer", text=ctx.data["q_pending"][:MAX_SNIPPET]),
            [Choice("q:send", Msg("q.btn_send")), Choice("nav:menu", Msg("nav.menu"))])


async def offer_prompt(ctx: Context) -> None:
    ctx.say(Msg("q.offer", text=str(ctx.data.get("q_pending", ""))[:MAX_SNIPPET]),
            [Choice("q:send", Msg("q.btn_send")), Choice("nav:menu", Msg("nav.menu"))])


async def offer_handle(ctx: Context) -> None:
    pending = str(ctx.data.get("q_pending") or "")
    if ctx.choice_id == "q:send" and pending:
        ctx.finish()
        await receive(ctx, {"kind": "text", "text": pending}, source="unplaced")
        await show_menu(ctx)
        return
    # Something else was typed: it is another sentence to place; offer that one instead.
    if ctx.incoming.kind == "text" and ctx.text.strip():
        await offer_unplaced(ctx)
        return
    await offer_prompt(ctx)


router.state(State(Questions.ASK, ask_prompt, ask_handle, registered=True, files=True, voice=True))
router.state(State(Questions.OFFER, offer_prompt, offer_handle, registered=True))
router.menu_item(MenuItem("ask", "q.menu", start_question, order=70))
router.unplaced = offer_unplaced


async def voice_question(ctx: Context) -> None:
    """A voice note (or audio) where no step takes one: it becomes a question to the chamber, and
    the question on screen is asked again. Nothing is kept before registration."""
    message = _message_fields(ctx)
    if ctx.artisan is None or message is None:
        ctx.say(Msg("common.voice_unsupported"))
        await ctx.reprompt()
        return
    await receive(ctx, message, source="voice")
    await ctx.reprompt()


router.voice_note = voice_question
# "Talk to the chamber", offered by the engine after two misunderstandings in a row.
router.ask_chamber = start_question


async def _registered_start(ctx: Context) -> None:
    if ctx.artisan is None:
        await show_menu(ctx)
        return
    await start_question(ctx)


router.keyword(ASK_WORDS, _registered_start)


@router.command("ask", registered=True, describe="cmd.ask")
async def cmd_ask(ctx: Context) -> None:
    await start_question(ctx)


@router.command("contact", describe="cmd.contact")
async def cmd_contact(ctx: Context) -> None:
    ctx.say(contact_card(ctx.services.settings.chamber))
    if ctx.artisan is not None:
        ctx.say(Msg("q.contact_offer"), [Choice(MenuButton("ask"), Msg("q.menu"))])


# -- relaying to staff --------------------------------------------------------------------------

async def _relay_known(services: Services, conn: Conn, artisan_id: int) -> bool:
    """Queue this artisan's waiting messages now if they can go without a Bot API call (their
    topic exists, or there is no group) and say True; else False: :func:`relay` must open the
    topic first."""
    group = staff_group(services)
    waiting = [m for a, m in await repo.unrelayed(conn) if a == artisan_id]
    if not waiting:
        return True
    if group is None:
        await _to_staff_inbox(services, conn, artisan_id, waiting)
        return True
    thread = await repo.topic_of(conn, artisan_id, group)
    if thread is None:
        return False
    await _to_topic(services, conn, group, thread, waiting)
    return True


async def _to_topic(services: Services, conn: Conn, group: str, thread: str,
                    waiting: list[QMessage]) -> None:
    outbox = services.outbox
    for m in waiting:
        question = await repo.get(conn, m.question_id)
        assert question is not None
        artisan = await artisan_repo.get(conn, question.artisan_id)
        name = (artisan.full_name if artisan else None) or "?"
        reply = Reply(Msg("q.group_message", name=name, number=question.id, text=_snippet(m)),
                      _group_buttons(question), media_ref=_media_ref(m))
        message = _staff_render(services, reply)
        message.thread_id = thread
        await outbox.to_chat(conn, STAFF_GROUP_CHANNEL, group, message, kind=KIND, key=f"q:in:{m.id}",
                             priority=1)
    await repo.mark_relayed(conn, [m.id for m in waiting], services.clock.now())


async def _to_staff_inbox(services: Services, conn: Conn, artisan_id: int,
                          waiting: list[QMessage]) -> None:
    """No staff group: every staff member gets one notice per new question in the bot."""
    artisan = await artisan_repo.get(conn, artisan_id)
    name = (artisan.full_name if artisan else None) or "?"
    for question_id in sorted({m.question_id for m in waiting}):
        first = next(m for m in waiting if m.question_id == question_id)
        reply = Reply(Msg("q.staff_new", name=name, number=question_id, text=_snippet(first)),
                      [Choice(OpenThread(question_id), Msg("q.btn_open"))])
        message = _staff_render(services, reply)
        for channel, external_id, _role in await staff_repo.members(conn):
            await services.outbox.to_chat(conn, channel, external_id, message, kind=KIND,
                                          key=f"q:new:{question_id}:{channel}:{external_id}")
    await repo.mark_relayed(conn, [m.id for m in waiting], services.clock.now())


def _media_ref(m: QMessage) -> str | None:
    return f"{MEDIA}:{m.id}" if m.file_id else None


async def relay(services: Services) -> None:
    """Pass every waiting artisan message to staff; open the topics that are missing.

    The topic is created by a Bot API call outside any transaction, then saved (if two runs
    race, the first saved wins and the other topic stays empty) and the messages queued.
    """
    async with services.db.read() as conn:
        waiting = await repo.unrelayed(conn)
    by_artisan: dict[int, list[QMessage]] = {}
    for artisan_id, m in waiting:
        by_artisan.setdefault(artisan_id, []).append(m)
    group = staff_group(services)
    channel = services.channels.get(STAFF_GROUP_CHANNEL)
    for artisan_id in by_artisan:
        thread: str | None = None
        if group is not None:
            async with services.db.read() as conn:
                thread = await repo.topic_of(conn, artisan_id, group)
                artisan = await artisan_repo.get(conn, artisan_id)
            if thread is None and artisan is not None and channel is not None:
                name = services.translator.plain(_artisan_line(artisan), services.settings.default_locale,
                                                  services.zone)
                try:
                    made = await channel.create_topic(group, name)
                except Exception:
                    log.exception("questions: could not open a topic in the staff group")
                    continue
                if made is None:  # the channel has no topics: nowhere to relay to
                    continue
                async with services.db.transaction() as conn:
                    thread = await repo.save_topic(conn, artisan_id, group, str(made),
                                                   services.clock.now())
                    await _topic_card(services, conn, group, thread, artisan)
        async with services.db.transaction() as conn:
            fresh = [m for a, m in await repo.unrelayed(conn) if a == artisan_id]
            if not fresh:
                continue
            if group is None:
                await _to_staff_inbox(services, conn, artisan_id, fresh)
            elif thread is not None:
                await _to_topic(services, conn, group, thread, fresh)
    services.outbox.wake_if_queued()


async def _topic_card(services: Services, conn: Conn, group: str, thread: str,
                      artisan: Artisan) -> None:
    """The first message of a topic: who the artisan is and their recent messages."""
    values = fields.describe({"full_name": artisan.full_name, "phone": artisan.phone,
                              "region": artisan.region, "craft": artisan.craft,
                              "craft_other": artisan.craft_other, "cnie": artisan.cnie})
    identities = await artisan_repo.identities_of(conn, artisan.id)
    channels = ", ".join(sorted({i.channel for i in identities})) or "-"
    recent: Msg = Msg("q.card_history_none")
    history = await repo.history(conn, artisan.id)
    relayed = [m for m in history if m.direction != Direction.IN or m.relayed_at is not None]
    for m in relayed:
        line = Msg("q.card_history_in" if m.direction == Direction.IN else "q.card_history_out",
                   when=m.created_at, text=_snippet(m))
        recent = line if recent.key == "q.card_history_none" else Msg(
            "chamber.card_line", before=recent, line=line)
    reply = Reply(Msg("q.card", name=values["name"], phone=values["phone"], region=values["region"],
                      craft=values["craft"], language=LANGUAGE_NAMES.get(artisan.locale, artisan.locale),
                      channels=channels, since=artisan.created_at, history=recent))
    message = _staff_render(services, reply)
    message.thread_id = thread
    await services.outbox.to_chat(conn, STAFF_GROUP_CHANNEL, group, message, kind=KIND,
                                  key=f"q:card:{artisan.id}:{group}:{thread}", priority=1)


def media_loader(services: Services) -> Any:
    """Loads a question's file from the platform it came from, for the outbox to re-send."""

    async def load(conn: Conn, ref: str) -> tuple[bytes | None, Document | None]:
        message_id = int(ref.split(":", 1)[1])
        m = await repo.message(conn, message_id)
        if m is None or not m.file_id or not m.file_channel:
            raise LookupError(f"no file for {ref}")
        channel = services.channels.get(m.file_channel)
        if channel is None:
            raise LookupError(f"no {m.file_channel} channel to fetch {ref} from")
        content = bytes(await channel.fetch_file(m.file_id))
        if m.kind == "photo":
            return content, None
        mime = m.mime_type or "application/octet-stream"
        return None, Document(m.file_name or "file", content, mime)

    return load


router.attachment_factories[MEDIA] = media_loader
RELAY_JOB = "questions.relay"
router.jobs.append(Job(RELAY_JOB, relay, 5.0))


# -- answers ------------------------------------------------------------------------------------

async def answer(ctx: Context, question: Question, message: dict[str, Any]) -> None:
    """Store a staff answer and queue it to the artisan on their own channel, once."""
    await send_answer(ctx.services, ctx.conn, question, who(ctx), ctx.now, message)


async def send_answer(services: Services, conn: Conn, question: Question, author: str,
                      now: datetime, message: dict[str, Any]) -> int:
    """The one rule for a staff answer, wherever it is written (staff group, bot inbox, web
    console): stored with its author, the question marked answered, and queued to the artisan on
    their own channel exactly once (key ``q:out:<message>``). Returns the message id."""
    message_id = await repo.add_answer(conn, question.id, author, now, **message)
    text = message.get("text") or ""
    body: Msg = (Msg("q.answer", text=text) if message["kind"] == "text"
                 else Msg("q.answer_media", caption=text))
    await services.outbox.notify(
        conn, question.artisan_id,
        Reply(body, media_ref=f"{MEDIA}:{message_id}" if message.get("file_id") else None),
        kind=KIND, key=f"q:out:{message_id}", priority=1)
    return message_id


async def on_group(ctx: Context) -> None:
    """A message or a button in a topic of the staff group."""
    group = staff_group(ctx.services)
    if group is None or ctx.incoming.chat_id != group or ctx.incoming.thread_id is None:
        return
    if not ctx.is_staff():
        log.warning("staff group: %s is not staff in Hirfa; ignored", ctx.incoming.user_id)
        ctx.say(Msg("q.group_not_staff", user_id=ctx.incoming.user_id))
        return
    artisan_id = await repo.artisan_of_topic(ctx.conn, group, ctx.incoming.thread_id)
    if artisan_id is None:
        return
    if ctx.incoming.kind == "choice":
        await _group_button(ctx, artisan_id)
        return
    if ctx.incoming.kind == "command":
        return
    message = _message_fields(ctx)
    question = await repo.latest_of(ctx.conn, artisan_id)
    if message is None or question is None:
        return
    await answer(ctx, question, message)


async def _group_button(ctx: Context, artisan_id: int) -> None:
    pressed = ctx.choice_id or ""
    use, button = GroupUse.unpack(pressed), GroupButton.unpack(pressed)
    question_id = use.question_id if use else button.question_id if button else None
    question = await repo.get(ctx.conn, question_id) if question_id is not None else None
    if question is None or question.artisan_id != artisan_id:
        return
    if use is not None:
        canned = await repo.canned_one(ctx.conn, use.canned_id)
        if canned is not None:
            await answer(ctx, question, {"kind": "text", "text": canned.body})
            ctx.say(Msg("q.canned_sent", title=canned.title))
        return
    assert button is not None
    if button.action == "faq":
        items = await repo.canned(ctx.conn)
        if not items:
            ctx.say(Msg("q.faq_empty"))
            return
        ctx.say(Msg("q.faq_pick"), [Choice(GroupUse(question.id, c.id), c.title) for c in items])
        return
    ctx.say(await _apply(ctx, question, button.action))


async def _apply(ctx: Context, question: Question, action: str) -> Msg:
    """Assign / mark answered / reopen; the message that says what happened."""
    if action == "mine":
        await repo.assign(ctx.conn, question.id, who(ctx))
        return Msg("q.assigned", number=question.id, user_id=ctx.incoming.user_id)
    if action == "done":
        await repo.set_status(ctx.conn, question.id, QuestionStatus.ANSWERED, ctx.now)
        return Msg("q.marked_done", number=question.id)
    if action == "reopen":
        await repo.set_status(ctx.conn, question.id, QuestionStatus.OPEN, ctx.now)
        return Msg("q.reopened", number=question.id)
    return Msg("common.stale")


router.group = on_group


# -- overdue ----------------------------------------------------------------------------------

async def flag_overdue(services: Services) -> None:
    """Flag, once, each open question past its answer time (staff group topic, or staff chats)."""
    now = services.clock.now()
    chamber = services.settings.chamber
    group = staff_group(services)
    async with services.db.transaction() as conn:
        for question in await repo.overdue(conn, now):
            due = answer_by(question.opened_at, chamber, services.zone)
            if due > now or not await repo.flag(conn, question.id, now):
                continue
            artisan = await artisan_repo.get(conn, question.artisan_id)
            name = (artisan.full_name if artisan else None) or "?"
            reply = Reply(Msg("q.overdue", number=question.id, name=name, since=question.opened_at),
                          [Choice(OpenThread(question.id), Msg("q.btn_open"))])
            thread = await repo.topic_of(conn, question.artisan_id, group) if group else None
            if group is not None and thread is not None:
                reply.choices = _group_buttons(question)
                message = _staff_render(services, reply)
                message.thread_id = thread
                await services.outbox.to_chat(conn, STAFF_GROUP_CHANNEL, group, message, kind=KIND,
                                              key=f"q:late:{question.id}")
                continue
            message = _staff_render(services, reply)
            for channel, external_id, _role in await staff_repo.members(conn):
                await services.outbox.to_chat(conn, channel, external_id, message, kind=KIND,
                                              key=f"q:late:{question.id}:{channel}:{external_id}")
    services.outbox.wake_if_queued()


router.jobs.append(Job("questions.overdue", flag_overdue, 300.0))


# -- the staff inbox in the bot ---------------------------------------------------------------

async def inbox(ctx: Context) -> None:
    ctx.finish()
    open_ = await repo.listing(ctx.conn, QuestionStatus.OPEN, limit=50)
    mine = [q for q in open_ if q.question.assigned_to == who(ctx)]
    ctx.say(Msg("q.inbox", open=len(open_), mine=len(mine)), [
        Choice(Listing("open"), Msg("q.list_open")), Choice(Listing("mine"), Msg("q.list_mine")),
        Choice(Listing("answered"), Msg("q.list_answered")), Choice("nav:menu", Msg("nav.menu")),
    ])


router.menu_item(MenuItem("questions", "q.staff_menu", inbox, order=15, role="staff"))


@router.command("questions", role="staff", describe="cmd.questions")
async def cmd_questions(ctx: Context) -> None:
    await inbox(ctx)


@router.action(Listing, role="staff")
async def list_questions(ctx: Context, button: Listing) -> None:
    which = button.which
    if which == "answered":
        items = await repo.listing(ctx.conn, QuestionStatus.ANSWERED)
    elif which == "mine":
        items = await repo.listing(ctx.conn, QuestionStatus.OPEN, assigned_to=who(ctx))
    else:
        items = await repo.listing(ctx.conn, QuestionStatus.OPEN)
    if not items:
        ctx.say(Msg("q.list_empty"), [Choice(MenuButton("questions"), Msg("q.staff_menu"))])
        return
    choices = [Choice(OpenThread(i.question.id),
                      Msg("q.list_item", number=i.question.id, name=i.full_name or "?",
                          messages=i.messages))
               for i in items]
    ctx.say(Msg("q.list_title"), [*choices, Choice(MenuButton("questions"), Msg("q.staff_menu"))])


async def show_thread(ctx: Context, question: Question) -> None:
    artisan = await artisan_repo.get(ctx.conn, question.artisan_id)
    lines: Msg = Msg("q.thread_head", number=question.id,
                     who=_artisan_line(artisan) if artisan else "?",
                     status=Msg(f"q.status_{question.status}"))
    for m in await repo.thread(ctx.conn, question.id):
        line = Msg("q.card_history_in" if m.direction == Direction.IN else "q.card_history_out",
                   when=m.created_at, text=_snippet(m))
        lines = Msg("chamber.card_line", before=lines, line=line)
    q = question.id
    choices = [Choice(Answer(q), Msg("q.btn_answer")),
               Choice(SendMedia(q), Msg("q.btn_media")),
               Choice(Assign(q), Msg("q.btn_assign")),
               Choice(MarkDone(q) if question.status == QuestionStatus.OPEN else Reopen(q),
                      Msg("q.btn_done" if question.status == QuestionStatus.OPEN else "q.btn_reopen")),
               Choice(PickCanned(q), Msg("q.btn_faq")),
               Choice(MenuButton("questions"), Msg("q.staff_menu"))]
    ctx.say(lines, choices)


async def _pressed_question(ctx: Context, button: QuestionButton) -> Question | None:
    question = await repo.get(ctx.conn, button.question_id)
    if question is None:
        ctx.say(Msg("common.stale"))
        await inbox(ctx)
    return question


@router.action(OpenThread, role="staff")
async def open_thread(ctx: Context, button: OpenThread) -> None:
    question = await _pressed_question(ctx, button)
    if question is not None:
        await show_thread(ctx, question)


@router.action(SendMedia, role="staff")
async def send_media(ctx: Context, button: SendMedia) -> None:
    """The thread's voice notes, photos and documents, sent to this staff chat (via the outbox,
    which fetches them)."""
    question = await _pressed_question(ctx, button)
    if question is None:
        return
    files = [m for m in await repo.thread(ctx.conn, question.id) if m.file_id]
    if not files:
        ctx.say(Msg("q.no_media"))
        return
    stamp = int(ctx.now.timestamp())
    for m in files:
        message = _staff_render(ctx.services, Reply(_snippet(m), media_ref=_media_ref(m)))
        await ctx.services.outbox.to_chat(
            ctx.conn, ctx.incoming.channel, ctx.incoming.chat_id, message, kind=KIND,
            key=f"q:view:{m.id}:{ctx.incoming.channel}:{ctx.incoming.user_id}:{stamp}")
    ctx.say(Msg("q.media_coming", files=len(files)))


@router.action(Answer, role="staff")
async def start_answer(ctx: Context, button: Answer) -> None:
    question = await _pressed_question(ctx, button)
    if question is not None:
        await ctx.goto(Questions.STAFF_ANSWER, question=question.id)


async def staff_answer_prompt(ctx: Context) -> None:
    ctx.say(Msg("q.staff_answer_prompt", number=int(ctx.data.get("question", 0))),
            nav_choices(back=False))


async def staff_answer_handle(ctx: Context) -> None:
    question = await repo.get(ctx.conn, int(ctx.data.get("question", 0)))
    message = _message_fields(ctx)
    if question is None:
        await inbox(ctx)
        return
    if message is None:
        ctx.say(Msg("q.ask_unsupported"))
        await staff_answer_prompt(ctx)
        return
    await answer(ctx, question, message)
    ctx.finish()
    ctx.say(Msg("q.answer_sent", number=question.id))
    await show_thread(ctx, question)


router.state(State(Questions.STAFF_ANSWER, staff_answer_prompt, staff_answer_handle, role="staff",
                   files=True, voice=True))


@router.action(Assign, role="staff")
async def staff_assign(ctx: Context, button: Assign) -> None:
    await _staff_apply(ctx, button, "mine")


@router.action(MarkDone, role="staff")
async def staff_done(ctx: Context, button: MarkDone) -> None:
    await _staff_apply(ctx, button, "done")


@router.action(Reopen, role="staff")
async def staff_reopen(ctx: Context, button: Reopen) -> None:
    await _staff_apply(ctx, button, "reopen")


async def _staff_apply(ctx: Context, button: QuestionButton, action: str) -> None:
    question = await _pressed_question(ctx, button)
    if question is None:
        return
    ctx.say(await _apply(ctx, question, action))
    refreshed = await repo.get(ctx.conn, question.id)
    assert refreshed is not None
    await show_thread(ctx, refreshed)


@router.action(PickCanned, role="staff")
async def staff_faq(ctx: Context, button: PickCanned) -> None:
    question = await _pressed_question(ctx, button)
    if question is None:
        return
    items = await repo.canned(ctx.conn)
    if not items:
        ctx.say(Msg("q.faq_empty"))
        return
    ctx.say(Msg("q.faq_pick"), [Choice(UseCanned(question.id, c.id), c.title) for c in items])


@router.action(UseCanned, role="staff")
async def staff_use(ctx: Context, button: UseCanned) -> None:
    question = await repo.get(ctx.conn, button.question_id)
    canned = await repo.canned_one(ctx.conn, button.canned_id)
    if question is None or canned is None:
        ctx.say(Msg("common.stale"))
        await inbox(ctx)
        return
    await answer(ctx, question, {"kind": "text", "text": canned.body})
    ctx.say(Msg("q.canned_sent", title=canned.title))
    await show_thread(ctx, question)


# -- canned answers (admins) ------------------------------------------------------------------

@router.command("faq", role="admin", describe="cmd.faq")
async def cmd_faq(ctx: Context) -> None:
    await faq_list(ctx)


async def faq_list(ctx: Context) -> None:
    ctx.finish()
    items = await repo.canned(ctx.conn)
    choices = [Choice(EditCanned(c.id), c.title) for c in items]
    ctx.say(Msg("q.faq_admin", items=len(items)),
            [*choices, Choice(AddCanned(), Msg("q.faq_add")), Choice("nav:menu", Msg("nav.menu"))])


@router.action(AddCanned, role="admin")
async def faq_add(ctx: Context, _: AddCanned) -> None:
    await ctx.goto(Questions.FAQ_TITLE, faq=None)


@router.action(EditCanned, role="admin")
async def faq_edit(ctx: Context, button: EditCanned) -> None:
    canned = await repo.canned_one(ctx.conn, button.canned_id)
    if canned is None:
        await faq_list(ctx)
        return
    ctx.say(Msg("q.faq_show", title=canned.title, body=canned.body),
            [Choice(ChangeCanned(canned.id), Msg("q.faq_change")),
             Choice(DeleteCanned(canned.id), Msg("q.faq_delete")), *nav_choices(back=False)])


@router.action(ChangeCanned, role="admin")
async def faq_change(ctx: Context, button: ChangeCanned) -> None:
    if await repo.canned_one(ctx.conn, button.canned_id) is None:
        await faq_list(ctx)
        return
    await ctx.goto(Questions.FAQ_TITLE, faq=button.canned_id)


@router.action(DeleteCanned, role="admin")
async def faq_delete(ctx: Context, button: DeleteCanned) -> None:
    await repo.delete_canned(ctx.conn, button.canned_id)
    ctx.say(Msg("q.faq_deleted"))
    await faq_list(ctx)


async def faq_title_prompt(ctx: Context) -> None:
    ctx.say(Msg("q.faq_ask_title"), nav_choices(back=False))


async def faq_title_handle(ctx: Context) -> None:
    title = ctx.text.strip() if ctx.incoming.kind == "text" else ""
    if not 1 <= len(title) <= 40:
        ctx.say(Msg("q.faq_title_invalid"))
        await faq_title_prompt(ctx)
        return
    await ctx.goto(Questions.FAQ_BODY, faq_title=title)


async def faq_body_prompt(ctx: Context) -> None:
    ctx.say(Msg("q.faq_ask_body"), nav_choices())


async def faq_body_handle(ctx: Context) -> None:
    body = ctx.text.strip() if ctx.incoming.kind == "text" else ""
    if not body:
        ctx.say(Msg("q.faq_body_invalid"))
        await faq_body_prompt(ctx)
        return
    faq = ctx.data.get("faq")
    await repo.save_canned(ctx.conn, str(ctx.data.get("faq_title")), body[:3000], who(ctx),
                           ctx.now, int(faq) if faq is not None else None)
    ctx.say(Msg("q.faq_saved"))
    await faq_list(ctx)


router.state(State(Questions.FAQ_TITLE, faq_title_prompt, faq_title_handle, role="admin"))
router.state(State(Questions.FAQ_BODY, faq_body_prompt, faq_body_handle, back=Questions.FAQ_TITLE,
                   role="admin"))


async def erase(ctx: Context, artisan_id: int) -> None:
    """Delete my data: their questions, messages and topic go (the topic itself stays in the
    staff group: Telegram keeps what was posted there; staff delete it by hand if needed)."""
    await repo.forget_artisan(ctx.conn, artisan_id)


router.erase_hooks.append(erase)


__all__ = ["answer", "flag_overdue", "relay", "router", "send_answer", "start_question"]
