"""Queueing: every message that is not a direct reply is written here, in its cause's transaction.

Writers call :meth:`Outbox.notify` (to an artisan), :meth:`Outbox.to_chat` (to a chat) or
:meth:`Outbox.enqueue_many` (thousands of rows at once, e.g. a broadcast) *inside the transaction
of the change that causes the message*, with an idempotency key such as
``reminder:{session}:{artisan}:{offset}``: the row commits with the change or not at all, and the
same key never makes a second row. The engine writes a direct reply's parts with
:meth:`Outbox.claim_replies` in the update's transaction and sends them with :meth:`send_now`.

The map: ``storage/outbox.py`` holds every statement on the table; :mod:`bot.pacing` the send
slots; :mod:`bot.sender` the delivery (one :class:`~bot.sender.ChannelSender` per channel, and
what each delivery error means); this module queueing and running the senders.

- Rows carry ``origin`` (kind, catalog key, parameters rendered for the reader) so a channel
  that must use a pre-approved template (WhatsApp outside its 24-hour window) can fill it.
- ``OutMessage.edit_id`` makes a row edit an earlier message (progress reports) and
  ``OutMessage.media_ref`` lets many rows share one stored attachment (loaded, cached, by the
  loader a feature registers in ``Router.attachments``).

Row statuses: ``pending`` → ``sending`` → ``sent`` | ``failed`` | ``blocked``; ``skipped`` when
nobody could be reached at enqueue time (or the artisan erased their data).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.i18n import Msg, Translator
from bot.messages import Document, OutMessage, Reply, render
from bot.pacing import Pacer
from bot.roles import process_name
from bot.sender import ChannelSender, Delivery, Transport
from bot.settings import Settings
from bot.timezones import load_zone
from storage import artisans as artisan_repo
from storage import outbox as outbox_repo
from storage import wakeups
from storage.database import Conn, Database
from storage.outbox import BLOCKED as BLOCKED
from storage.outbox import FAILED as FAILED
from storage.outbox import PENDING as PENDING
from storage.outbox import SENDING as SENDING
from storage.outbox import SENT as SENT
from storage.outbox import SKIPPED as SKIPPED

log = logging.getLogger(__name__)

# A direct reply: sent at once by the update that wrote it, before any queued message.
REPLY = "reply"
REPLY_PRIORITY = 100


# Loads a stored photo or document by reference (``OutMessage.media_ref``): (photo, document).
AttachmentLoader = Callable[[Conn, str], Awaitable[tuple[bytes | None, Document | None]]]


@dataclass(frozen=True)
class Queued:
    """One row for :meth:`Outbox.enqueue_many`; ``payload`` (``OutMessage.to_json()``) may be
    shared by many rows (render once per language, not once per recipient)."""

    key: str
    channel: str
    chat_id: str
    artisan_id: int | None
    payload: dict[str, Any]
    status: str = PENDING
    error: str | None = None


def _with_origin(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    """The row's kind in its ``origin``, which a channel's templates are chosen by."""
    origin = payload.get("origin") or {}
    if origin.get("kind") == kind:
        return payload
    return {**payload, "origin": {**origin, "kind": kind}}


class Outbox:
    """Enqueues messages in the caller's transaction and runs one sender per channel."""

    def __init__(self, db: Database, clock: Clock, translator: Translator, settings: Settings,
                 process: str | None = None):
        self.db = db
        self.process = process or process_name()  # who claims rows (``outbox.claimed_by``)
        self.clock = clock
        self.translator = translator
        self.settings = settings
        self.senders: dict[str, ChannelSender] = {}
        self._wake = asyncio.Event()
        self._queued = False
        # Features register loaders by the prefix of the reference ("broadcast" for
        # "broadcast:12"); see :meth:`resolve`.
        self.attachments: dict[str, AttachmentLoader] = {}
        self._media_cache: dict[str, tuple[bytes | None, Document | None]] = {}
        # Voice help (set by the application from the router): see Router.voice_of.
        self.voice_of: Callable[[Conn, int, str, str], Awaitable[str | None]] | None = None
        # Several processes: tells the one that sends for these channels (bot/roles.py).
        self.relay: Callable[[list[str]], None] | None = None

    # -- writing ----------------------------------------------------------------------------
    async def notify(
        self,
        conn: Conn,
        artisan_id: int,
        reply: Reply,
        *,
        kind: str,
        key: str,
        priority: int = 0,
        not_before: datetime | None = None,
    ) -> bool:
        """Queue ``reply`` for an artisan, rendered in their language, on their best channel.

        Returns False when a row with ``key`` already exists (nothing is queued twice).
        """
        artisan = await artisan_repo.get(conn, artisan_id)
        if artisan is None or artisan.erased_at is not None:
            return False
        zone = load_zone(artisan.time_zone or self.settings.timezone)
        chats = [i for i in await artisan_repo.identities_of(conn, artisan_id) if not i.blocked]
        message = render(reply, self.translator, artisan.locale, zone)
        message.origin = self._origin(reply, kind, artisan.locale, zone)
        if self.voice_of is not None and reply.speaks is not None:
            message.voice_ref = await self.voice_of(conn, artisan_id, artisan.locale, reply.speaks)
        if not chats:
            return await self._insert(
                conn, key, "", "", artisan_id, kind, message, SKIPPED, priority, not_before,
                error="no reachable chat",
            )
        chat = chats[0]
        return await self._insert(
            conn, key, chat.channel, chat.chat_id, artisan_id, kind, message, PENDING, priority,
            not_before,
        )

    def _origin(self, reply: Reply, kind: str, lang: str, zone: ZoneInfo) -> dict[str, Any]:
        """The message in catalog terms, parameters rendered for the reader (for templates)."""
        origin: dict[str, Any] = {"kind": kind}
        if isinstance(reply.text, Msg):
            origin["key"] = reply.text.key
            origin["params"] = {
                name: self.translator.plain_param(value, lang, zone)
                for name, value in reply.text.params.items()
            }
        return origin

    async def to_chat(
        self,
        conn: Conn,
        channel: str,
        chat_id: str,
        message: OutMessage,
        *,
        kind: str,
        key: str,
        artisan_id: int | None = None,
        priority: int = 0,
        not_before: datetime | None = None,
    ) -> bool:
        """Queue an already rendered message for one chat (staff notices, tests)."""
        return await self._insert(
            conn, key, channel, chat_id, artisan_id, kind, message, PENDING, priority, not_before
        )

    async def _insert(
        self,
        conn: Conn,
        key: str,
        channel: str,
        chat_id: str,
        artisan_id: int | None,
        kind: str,
        message: OutMessage,
        status: str,
        priority: int,
        not_before: datetime | None,
        error: str | None = None,
    ) -> bool:
        now = self.clock.now()
        self._queued = True
        payload = message.to_json()
        payload.setdefault("origin", {"kind": kind})
        return await outbox_repo.add(
            conn,
            {
                "idem_key": key[:160],
                "channel": channel,
                "chat_id": chat_id,
                "artisan_id": artisan_id,
                "kind": kind,
                "payload": payload,
                "status": status,
                "priority": priority,
                "attempts": 0,
                "next_attempt_at": not_before or now,
                "created_at": now,
                "last_error": error,
            },
        )

    async def claim_replies(
        self, conn: Conn, channel: str, chat_id: str, reply_to: str, messages: list[OutMessage],
        *, artisan_id: int | None = None,
    ) -> list[Delivery]:
        """Write the parts of a direct reply in the update's transaction, already claimed by it:
        the caller sends them with :meth:`send_now` once the transaction has committed. After a
        crash they are ``sending`` rows like any other, back to ``pending`` when their claim
        expires (:meth:`keep_claims`).

        When another process sends for ``channel`` (several workers, ``bot/roles.py``), the
        parts are written ``pending``, first in the queue, and that process is woken when the
        transaction commits; nothing is returned to send here."""
        now = self.clock.now()
        rows = []
        # The user has just written: WhatsApp's 24-hour window is open from this moment.
        messages = [replace(m, origin={"kind": REPLY, "inbound_at": now.isoformat(), **(m.origin or {})})
                    for m in messages]
        for index, message in enumerate(messages):
            payload = message.to_json()
            rows.append({"idem_key": f"{REPLY}:{channel}:{reply_to}:{index}"[:160],
                         "channel": channel, "chat_id": chat_id, "artisan_id": artisan_id,
                         "kind": REPLY, "payload": payload, "priority": REPLY_PRIORITY})
        sender = self.senders.get(channel)
        if sender is not None and not sender.leading:
            await outbox_repo.insert_claimed(conn, rows, now, by=None)
            await wakeups.announce(conn, channel)
            return []
        ids = await outbox_repo.insert_claimed(conn, rows, now, by=self.process)
        return [Delivery(row_id, chat_id, message, 0, artisan_id)
                for row_id, message in zip(ids, messages, strict=True)]

    async def send_now(self, channel: str, items: list[Delivery]) -> None:
        """Send a direct reply's rows (from :meth:`claim_replies`) at once, in order."""
        sender = self.senders.get(channel)
        if sender is not None and items:
            await sender.send_now(items)

    async def enqueue_many(
        self,
        conn: Conn,
        rows: Iterable[Queued],
        *,
        kind: str,
        priority: int = 0,
        not_before: datetime | None = None,
        batch: int = 500,
    ) -> int:
        """Queue many already rendered rows in bulk (a broadcast); return how many were new.

        Same rules as :meth:`notify` (a key already present makes no second row), but one
        multi-row ``INSERT`` per ``batch`` rows instead of one query per recipient.
        """
        now = self.clock.now()
        due = not_before or now
        inserted = 0
        chunk: list[dict[str, Any]] = []
        # Shared payloads stay shared (the original is kept too, so that its id is not reused).
        with_origin: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        for row in rows:
            seen = with_origin.get(id(row.payload))
            if seen is None or seen[0] is not row.payload:
                seen = with_origin[id(row.payload)] = (row.payload, _with_origin(row.payload, kind))
            payload = seen[1]
            chunk.append({
                "idem_key": row.key[:160], "channel": row.channel, "chat_id": row.chat_id,
                "artisan_id": row.artisan_id, "kind": kind, "payload": payload,
                "status": row.status, "priority": priority, "attempts": 0,
                "next_attempt_at": due, "created_at": now, "last_error": row.error,
            })
            if len(chunk) >= batch:
                inserted += await outbox_repo.add_many(conn, chunk)
                chunk = []
                with_origin.clear()
        if chunk:
            inserted += await outbox_repo.add_many(conn, chunk)
        return inserted

    async def resolve(self, conn: Conn, message: OutMessage) -> OutMessage:
        """Fill in a message's photo or document from its ``media_ref`` (cached: a broadcast
        sends the same attachment thousands of times)."""
        ref = message.media_ref
        if ref is None or message.photo is not None or message.document is not None:
            return message
        media = self._media_cache.get(ref)
        if media is None:
            loader = self.attachments.get(ref.split(":", 1)[0])
            if loader is None:
                raise LookupError(f"no attachment loader for {ref!r}")
            media = await loader(conn, ref)
            if len(self._media_cache) >= 8:
                self._media_cache.pop(next(iter(self._media_cache)))
            self._media_cache[ref] = media
        photo, document = media
        return replace(message, photo=photo, document=document)

    async def forget_artisan(
        self, conn: Conn, artisan_id: int, chats: list[tuple[str, str]] | None = None
    ) -> None:
        """An artisan erased their data: drop what was waiting for them, and the text of what
        was sent to them or to their ``chats`` (direct replies included)."""
        await outbox_repo.forget_artisan(conn, artisan_id, chats)

    # -- running ----------------------------------------------------------------------------
    def add_transport(
        self, transport: Transport, pacer: Pacer, *, space_replies: bool = True
    ) -> ChannelSender:
        """``space_replies=False``: direct replies skip the per-chat spacing (WhatsApp: the
        user is waiting and Meta counts per pair of numbers over longer spans)."""
        sender = ChannelSender(transport, pacer, self.db, self.clock, self.settings,
                               self.resolve, self.senders, space_replies=space_replies,
                               process=self.process)
        self.senders[transport.channel] = sender
        return sender

    def wake(self, *, here_only: bool = False) -> None:
        """Tell the senders there may be new rows: this process's, and (unless ``here_only``)
        the processes that send for the channels this one does not (several workers)."""
        self._queued = False
        self._wake.set()
        for sender in self.senders.values():
            sender.wake()
        if not here_only and self.relay is not None:
            self.relay([name for name, sender in self.senders.items() if not sender.leading])

    def wake_if_queued(self) -> None:
        """Wake the senders if something was queued since the last wake (after an update)."""
        if self._queued:
            self.wake()

    async def keep_claims(self) -> int:
        """Renew the claims this process's senders hold, and put rows whose claim has expired
        (claimed more than ``outbox.claim_lease`` seconds ago by a process that died since)
        back to ``pending``; return how many went back.

        Run at start-up and by every process every quarter of the lease (a scheduler job): a
        live process's rows are never older than that, so they are never taken from it, and a
        dead process's rows are sent again at most a lease (plus a quarter) after its death."""
        now = self.clock.now()
        held = sorted(row for sender in self.senders.values() for row in sender.held)
        before = now - timedelta(seconds=self.settings.outbox.claim_lease)
        async with self.db.transaction() as conn:
            await outbox_repo.renew(conn, held, now)
            released = await outbox_repo.release_expired(conn, sorted(self.senders), before)
        for holder, count in sorted(released.items()):
            log.warning("outbox: %d message(s) claimed by %s, which stopped; resending", count, holder)
        if released:
            self.wake()
        return sum(released.values())

    async def drain(self, channel: str | None = None) -> int:
        """Deliver everything due now (tests and the CLI); return how many rows were settled."""
        total = 0
        while True:  # again while anything moved: a row may pass from one channel to another
            before = total
            for name, sender in list(self.senders.items()):
                if channel is None or name == channel:
                    while (done := await sender.step()) > 0:
                        total += done
            if total == before:
                return total

    async def counts(self, conn: Conn, prefix: str | None = None) -> dict[str, int]:
        """Rows by status (under a key ``prefix``)."""
        return await outbox_repo.counts(conn, prefix)


