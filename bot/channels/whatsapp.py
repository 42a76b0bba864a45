"""WhatsApp through the Business Cloud API: webhook in, rendered replies out. Nothing else.

The app's one HTTP server (:mod:`bot.http`) serves :meth:`WhatsAppChannel.endpoint` at
``/whatsapp/webhook``:

- ``GET``: Meta's verification handshake (``hub.mode=subscribe``, ``hub.verify_token``,
  ``hub.challenge`` echoed back).
- ``POST``: refused with 401 without ``X-Hub-Signature-256`` and 403 when it does not match the
  HMAC-SHA256 of the raw body under the app secret (compared in constant time). A signed post is
  answered 200 at once; its messages and status callbacks are handled right after, in a task.
  Meta redelivers anything not answered 200, for days: repeats are dropped by message id
  (``wamid``) in ``processed_updates``, so also after a restart.

Pieces: :mod:`~bot.channels.whatsapp_webhook` reads posts, :mod:`~bot.channels.whatsapp_render`
turns replies into buttons/lists/text, :mod:`~bot.channels.whatsapp_api` calls the Graph API,
:mod:`~bot.channels.whatsapp_outbox` applies the 24-hour rule to outbox messages. Status callbacks
update the outbox row that sent the message (found by the ``wamid`` of any of its parts):
delivery receipts are kept; a late failure is retried (rate limits, and 131026 "undeliverable",
which is not a block: that message alone is given up after the outbox's ``max_attempts``),
re-sent as a template (131047), or fails the row with Meta's code. A retry sends again only the
part that failed.

Each message received opens the chat's 24-hour window (``whatsapp_windows``, artisan or not); a
``system`` message saying a user changed number moves their identity, conversation and role to
the new number; errors Meta reports for a whole post are logged. :meth:`fetch_file` downloads a
photo or document a user sent (``services.extras["files"]["whatsapp"]``, as on Telegram).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import weakref
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.whatsapp_api import (
    OUTSIDE_WINDOW,
    THROTTLED,
    UNDELIVERABLE,
    GraphClient,
    TokenRejected,
)
from bot.channels.whatsapp_files import CalendarEvent
from bot.channels.whatsapp_outbox import WhatsAppTransport
from bot.channels.whatsapp_render import Labels, render
from bot.channels.whatsapp_webhook import (
    CHANNEL,
    Batch,
    NumberChange,
    Status,
    parse,
    signature_ok,
)
from bot.dialogue import Engine
from bot.errors import Permanent, RetryLater, Transient, Unreachable, WindowClosed
from bot.i18n import Msg, Raw, Translator
from bot.messages import Incoming, OutMessage
from bot.outbox import FAILED, SENT, Pacer
from bot.settings import WhatsAppSettings
from storage import whatsapp as wa_repo

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp/webhook"
MAX_BODY = 1_000_000  # Meta's posts are a few kilobytes
TEMPLATE_ERRORS = range(132000, 133000)
STOP_GRACE = 10.0
# How fresh a chat's recorded last message must be (the window is 24 h; a write per message
# would cost a transaction each for nothing).
WINDOW_TOUCH_EVERY = timedelta(seconds=60)


class WhatsAppChannel:
    """Receives the webhook, hands messages to the engine, sends the replies."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        engine: Engine,
        pacer: Pacer,
        translator: Translator,
        *,
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
        self.transport.voices = services.extras.get("voices")
        # Media download (``fetch_file(media_id) -> bytes``) where this build has it.
        fetch = getattr(self, "fetch_file", None)
        if fetch is not None:
            services.extras.setdefault("files", {}).setdefault(CHANNEL, fetch)
        self._labels: dict[str, Labels] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._chats: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._window_touched: dict[str, datetime] = {}
        services.extras.setdefault("files", {})[CHANNEL] = self.fetch_file

    # -- lifecycle --------------------------------------------------------------------------
    async def idle(self) -> None:
        """Wait until every post received so far is handled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Finish what is being handled (at most 10 s), then close the Graph API client."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), STOP_GRACE)
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
        self._spawn(self.process(payload))
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
        """Handle one post: status callbacks first, then each message in order."""
        batch = parse(payload, self.settings.phone_id)
        await self.on_account_events(batch)
        for status in batch.statuses:
            try:
                await self.on_status(status)
            except Exception:  # one bad callback must not lose the messages of the post
                log.exception("whatsapp: status callback for %s failed", status.message_id)
        for incoming in batch.messages:
            try:
                await self.on_message(incoming)
            except Exception:
                log.exception("whatsapp: message %s failed", incoming.update_id)

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

    async def on_message(self, incoming: Incoming) -> None:
        # One chat at a time, replies included, so two quick taps are answered in order.
        lock = self._chats.get(incoming.chat_id)
        if lock is None:
            lock = self._chats[incoming.chat_id] = asyncio.Lock()
        async with lock:
            await self.note_inbound(incoming.chat_id)
            replies = await self.engine.handle(incoming)
            await self.reply(incoming.chat_id, replies)

    async def reply(self, chat_id: str, replies: list[OutMessage]) -> None:
        """Send direct replies at once (they share the pacer with the outbox)."""
        for message in replies:
            if self.api.halted:
                log.warning("whatsapp: a reply to %s was not sent (access token rejected)", chat_id)
                return
            if message.voice_ref is not None:
                await self.transport.send_voice(chat_id, message.voice_ref)
            for part in render(message, self.labels(message.locale)):
                for attempt in range(3):
                    try:
                        await self.api.send_parts(chat_id, [part], self.pacer)
                        break
                    except TokenRejected:
                        return
                    except RetryLater as err:
                        self.pacer.pause(err.retry_after)
                        log.warning("whatsapp: rate limited on a reply (attempt %d)", attempt + 1)
                    except Unreachable:
                        await self.engine.chat_unreachable(CHANNEL, chat_id)
                        return
                    except (Permanent, WindowClosed) as err:
                        log.error("whatsapp refused a reply to %s: %s", chat_id, err)
                        break
                    except Transient as err:
                        log.warning("whatsapp: %s on a reply (attempt %d)", err, attempt + 1)

    async def on_status(self, status: Status) -> None:
        """Record a delivery receipt; act on a late failure of an outbox message."""
        services = self.engine.services
        now = services.clock.now()
        wake = False
        async with services.db.transaction() as conn:
            row = await wa_repo.row_by_message_id(conn, status.message_id)
            if row is None:
                if status.status == "failed":
                    log.warning("whatsapp: a reply to %s failed: %s %s", status.recipient,
                                status.error_code, status.error_title)
                return
            await wa_repo.record_receipt(conn, row, status.message_id, status.status, now,
                                         status.error_code, status.error_title or None)
            if status.status != "failed" or row.status != SENT:
                return
            code = status.error_code or 0
            reason = f"whatsapp error {code}: {status.error_title}".strip()
            origin = dict(row.payload.get("origin") or {})
            if row.part is not None:  # sent again, this part is: the others went through
                await wa_repo.forget_part(conn, row.id, row.part)
            max_attempts = services.settings.outbox.max_attempts
            if code == OUTSIDE_WINDOW and not origin.get("template"):
                origin["template"] = True
                await wa_repo.reschedule(conn, row, now, reason,
                                         payload={**row.payload, "origin": origin})
            elif code in TEMPLATE_ERRORS and origin.get("template"):
                origin["template_refused"] = f"template refused: {reason}"
                await wa_repo.reschedule(conn, row, now, reason,
                                         payload={**row.payload, "origin": origin})
            elif code in THROTTLED:
                await wa_repo.reschedule(conn, row, now + timedelta(seconds=THROTTLED[code]), reason)
            elif code == UNDELIVERABLE and row.attempts < max_attempts:
                # Not a block (the number may be back later): this message is tried again.
                backoff = timedelta(seconds=min(300.0, 2.0 * 2**row.attempts))
                await wa_repo.reschedule(conn, row, now + backoff, reason)
            else:
                await wa_repo.settle(conn, row, FAILED, reason)
            wake = True
        if wake:
            services.outbox.wake()
