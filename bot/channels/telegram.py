"""Telegram through python-telegram-bot: updates in, rendered replies out. Nothing else.

- Incoming: every update goes to one handler that turns it into an :class:`Incoming` (text,
  command, button press, shared contact, location, unsupported media) and hands it to the engine.
- Outgoing: an :class:`OutMessage` becomes ``sendMessage`` with HTML, an inline keyboard for
  choices, or a reply keyboard with "share my number"; documents and photos are sent as files.
- Long polling by default (our own ``getUpdates`` loop: a batch is stored before the offset moves
  past it); a webhook (served by :mod:`bot.http`) when ``webhook_url`` is set, checking
  ``X-Telegram-Bot-Api-Secret-Token`` in constant time, storing the update before answering 200.
- Every update goes through :class:`~bot.inbox.Inbox` (stored, one chat at a time, floods
  dropped); replies are written to the outbox with the update's effects and sent from there.
- :class:`TelegramTransport` is the outbox's way to send, mapping PTB errors to ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot import command_menus
from bot.channels.telegram_http import AiohttpRequest
from bot.dialogue import Engine
from bot.errors import Permanent, RetryLater, Transient, Unreachable
from bot.i18n import Translator
from bot.inbox import Inbox, Received
from bot.languages import ISO_639_1
from bot.messages import (
    Button,
    Contact,
    Document,
    Incoming,
    IncomingFile,
    OutMessage,
    utf16_cut,
    utf16_len,
)
from bot.pacing import Pacer
from bot.sender import Delivery
from bot.settings import TelegramSettings
from bot.voices import VoiceStore
from storage.updates import Stored

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
SHORT_LABEL = 18
VOICE_TYPES = ("audio/ogg", "audio/opus")
GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


def retry_seconds(value: int | float | timedelta) -> float:
    """PTB 22.2+ may give ``retry_after`` as a timedelta; older versions as seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split long text at line breaks (or hard, as a last resort) into sendable pieces,
    measured as Telegram measures: in UTF-16 units (an emoji counts two)."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            head, line = utf16_cut(line, limit)
            parts.append(head)
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def chat_of(payload: dict[str, Any]) -> str:
    """The chat an update belongs to (read from the raw update, nothing parsed twice)."""
    for field in ("message", "edited_message", "my_chat_member", "channel_post"):
        chat = (payload.get(field) or {}).get("chat") or {}
        if "id" in chat:
            return str(chat["id"])
    query = payload.get("callback_query") or {}
    chat = (query.get("message") or {}).get("chat") or {}
    if "id" in chat:
        return str(chat["id"])
    sender = query.get("from") or {}
    return str(sender["id"]) if "id" in sender else "-"


def inline_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup:
    """Short labels two per row, long ones alone, navigation buttons together at the bottom."""
    rows: list[list[InlineKeyboardButton]] = []
    pair: list[InlineKeyboardButton] = []
    nav = [b for b in buttons if b.id.startswith("nav:")]
    for b in (b for b in buttons if not b.id.startswith("nav:")):
        button = InlineKeyboardButton(b.label[:64], callback_data=b.id)
        if len(b.label) > SHORT_LABEL:
            if pair:
                rows.append(pair)
                pair = []
            rows.append([button])
            continue
        pair.append(button)
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    if nav:
        rows.append([InlineKeyboardButton(b.label[:64], callback_data=b.id) for b in nav])
    return InlineKeyboardMarkup(rows)


def contact_keyboard(message: OutMessage) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(message.contact_label, request_contact=True)]]
    if message.buttons:
        rows.append([KeyboardButton(b.label) for b in message.buttons])
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def reply_markup(message: OutMessage) -> Any:
    if message.ask_contact:
        return contact_keyboard(message)
    if message.buttons:
        return inline_keyboard(message.buttons)
    if message.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


async def send_out(
    bot: Any, chat_id: int | str, message: OutMessage, uploads: dict[str, str] | None = None
) -> Message:
    """Send one rendered message (split if long); return the last platform message.

    ``uploads`` (content hash → Telegram ``file_id``) lets the same photo or document go to
    thousands of chats while being uploaded once: Telegram accepts a known ``file_id`` instead
    of the bytes. ``message.thread_id`` sends into that topic of a forum group.
    """
    markup = reply_markup(message)
    thread: dict[str, Any] = (
        {"message_thread_id": int(message.thread_id)} if message.thread_id else {}
    )
    sent: Message | None = None
    if message.document is not None or message.photo is not None:
        caption = message.text if utf16_len(message.text) <= MAX_CAPTION else None
        if caption is None:
            for piece in split_text(message.text):
                sent = await bot.send_message(chat_id, piece, parse_mode=ParseMode.HTML, **thread)
        sent = await _send_file(bot, chat_id, message, caption, markup, uploads, thread)
    else:
        pieces = split_text(message.text or "…")
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            sent = await bot.send_message(
                chat_id, piece, parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
                link_preview_options=None, **thread,
            )
    if message.location is not None:
        lat, lon = message.location
        sent = await bot.send_location(chat_id, latitude=lat, longitude=lon, **thread)
    assert sent is not None
    return sent


def is_voice(document: Document | None) -> bool:
    """A voice note travels as an OGG/Opus document and is sent back as a voice message."""
    return document is not None and document.mime_type in VOICE_TYPES


async def _send_file(
    bot: Any, chat_id: int | str, message: OutMessage, caption: str | None, markup: Any,
    uploads: dict[str, str] | None, thread: dict[str, Any],
) -> Message:
    doc = message.document
    content = doc.content if doc is not None else message.photo
    assert content is not None
    extra: dict[str, Any] = {"caption": caption, "parse_mode": ParseMode.HTML,
                             "reply_markup": markup, **thread}
    if is_voice(doc):
        assert doc is not None
        return await bot.send_voice(  # type: ignore[no-any-return]
            chat_id, InputFile(doc.content, filename=doc.filename), **extra)
    digest = hashlib.sha256(content).hexdigest()
    known = uploads.get(digest) if uploads is not None else None
    if known is not None:
        try:
            if doc is not None:
                return await bot.send_document(chat_id, known, **extra)  # type: ignore[no-any-return]
            return await bot.send_photo(chat_id, known, **extra)  # type: ignore[no-any-return]
        except BadRequest as err:
            if "file" not in str(err).lower():
                raise
            assert uploads is not None
            uploads.pop(digest, None)  # the id expired: upload again
    if doc is not None:
        sent: Message = await bot.send_document(
            chat_id, InputFile(doc.content, filename=doc.filename), **extra)
        file_id = sent.document.file_id if sent.document else None
    else:
        sent = await bot.send_photo(chat_id, InputFile(content, filename="image.png"), **extra)
        file_id = sent.photo[-1].file_id if sent.photo else None
    if uploads is not None and file_id:
        uploads[digest] = file_id
    return sent


async def edit_out(bot: Any, chat_id: int | str, message: OutMessage) -> str:
    """Replace the text (and buttons) of an earlier bot message (``message.edit_id``)."""
    assert message.edit_id is not None
    markup = inline_keyboard(message.buttons) if message.buttons else None
    try:
        await bot.edit_message_text(
            utf16_cut(message.text, MAX_TEXT)[0] or "…", chat_id=chat_id, message_id=int(message.edit_id),
            parse_mode=ParseMode.HTML, reply_markup=markup,
        )
    except BadRequest as err:
        if "not modified" not in str(err).lower():
            raise
    return message.edit_id


def to_incoming(update: Update) -> Incoming | None:
    """Translate a PTB update into our :class:`Incoming`; ``None`` for what we ignore."""
    uid = str(update.update_id)
    query = update.callback_query
    if query is not None:
        thread = None
        if query.message is not None and query.message.chat.type != ChatType.PRIVATE:
            thread = _topic_of(query.message)
            if thread is None:
                return None
        user = query.from_user
        if user is None:  # a forged or broken update: nobody to answer
            return None
        chat_id = str(query.message.chat.id) if query.message is not None else str(user.id)
        return Incoming(CHANNEL, str(user.id), chat_id, "choice", choice_id=query.data or "",
                        update_id=uid, language_hint=user.language_code, thread_id=thread)
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    thread = None
    if message.chat.type != ChatType.PRIVATE:
        thread = _topic_of(message)
        if thread is None:  # only topics of a forum group (the staff group) concern us
            return None
    user = message.from_user
    base: dict[str, Any] = {
        "channel": CHANNEL, "user_id": str(user.id), "chat_id": str(message.chat.id),
        "update_id": uid, "language_hint": user.language_code, "thread_id": thread,
    }
    if message.contact is not None:
        owner = message.contact.user_id
        return Incoming(kind="contact", contact=Contact(message.contact.phone_number,
                                                        str(owner) if owner else None), **base)
    if message.text is not None:
        if message.text.startswith("/"):
            return Incoming(kind="command", text=message.text, **base)
        return Incoming(kind="text", text=message.text, **base)
    if message.location is not None:
        loc = (message.location.latitude, message.location.longitude)
        return Incoming(kind="location", location=loc, **base)
    if message.photo:
        biggest = message.photo[-1]
        file = IncomingFile("photo", biggest.file_id, "photo.jpg", "image/jpeg", biggest.file_size)
        return Incoming(kind="unsupported", media="photo", text=message.caption or "", file=file,
                        **base)
    if message.document is not None:
        d = message.document
        file = IncomingFile("document", d.file_id, d.file_name or "document",
                            d.mime_type or "application/octet-stream", d.file_size)
        return Incoming(kind="unsupported", media="document", text=message.caption or "",
                        file=file, **base)
    sound = message.voice or message.audio
    if sound is not None:
        file = IncomingFile("voice", sound.file_id, "voice.ogg" if message.voice else "audio",
                            sound.mime_type or "audio/ogg", sound.file_size)
        return Incoming(kind="unsupported", media="voice", text=message.caption or "", file=file,
                        **base)
    media = "voice" if message.video_note else "media"
    return Incoming(kind="unsupported", media=media, text=message.caption or "", **base)


def _topic_of(message: Any) -> str | None:
    """The topic id of a message in a forum group, or None (private chats, plain groups)."""
    if getattr(message, "chat", None) is None or message.chat.type not in GROUPS:
        return None
    thread = getattr(message, "message_thread_id", None)
    if thread is None or not getattr(message, "is_topic_message", False):
        return None
    return str(thread)


class TelegramTransport:
    """The outbox's sender for Telegram: one call per message, PTB errors → ours."""

    channel = CHANNEL

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 voices: VoiceStore | None = None) -> None:
        self.application = application
        self.uploads: dict[str, str] = {}
        self.voices = voices

    async def send_voice(self, chat_id: str, ref: str) -> None:
        """A stored voice note before the text (voice help): by its ``file_id`` once Telegram
        has it, else uploaded (and its new ``file_id`` kept). Trouble here never stops the text."""
        prompt = await self.voices.load(ref) if self.voices is not None else None
        if prompt is None or self.voices is None:
            return
        bot = self.application.bot
        ogg = prompt.mime_type.startswith("audio/ogg")
        send = bot.send_voice if ogg else bot.send_audio
        known = self.voices.known_id(prompt, CHANNEL)
        try:
            if known is not None:
                try:
                    await send(int(chat_id), known)
                    return
                except BadRequest as err:
                    if "file" not in str(err).lower():
                        raise
            sent = await send(int(chat_id), InputFile(prompt.content, filename="voice.ogg" if ogg
                                                      else "voice"))
            media = sent.voice if ogg else sent.audio
            if media is not None:
                await self.voices.remember(prompt, CHANNEL, media.file_id)
        except TelegramError as err:  # the text that follows meets (and handles) the same trouble
            log.warning("telegram: voice note %s not sent to %s: %s", ref, chat_id, err)

    async def send(
        self, chat_id: str, message: OutMessage, *, row_id: int | None = None
    ) -> str | None:
        try:
            if message.voice_ref is not None and message.edit_id is None:
                await self.send_voice(chat_id, message.voice_ref)
            if message.edit_id is not None:
                return await edit_out(self.application.bot, int(chat_id), message)
            sent = await send_out(self.application.bot, int(chat_id), message, self.uploads)
        except RetryAfter as err:
            raise RetryLater(retry_seconds(err.retry_after)) from err
        except Forbidden as err:
            raise Unreachable(str(err)) from err
        except BadRequest as err:
            if "chat not found" in str(err).lower():
                raise Unreachable(str(err)) from err
            raise Permanent(str(err)) from err
        except (TimedOut, NetworkError) as err:
            raise Transient(str(err) or type(err).__name__) from err
        except TelegramError as err:
            raise Transient(str(err)) from err
        return str(sent.message_id)


def _telegram_chat(external_id: str) -> int | None:
    """The chat id of a Telegram user id (None if it is not a number)."""
    return int(external_id) if external_id.lstrip("-").isdigit() else None


class TelegramChannel:
    """Runs the PTB :class:`Application`: polling or webhook, replies, command menus. It is the
    :class:`~bot.channel_services.Channel` handlers ask for files, session links and topics."""

    name = CHANNEL

    def __init__(
        self,
        settings: TelegramSettings,
        engine: Engine,
        pacer: Pacer,
        translator: Translator,
        *,
        voices: VoiceStore | None = None,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
    ) -> None:
        assert settings.token is not None
        self.settings = settings
        self.engine = engine
        self.pacer = pacer
        self.translator = translator
        builder = (
            ApplicationBuilder()
            .token(settings.token.get_secret_value())
            .base_url(settings.api_url)
            .base_file_url(settings.api_url.removesuffix("/bot") + "/file/bot")
            .concurrent_updates(settings.concurrent_updates)
        )
        # aiohttp rather than PTB's default httpx: a quarter of the CPU per call (telegram_http.py).
        builder = builder.request(request or AiohttpRequest())
        builder = builder.get_updates_request(updates_request or AiohttpRequest(connection_pool_size=1))
        # No PTB Updater: our own getUpdates loop stores each batch before the offset moves.
        builder = builder.updater(None)
        self.application = builder.build()
        self.transport = TelegramTransport(self.application, voices)
        services = engine.services
        self.inbox = Inbox(services.db, services.clock, services.outbox, CHANNEL,
                           self._handle, self._drop, slots=settings.concurrent_updates)
        self._poller: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()  # button answers, menu updates
        services.channels.add(self)

    @property
    def webhook_path(self) -> str | None:
        if not self.settings.webhook_url:
            return None
        return urlparse(self.settings.webhook_url).path or "/telegram/webhook"

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        app = self.application
        await app.initialize()
        username = app.bot.username
        if username:
            self.engine.services.bot_username = username
        try:
            await self._set_commands()
        except TelegramError:
            log.warning("telegram: could not set the command menus", exc_info=True)
        await app.start()
        if self.settings.webhook_url:
            assert self.settings.webhook_secret is not None
            await app.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret.get_secret_value(),
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("telegram: webhook set (path %s)", self.webhook_path)
        await self.inbox.resume()
        if not self.settings.webhook_url:
            await self.start_polling()

    async def start_polling(self, long_poll: int = 25) -> None:
        await self.application.bot.delete_webhook(drop_pending_updates=False)
        self._poller = asyncio.create_task(self._poll(long_poll))
        log.info("telegram: long polling started")

    async def stop(self) -> None:
        """Stop fetching, finish the updates being handled (a few seconds), leave the rest
        stored for the next start."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self.inbox.stop()
        app = self.application
        if app.running:
            await app.stop()
        await app.shutdown()

    async def _poll(self, long_poll: int) -> None:
        """Long polling: each batch is stored (committed) before the offset moves past it, and
        Telegram forgets a batch only when asked for the next offset. A crash at any instant
        loses nothing; a repeat after a crash is dropped by update id."""
        bot = self.application.bot
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=long_poll,
                                                allowed_updates=Update.ALL_TYPES)
                if updates:
                    await self.receive([u.to_dict() for u in updates])
                    offset = updates[-1].update_id + 1
                failures = 0
            except asyncio.CancelledError:
                raise
            except RetryAfter as err:
                await asyncio.sleep(retry_seconds(err.retry_after))
            except TimedOut:
                continue
            except Exception:
                failures += 1
                log.warning("telegram: getUpdates failed (%d in a row)", failures, exc_info=True)
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))

    async def _set_commands(self) -> None:
        """The "/" menus (decided by :mod:`bot.command_menus`): artisans' commands for everyone,
        in every language; each staff member's chat also gets the commands of their role
        (``BotCommandScopeChat``)."""
        default = self.engine.services.settings.default_locale
        for lang in self._coded:
            await self.application.bot.set_my_commands(self._menu(lang, None), language_code=lang)
        await self.application.bot.set_my_commands(self._menu(default, None))
        for external_id, role in await command_menus.staff_roles(self.engine.services, CHANNEL):
            chat_id = _telegram_chat(external_id)
            if chat_id is not None:
                await self.set_chat_menu(chat_id, role)

    def _menu(self, lang: str, role: str | None) -> list[BotCommand]:
        """The menu of ``role`` in ``lang`` as Bot API commands (descriptions of 256 at most)."""
        return [BotCommand(c.name, c.description[:256])
                for c in command_menus.menu(self.engine.services, lang, role)]

    @property
    def _coded(self) -> tuple[str, ...]:
        """Our languages Telegram can name in a menu (two-letter ISO 639-1 codes only)."""
        return tuple(lang for lang in self.translator.languages if lang in ISO_639_1)

    async def set_chat_menu(self, chat_id: int, role: str | None, lang: str | None = None) -> None:
        """Give one chat the menu of its role (``None``: the artisans' menu). ``lang``, when
        Telegram has no code for it (Darija, Tamazight), is the chat's one menu language."""
        scope = BotCommandScopeChat(chat_id)
        default = self.engine.services.settings.default_locale
        own = lang if lang is not None and lang not in ISO_639_1 else None
        for code in (*self._coded, None):
            if (role is None and own is None) or (own is not None and code is not None):
                await self.application.bot.delete_my_commands(scope=scope, language_code=code)
            else:
                await self.application.bot.set_my_commands(
                    self._menu(own or code or default, role), scope=scope, language_code=code
                )

    def language_changed(self, chat_id: str, lang: str, role: str | None) -> None:
        """An artisan chose a language: Darija and Tamazight get the "/" menu in this chat."""
        chat = _telegram_chat(chat_id)
        if chat is not None:
            self._in_background(self._refresh_menu(chat, role, lang))

    def role_changed(self, user_id: str, role: str | None) -> None:
        """A staff role was granted or revoked: update that chat's "/" menu in the background
        (never inside the caller's transaction)."""
        chat_id = _telegram_chat(user_id)
        if chat_id is not None:
            self._in_background(self._refresh_menu(chat_id, role))

    async def _refresh_menu(self, chat_id: int, role: str | None, lang: str | None = None) -> None:
        try:
            await self.set_chat_menu(chat_id, role, lang)
        except TelegramError:
            log.warning("telegram: could not update the command menu of a chat", exc_info=True)

    def _in_background(self, call: Coroutine[Any, Any, None]) -> None:
        """Run a Bot API call without making the update wait for it (kept until done)."""
        task = asyncio.create_task(call)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def idle(self) -> None:
        """Wait for the background calls (button answers, menu updates) started so far."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def fetch_file(self, file_id: str) -> bytes:
        """The bytes of a file a user sent (for handlers that keep it, e.g. a broadcast photo)."""
        file = await self.application.bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())

    async def create_topic(self, chat_id: str, name: str) -> str | None:
        """Open a topic in a forum group (the staff group); return its ``message_thread_id``."""
        topic = await self.application.bot.create_forum_topic(int(chat_id), name[:128])
        return str(topic.message_thread_id)

    def settings_admin(self, user_id: str) -> bool:
        return user_id in {str(i) for i in self.settings.admin_ids}

    def session_link(self, session_id: int) -> str | None:
        """``https://t.me/<bot>?start=s<ID>``: opens the session's card, registering first if
        needed (None while the bot's username is unknown)."""
        username = self.engine.services.bot_username
        return f"https://t.me/{username}?start=s{session_id}" if username else None

    # -- webhook ----------------------------------------------------------------------------
    def secret_ok(self, header: str | None) -> bool:
        secret = self.settings.webhook_secret
        if secret is None or header is None:
            return False
        return hmac.compare_digest(header.encode(), secret.get_secret_value().encode())

    async def feed(self, payload: dict[str, Any]) -> None:
        """An update received by the webhook: stored before the HTTP handler answers 200."""
        await self.receive([payload])

    async def receive(self, payloads: list[dict[str, Any]]) -> None:
        """Store updates durably (a repeated ``update_id`` is dropped), then handle them."""
        await self.inbox.receive(
            Received(str(p["update_id"]), chat_of(p), p) for p in payloads if "update_id" in p
        )

    # -- updates ----------------------------------------------------------------------------
    async def _handle(self, row: Stored) -> list[Delivery]:
        update = Update.de_json(row.payload, self.application.bot)
        member = update.my_chat_member
        if member is not None and member.chat.type == ChatType.PRIVATE:
            status = member.new_chat_member.status
            blocked = status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
            await self.engine.settle_update(CHANNEL, row.external_id, unreachable=(
                str(member.chat.id) if blocked else None))
            return []
        incoming = to_incoming(update)
        if update.callback_query is not None:
            # Stop the button's spinner while the engine works, not before.
            self._in_background(self._answer(update))
        if incoming is None:
            await self.engine.settle_update(CHANNEL, row.external_id)
            return []
        return await self.engine.answer(incoming)

    async def _drop(self, rows: list[Stored], notify: bool) -> list[Delivery]:
        incoming = []
        for row in rows:
            found = to_incoming(Update.de_json(row.payload, self.application.bot))
            if found is None:  # no message in it: nothing to answer
                await self.engine.settle_update(CHANNEL, row.external_id)
            else:
                incoming.append(found)
        return await self.engine.drop(incoming, notify=notify)

    @staticmethod
    async def _answer(update: Update) -> None:
        assert update.callback_query is not None
        try:
            await update.callback_query.answer()
        except TelegramError:
            log.debug("callback answer failed", exc_info=True)
