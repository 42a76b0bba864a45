"""The outbox's sender for WhatsApp, and the 24-hour rule.

WhatsApp takes free-form messages only within 24 hours of the user's last message (the
"customer service window"; the engine keeps ``identities.last_inbound_at``). Outside it only
**templates** approved by Meta go through. So each outbox row goes:

1. inside the window → rendered like a direct reply (buttons, lists, text);
2. outside it, or when Meta answered 131047 → the template configured for the row's kind
   (``HIRFA_WHATSAPP__TEMPLATES``; ``*`` serves every other kind) in the artisan's language,
   its variables filled from the row's ``origin`` (parameters already rendered for the reader)
   or, for ``$text``, from the whole message on one line;
3. no template, or Meta refused it → :class:`~bot.errors.WindowClosed`: the outbox moves the
   row to the artisan's Telegram chat if they have one, else marks it ``failed`` with the reason.

The window is kept per chat (``whatsapp_windows``), whoever writes: staff who are not artisans
get their buttons too. It is read with the outbox's claim (``storage/outbox.due``) into the
message's ``origin["inbound_at"]`` (a direct reply carries the moment the user wrote). A
message of several parts (a document, then text with buttons) records each part Meta accepts
as it goes, so a retry after a later part failed sends only the rest.
WhatsApp cannot edit a sent message: an "edit" (a progress report refreshed) is not sent at all,
rather than arriving as one more message each time; features that edit end with a message of
their own (a broadcast's report), which is the one final message the reader gets.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.channels.whatsapp_api import GraphClient
from bot.channels.whatsapp_render import Labels, render, shorten
from bot.clock import Clock
from bot.errors import Permanent, Transient, WindowClosed
from bot.i18n import html_to_whatsapp
from bot.messages import Document, OutMessage
from bot.pacing import Pacer
from bot.settings import WhatsAppSettings
from bot.voices import VoiceStore
from storage import whatsapp as wa_repo
from storage.database import Database

log = logging.getLogger(__name__)

CHANNEL = wa_repo.CHANNEL
WINDOW = timedelta(hours=24)
# Leave a margin: a message queued at 23:59:59 may reach Meta after the window has shut.
WINDOW_MARGIN = timedelta(minutes=2)
TEXT_PARAM = "$text"
PARAM_MAX = 700


def template_value(text: str) -> str:
    """A template variable may not hold line breaks, tabs or more than 4 spaces in a row."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return shorten(" · ".join(line for line in lines if line), PARAM_MAX) or "-"


class WhatsAppTransport:
    """Delivers one outbox row: free-form inside the window, a template outside it."""

    channel = CHANNEL

    def __init__(
        self, api: GraphClient, settings: WhatsAppSettings, db: Database, clock: Clock,
        pacer: Pacer, labels: Callable[[str], Labels],
    ) -> None:
        self.api = api
        self.settings = settings
        self.db = db
        self.clock = clock
        self.pacer = pacer
        self.labels = labels
        self.voices: VoiceStore | None = None  # set by the channel (voice help)

    def window_open(self, message: OutMessage) -> bool:
        """Whether free-form messages reach the chat now: ``origin["inbound_at"]`` says when
        it last wrote (a direct reply: the message it answers; a queued row: read with the
        outbox's claim). Unknown: closed."""
        inbound = (message.origin or {}).get("inbound_at")
        if not isinstance(inbound, str):
            return False
        return self.clock.now() - datetime.fromisoformat(inbound) < WINDOW - WINDOW_MARGIN

    async def send(
        self, chat_id: str, message: OutMessage, *, row_id: int | None = None
    ) -> str | None:
        if message.edit_id is not None:
            return None  # no edits on WhatsApp (see above): the final message comes on its own
        origin = message.origin or {}
        if origin.get("template_refused"):
            raise WindowClosed(str(origin["template_refused"]))
        if origin.get("template") or not self.window_open(message):
            return await self.send_template(chat_id, message)
        parts = render(message, self.labels(message.locale))
        done: dict[int, str] = {}
        if row_id is not None and len(parts) > 1:
            async with self.db.read() as conn:
                done = await wa_repo.parts_sent(conn, row_id)
        first_slot_taken = True
        if message.voice_ref is not None and not done:
            first_slot_taken = not await self.send_voice(chat_id, message.voice_ref,
                                                         first_slot_taken=True)
        try:
            return await self.api.send_parts(
                chat_id, parts, self.pacer, first_slot_taken=first_slot_taken, done=done,
                on_sent=self._recorder(row_id) if row_id is not None and len(parts) > 1 else None,
            )
        except WindowClosed:
            return await self.send_template(chat_id, message)

    def _recorder(self, row_id: int) -> Callable[[int, str], Awaitable[None]]:
        """Writes down, at once and durably, each part of row ``row_id`` Meta accepted."""
        async def record(part: int, message_id: str) -> None:
            async with self.db.transaction() as conn:
                await wa_repo.record_part(conn, row_id, part, message_id, self.clock.now())
        return record

    async def send_voice(self, chat_id: str, ref: str, *, first_slot_taken: bool = False) -> bool:
        """Send a stored voice note as a WhatsApp audio message (uploaded once, then by its media
        id); True when it was sent. A failure is logged and the text still goes."""
        prompt = await self.voices.load(ref) if self.voices is not None else None
        if prompt is None or self.voices is None:
            return False
        try:
            media_id = self.voices.known_id(prompt, CHANNEL)
            if media_id is None:
                media_id = await self.api.upload(Document("voice.ogg", prompt.content, prompt.mime_type))
                await self.voices.remember(prompt, CHANNEL, media_id)
            if not first_slot_taken:
                await self.pacer.acquire()
            await self.api.post_message(chat_id, {"type": "audio", "audio": {"id": media_id}})
        except (Permanent, Transient) as err:
            log.warning("whatsapp: voice note %s not sent to %s: %s", ref, chat_id, err)
            return False
        return True

    def template_message(self, message: OutMessage) -> tuple[str, dict[str, Any]]:
        """The template call for ``message``; :class:`WindowClosed` if none can be built."""
        origin = message.origin or {}
        kind = str(origin.get("kind") or "")
        spec = self.settings.template_for(kind)
        if spec is None:
            raise WindowClosed(f"outside the 24-hour window and no template for {kind!r} messages")
        language = self.settings.template_languages.get(message.locale)
        if language is None:
            raise WindowClosed(f"template {spec.name}: no language code for {message.locale!r}")
        params = origin.get("params") or {}
        values = []
        for name in spec.params:
            if name == TEXT_PARAM:
                values.append(template_value(html_to_whatsapp(message.text)))
            elif name in params:
                values.append(template_value(str(params[name])))
            else:
                raise WindowClosed(f"template {spec.name}: the message has no parameter {name!r}")
        template: dict[str, Any] = {"name": spec.name, "language": {"code": language}}
        if values:
            template["components"] = [{
                "type": "body",
                "parameters": [{"type": "text", "text": value} for value in values],
            }]
        return spec.name, {"type": "template", "template": template}

    async def send_template(self, chat_id: str, message: OutMessage) -> str:
        name, body = self.template_message(message)
        try:
            return await self.api.post_message(chat_id, body)
        except Permanent as err:
            raise WindowClosed(f"template {name} ({message.locale}) refused: {err}") from err

