"""WhatsApp through the Business Cloud API: webhook in, rendered replies out. Nothing else.

The app's one HTTP server (:mod:`bot.http`) serves :meth:`WhatsAppChannel.endpoint` at
``/whatsapp/webhook``:

- ``GET``: Meta's verification handshake (``hub.mode=subscribe``, ``hub.verify_token``,
  ``hub.challenge`` echoed back).
- ``POST``: refused with 401 without ``X-Hub-Signature-256`` and 403 when it does not match the
  HMAC-SHA256 of the raw body under the app secret (compared in constant time). Each message of
  a signed post is stored (``inbound_updates``, one row per ``wamid``; a repeat makes none)
  *before* the post is answered 200: Meta does not redeliver what it saw acknowledged. They are
  then handled from there through :class:`~bot.inbox.Inbox` (one chat at a time, floods
  dropped, what a crash interrupted handled at the next start); status callbacks right after,
  in a task.

Pieces: :mod:`~bot.channels.whatsapp_webhook` reads posts, :mod:`~bot.channels.whatsapp_render`
turns replies into buttons/lists/text, :mod:`~bot.channels.whatsapp_api` calls the Graph API,
:mod:`~bot.channels.whatsapp_outbox` applies the 24-hour rule to outbox messages. Status callbacks
update the outbox row that sent the message (found by the ``wamid`` of any of its parts):
delivery receipts are kept; a late failure is translated into a :mod:`bot.errors` type and
settled by the sender like a failure at send time (rate limits and 131026 "undeliverable",
which is not a block, are retried; that message alone is given up after ``max_attempts``),
except 131047 (sent again as a template). A retry sends again only the part that failed.

Each message received opens the chat's 24-hour window (``whatsapp_windows``, artisan or not); a
``system`` message saying a user changed number moves their identity, conversation and role to
the new number; errors Meta reports for a whole post are logged. :meth:`fetch_file` downloads a
photo or document a user sent: the channel is a :class:`~bot.channel_services.Channel` in
``services.channels``, as on Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.whatsapp_api import OUTSIDE_WINDOW, GraphClient, error_for
from bot.channels.whatsapp_files import CalendarEvent
from bot.channels.whatsapp_outbox import WhatsAppTransport
from bot.channels.whatsapp_render import Labels
from bot.channels.whatsapp_webhook import (
    CHANNEL,
    Batch,
    NumberChange,
    Status,
    parse,
    signature_ok,
)
from bot.dialogue import Engine
from bot.i18n import Msg, Raw, Translator
from bot.inbox import Inbox, Received
from bot.messages import OutMessage
from bot.outbox import PENDING, SENT
from bot.pacing import Pacer
from bot.sender import Delivery, outcome_of
from bot.settings import WhatsAppSettings
from bot.voices import VoiceStore
from storage import outbox as outbox_repo
from storage import whatsapp as wa_repo
from storage.updates import Stored

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp/webhook"
MAX_BODY = 1_000_000  # Meta's posts are a few kilobytes
TEMPLATE_ERRORS = range(132000, 133000)
STOP_GRACE = 10.0
# How fresh a chat's recorded last message must be (the window is 24 h; a write per message
# would cost a transaction each for nothing).
WINDOW_TOUCH_EVERY = timedelta(seconds=60)


def message_posts(payload: Any, phone_id: str | None) -> list[Received]:
    """Each message of a webhook post as a post of its own (same shape, one message), keyed by
    its ``wamid`` and chat: what is stored before answering 200 (what :func:`parse` would not
    hand to the engine is not kept)."""
    posts: list[Received] = []
    if not isinstance(payload, dict):
        return posts
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                continue
            value = change["value"]
            for message in value.get("messages") or []:
                if not isinstance(message, dict) or not message.get("id"):
                    continue
                one = {k: v for k, v in value.items() if k not in ("messages", "statuses")}
                one["messages"] = [message]
                post = {"object": payload.get("object"), "entry": [
                    {"id": entry.get("id"), "changes": [{**change, "value": one}]}]}
                for incoming in parse(post, phone_id).messages:
                    posts.append(Received(str(message["id"])[:128], incoming.chat_id[:64], post))
    return posts


class WhatsAppChannel:
    """Receives the webhook, hands messages to the engine, sends the replies. As a
    :class:`~bot.channel_services.Channel` it gives handlers the files users sent; it has no
    session links, forum topics or "/" menus."""

    name = CHANNEL

    def __init__(
        self,
        settings: WhatsAppSettings,
        engine: Engine,
        pacer: Pacer,
        translator: Translator,
        *,
        voices: VoiceStore | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        assert settings.app_secret is not None and settings.verify_token is not None
        self.settings = settings
        self.engine = engine
        self.pacer = pacer
        self.translator = translator
        services = engine.services
        self.api = GraphClient(settings, transport=http_transport)
        self.transport = WhatsAppTransport(
            self.api, settings, services.db, services.clock, pacer, self.labels
        )
        self.transport.voices = voices
        self._labels: dict[str, Labels] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._window_touched: dict[str, datetime] = {}
        services.channels.add(self)
        self.inbox = Inbox(services.db, services.clock, services.outbox, CHANNEL,
                           self._handle, self._drop)

    # -- lifecycle --------------------------------------------------------------------------
    async def idle(self) -> None:
        """Wait until every post received so far is handled (tests, shutdown)."""
        while self._tasks or self.inbox.busy:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.inbox.idle()

    async def start(self) -> None:
        """Handle the messages stored and not handled before the last stop."""
        await self.inbox.resume()

    async def stop(self) -> None:
        """Finish what is being handled (a few seconds), leave the rest stored, then close the
        Graph API client."""
        await self.inbox.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*list(self._tasks), return_exceptions=True),
                                   STOP_GRACE)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.api.close()

    def labels(self, lang: str) -> Labels:
        """The words of WhatsApp's widgets ("Choose", ...) in ``lang``."""
        if lang not in self._labels:
            t, zone = self.translator, self.engine.services.zone
            self._labels[lang] = Labels(
                choose=t.plain(Msg("wa.choose"), lang, zone),
                pick_below=t.plain(Msg("wa.pick_below"), lang, zone),
                more_choices=t.plain(Msg("wa.more_choices", page=Raw("{page}"), pages=Raw("{pages}")),
                                     lang, zone),
                reply_number=t.plain(Msg("wa.reply_number"), lang, zone),
                describe=lambda event: self.describe(event, lang),
            )
        return self._labels[lang]

    def describe(self, event: CalendarEvent, lang: str) -> str:
        """A calendar event in the reader's words (the time in the chamber's zone), with the
        link that adds it to their phone's calendar: WhatsApp takes no ``.ics`` file."""
        t, zone = self.translator, self.engine.services.zone
        lines = [t.render(Msg("wa.cal.event", title=event.title or "-", when=event.start),
                          lang, zone)]
        if event.place:
            lines.append(t.render(Msg("wa.cal.place", place=event.place), lang, zone))
        lines.append(t.render(Msg("wa.cal.add", link=event.link), lang, zone))
        return "\n".join(lines)

    # -- the webhook ------------------------------------------------------------------------
    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            return self.verify(request)
        return await self.receive(request)

    def verify(self, request: Request) -> Response:
        """Meta's subscription handshake: echo ``hub.challenge`` if the verify token matches."""
        assert self.settings.verify_token is not None
        params = request.query_params
        token = params.get("hub.verify_token") or ""
        challenge = params.get("hub.challenge") or ""
        expected = self.settings.verify_token.get_secret_value()
        if (
            params.get("hub.mode") == "subscribe"
            and hmac.compare_digest(token.encode(), expected.encode())
            and 0 < len(challenge) <= 256
        ):
            log.info("whatsapp: webhook verified by Meta")
            return PlainTextResponse(challenge)
        log.warning("whatsapp: webhook verification with a wrong token refused")
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        assert self.settings.app_secret is not None
        header = request.headers.get("X-Hub-Signature-256")
        if not header:
            log.warning("whatsapp: unsigned webhook post refused")
            return PlainTextResponse("signature required", status_code=401)
        declared = request.headers.get("Content-Length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        if not signature_ok(self.settings.app_secret.get_secret_value(), body, header):
            log.warning("whatsapp: webhook post with a wrong signature refused")
            return PlainTextResponse("bad signature", status_code=403)
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("bad request", status_code=400)
        await self.process(payload)
        return PlainTextResponse("ok")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("whatsapp: handling a webhook post failed", exc_info=task.exception())

    # -- handling ---------------------------------------------------------------------------
    async def process(self, payload: Any) -> None:
        """Store the post's messages durably (returns once committed; the webhook answers 200
        after), then handle them from the store; status callbacks go to a task. What the post
        says about the account (a user's new number, errors) is acted on first."""
        batch = parse(payload, self.settings.phone_id)
        await self.on_account_events(batch)
        await self.inbox.receive(message_posts(payload, self.settings.phone_id))
        if batch.statuses:
            self._spawn(self._on_statuses(batch.statuses))

    async def _on_statuses(self, statuses: list[Status]) -> None:
        for status in statuses:
            try:
                await self.on_status(status)
            except Exception:  # one bad callback must not stop the others
                log.exception("whatsapp: status callback for %s failed", status.message_id)

    async def on_account_events(self, batch: Batch) -> None:
        """What a post says besides messages and statuses: errors about the whole post (logged)
        and users who changed number (their records follow them)."""
        for error in batch.errors:
            log.warning("whatsapp: Meta reported an error for a webhook post: %s %s",
                        error.code, error.title)
        for change in batch.number_changes:
            try:
                await self.on_number_change(change)
            except Exception:
                log.exception("whatsapp: moving a changed number failed")

    async def on_number_change(self, change: NumberChange) -> None:
        services = self.engine.services
        async with services.db.transaction() as conn:
            moved = await wa_repo.change_number(conn, change.old, change.new)
            await outbox_repo.move_chat(conn, CHANNEL, change.old, change.new)
        self._window_touched.pop(change.old, None)
        if moved:
            log.info("whatsapp: a user changed number; their records moved to the new number")

    async def note_inbound(self, chat_id: str) -> None:
        """``chat_id`` wrote: its 24-hour window is open (written at most once a minute)."""
        now = self.engine.services.clock.now()
        last = self._window_touched.get(chat_id)
        if last is not None and now - last < WINDOW_TOUCH_EVERY:
            return
        async with self.engine.services.db.transaction() as conn:
            await wa_repo.touch_window(conn, chat_id, now)
        if len(self._window_touched) > 4096:
            self._window_touched.clear()
        self._window_touched[chat_id] = now

    async def fetch_file(self, file_id: str) -> bytes:
        """The bytes of a photo or document a user sent (for handlers that keep it, e.g. a
        broadcast photo); :class:`~bot.errors.FileTooLarge` past the download limit."""
        return await self.api.download(file_id)

    def session_link(self, session_id: int) -> str | None:
        """None: a ``wa.me`` link needs the business's phone number, which the settings lack."""
        return None

    async def create_topic(self, chat_id: str, name: str) -> str | None:
        return None  # WhatsApp has no forum topics

    def settings_admin(self, user_id: str) -> bool:
        return user_id in self.settings.admin_numbers

    def role_changed(self, user_id: str, role: str | None) -> None:
        """Nothing to update: WhatsApp has no "/" menu."""

    def language_changed(self, chat_id: str, lang: str, role: str | None) -> None:
        """Nothing to update: WhatsApp has no "/" menu."""

    async def _handle(self, row: Stored) -> list[Delivery]:
        messages = parse(row.payload, self.settings.phone_id).messages
        if not messages:
            await self.engine.settle_update(CHANNEL, row.external_id)
            return []
        await self.note_inbound(messages[0].chat_id)
        return await self.engine.answer(messages[0])

    async def _drop(self, rows: list[Stored], notify: bool) -> list[Delivery]:
        incoming = [m for row in rows for m in parse(row.payload, self.settings.phone_id).messages]
        if incoming:  # they wrote, even if too fast to be answered
            await self.note_inbound(incoming[0].chat_id)
        return await self.engine.drop(incoming, notify=notify)

    async def on_status(self, status: Status) -> None:
        """Record a delivery receipt; a late failure of an outbox message is read like a
        failure at send time (by the sender), except "outside the window" (131047, send it
        again as a template) and a refused template (fail it, or move it to Telegram)."""
        services = self.engine.services
        now = services.clock.now()
        async with services.db.transaction() as conn:
            found = await wa_repo.part_of(conn, status.message_id)
            part = found[1] if found is not None else None
            row = (await outbox_repo.by_id(conn, found[0]) if found is not None
                   else await outbox_repo.by_platform_id(conn, CHANNEL, status.message_id))
            if row is None:
                if status.status == "failed":
                    log.warning("whatsapp: a message to %s failed: %s %s", status.recipient,
                                status.error_code, status.error_title)
                return
            await wa_repo.record_receipt(conn, row.id, status.message_id, status.status, now,
                                         status.error_code, status.error_title or None)
            if status.status != "failed" or row.status != SENT:
                return
            code = status.error_code or 0
            reason = f"whatsapp error {code}: {status.error_title}".strip()
            origin = dict(row.payload.get("origin") or {})
            if part is not None:  # sent again, this part is: the others went through
                await wa_repo.forget_part(conn, row.id, part)
            if code == OUTSIDE_WINDOW and not origin.get("template"):
                origin["template"] = True
            elif code in TEMPLATE_ERRORS and origin.get("template"):
                origin["template_refused"] = f"template refused: {reason}"
            else:
                error = error_for(400, {"error": {"code": code, "message": status.error_title}})
                sender = services.outbox.senders[CHANNEL]
                item = Delivery(row.id, row.chat_id, OutMessage.from_json(row.payload),
                                row.attempts, row.artisan_id)
                values = await sender.values_for(conn, item, outcome_of(error), error, now)
                await outbox_repo.mark(conn, [row.id], **values)
                origin = {}
            if origin:  # the same message again, differently
                await outbox_repo.mark(conn, [row.id], status=PENDING, next_attempt_at=now,
                                       last_error=reason[:500],
                                       payload={**row.payload, "origin": origin})
        services.outbox.wake()
