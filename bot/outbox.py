"""Durable sending: every message that is not a direct reply goes through here.

Writers call :meth:`Outbox.notify` (to an artisan), :meth:`Outbox.to_chat` (to a chat) or
:meth:`Outbox.enqueue_many` (thousands of rows at once, e.g. a broadcast) *inside the transaction
of the change that causes the message*, with an idempotency key such as
``reminder:{session}:{artisan}:{offset}``: the row commits with the change or not at all, and the
same key never makes a second row.

One :class:`ChannelSender` per channel delivers due rows:

- paced by a :class:`Pacer` shared with the channel's direct replies (Telegram: 29/s overall,
  evenly spaced from the moment each slot is really taken, never a burst, with a sliding-window
  guard on actual dispatch times) and at most one message per chat per ``per_chat_interval``
  (direct replies and queued messages alike);
- a rate limit → the row is retried after ``retry_after`` (not counted as a failure); only its
  recipient waits when the limit is theirs (WhatsApp 131056; a Telegram 429 while no other chat
  is limited), the whole channel when it is the account's; 403/blocked → the identity is
  marked unreachable, the row becomes ``blocked`` and every later row for that chat is skipped;
  network errors → retried with exponential backoff, ``failed`` after ``max_attempts``; a
  refusal of the message itself → ``failed`` at once;
- :class:`~bot.errors.WindowClosed` (WhatsApp outside its 24-hour window with no usable
  template) → the row moves to the artisan's other reachable channel, or ``failed`` with the
  reason. Rows carry ``origin`` (kind, catalog key, parameters rendered for the reader) so such
  a channel can fill a template;
- rows are claimed (``sending``) in small batches and settled right after; the running sender
  keeps two batches of ``max_in_flight / 2`` in flight (one taking its slots while the other is
  settled and the next claimed). After a crash, rows left ``sending`` go back to ``pending``: a
  crash resends at most ``max_in_flight`` messages and loses none.
- ``OutMessage.edit_id`` makes a row edit an earlier message (progress reports) and
  ``OutMessage.media_ref`` lets many rows share one stored attachment (loaded, cached, by the
  loader a feature registers in ``Router.attachments``).

Row statuses: ``pending`` → ``sending`` → ``sent`` | ``failed`` | ``blocked``; ``skipped`` when
nobody could be reached at enqueue time (or the artisan erased their data).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update

from bot.clock import Clock
from bot.errors import Permanent, RetryLater, Transient, Unreachable, WindowClosed
from bot.i18n import Msg, Translator
from bot.messages import Document, OutMessage, Reply, render
from bot.settings import Settings
from bot.timezones import load_zone
from storage import artisans as artisan_repo
from storage import outbox as outbox_repo
from storage.database import Conn, Database
from storage.outbox import BLOCKED as BLOCKED
from storage.outbox import FAILED as FAILED
from storage.outbox import PENDING as PENDING
from storage.outbox import SENDING as SENDING
from storage.outbox import SENT as SENT
from storage.outbox import SKIPPED as SKIPPED
from storage.schema import identities, outbox
from storage.sql import insert_ignore, insert_ignore_many

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


class Transport(Protocol):
    """A channel's way to deliver one message; raises :mod:`bot.errors` delivery errors."""

    channel: str

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        """Deliver ``message``; return the platform's message id if it gives one."""


class Pacer:
    """Send slots for one channel, shared by direct replies and the outbox.

    - Evenly spaced: ``acquire()`` returns at least ``1/rate`` seconds after the previous one,
      counted from when each really returned (a slot is never handed out in advance, so an
      event loop that stalled for a moment cannot release two sends back to back).
    - A sliding window on the moments sends were really dispatched (``record()``): never
      ``limit`` sends within ``1 s`` plus a small margin, which is what the platform counts.
      (``limit - 1`` earlier sends at most). At ``rate`` < ``limit`` it never binds in steady
      state; it catches bunching.
    - Per chat: ``acquire(chat_id)`` also waits until ``per_chat`` seconds have passed since the
      last message to that chat, direct reply or queued; ``chat_free_at`` lets the outbox pick
      other chats meanwhile.
    - ``pause(seconds)`` after a 429 pushes every slot back.
    """

    def __init__(
        self, rate: float, clock: Clock, per_chat: float = 0.0, limit: int | None = None
    ) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.per_chat = per_chat
        self.margin = 0.05 if per_chat > 0 else 0.0
        # The platform's hard cap per second (Telegram: 30); by default the next whole number.
        self.limit = limit if limit is not None else math.floor(rate) + 1
        self.window = 1.0 + min(0.02, max(0.0, (self.limit / rate - 1.0) / 2))
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._chat_last: dict[str, float] = {}
        self._chat_paused: dict[str, float] = {}  # a recipient's own rate limit: until when
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._dispatched: deque[float] = deque()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def chat_free_at(self, chat_id: str) -> float:
        """When ``chat_id`` may get its next message (a timestamp; in the past if free now).

        A small margin on top of ``per_chat`` absorbs the jitter between our slot and the
        moment the request reaches the platform (which is what its limit counts)."""
        spaced = self._chat_last.get(chat_id, -math.inf) + self.per_chat + self.margin
        return max(spaced, self._chat_paused.get(chat_id, -math.inf))

    def chat_ready(self, chat_id: str) -> bool:
        """Whether a message to ``chat_id`` could go now: its spacing (or its own rate limit)
        has passed and no other message to it is already waiting for its turn."""
        if self.per_chat <= 0 and chat_id not in self._chat_paused:
            return True
        lock = self._chat_locks.get(chat_id)
        if lock is not None and lock.locked():
            return False
        return self.chat_free_at(chat_id) <= self._now()

    async def acquire(self, chat_id: str | None = None, *, record: bool = True) -> None:
        """Wait for a slot (and for ``chat_id`` to be free). ``record=False`` when the caller
        calls :meth:`record` itself right before dispatching (the outbox does)."""
        if chat_id is None or (self.per_chat <= 0 and chat_id not in self._chat_paused):
            await self._slot(record)
            return
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        async with lock:  # messages to one chat queue behind each other
            wait = self.chat_free_at(chat_id) - self._now()
            if wait > 1e-6:
                await self.clock.sleep(wait)
            await self._slot(record)
            self._chat_last[chat_id] = self._now()
            self._prune()

    async def _slot(self, record: bool) -> None:
        while True:
            async with self._lock:
                now = self._now()
                wait = self._next - now
                recent = self._dispatched
                while recent and recent[0] <= now - self.window:
                    recent.popleft()
                if len(recent) >= self.limit:  # the platform would see one too many
                    wait = max(wait, recent[len(recent) - self.limit] + self.window - now)
                if wait <= 1e-6:  # clocks count in microseconds: less is no wait at all
                    # Keep the cadence when only a little late (a timer's usual overshoot);
                    # after a real stall, start again from now: never two sends back to back.
                    late = now - self._next
                    self._next = (self._next if late < self.interval / 4 else now) + self.interval
                    if record:
                        recent.append(now)
                    return
            await self.clock.sleep(wait)

    def record(self) -> None:
        """A send is being dispatched now (counted by the sliding window)."""
        self._dispatched.append(self._now())

    def _prune(self) -> None:
        if len(self._chat_last) > 4096:
            horizon = self._now() - self.per_chat
            self._chat_last = {c: t for c, t in self._chat_last.items() if t > horizon}
        now = self._now()
        self._chat_paused = {c: t for c, t in self._chat_paused.items() if t > now}

    def pause(self, seconds: float) -> None:
        """The whole channel waits (the account's rate limit)."""
        self._next = max(self._next, self._now() + seconds)

    def pause_chat(self, chat_id: str, seconds: float) -> None:
        """Only ``chat_id`` waits (that recipient's own rate limit); the others go on."""
        self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, 0.0), self._now() + seconds)

    def chats_paused(self, now: float | None = None) -> set[str]:
        moment = self._now() if now is None else now
        return {c for c, t in self._chat_paused.items() if t > moment}


@dataclass
class Delivery:
    row_id: int
    chat_id: str
    message: OutMessage
    attempts: int
    artisan_id: int | None = None


class Outbox:
    """Enqueues messages in the caller's transaction and runs one sender per channel."""

    def __init__(self, db: Database, clock: Clock, translator: Translator, settings: Settings):
        self.db = db
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
        return await insert_ignore(
            conn,
            outbox,
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
        crash they are ``sending`` rows like any other, put back to ``pending`` at start."""
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
        ids = await outbox_repo.insert_claimed(conn, rows, now)
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
        for row in rows:
            chunk.append({
                "idem_key": row.key[:160], "channel": row.channel, "chat_id": row.chat_id,
                "artisan_id": row.artisan_id, "kind": kind, "payload": row.payload,
                "status": row.status, "priority": priority, "attempts": 0,
                "next_attempt_at": due, "created_at": now, "last_error": row.error,
            })
            if len(chunk) >= batch:
                inserted += await insert_ignore_many(conn, outbox, chunk)
                chunk = []
        if chunk:
            inserted += await insert_ignore_many(conn, outbox, chunk)
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

    async def forget_artisan(self, conn: Conn, artisan_id: int) -> None:
        """An artisan erased their data: drop what was waiting for them, payloads included."""
        await conn.execute(
            update(outbox)
            .where(outbox.c.artisan_id == artisan_id, outbox.c.status == PENDING)
            .values(status=SKIPPED, payload={}, last_error="erased")
        )

    # -- running ----------------------------------------------------------------------------
    def add_transport(
        self, transport: Transport, pacer: Pacer, *, space_replies: bool = True
    ) -> ChannelSender:
        """``space_replies=False``: direct replies skip the per-chat spacing (WhatsApp: the
        user is waiting and Meta counts per pair of numbers over longer spans)."""
        sender = ChannelSender(transport, pacer, self.db, self.clock, self.settings,
                               self.resolve, self.senders)
        sender.space_replies = space_replies
        self.senders[transport.channel] = sender
        return sender

    def wake(self) -> None:
        """Tell the senders there may be new rows."""
        self._queued = False
        self._wake.set()
        for sender in self.senders.values():
            sender.wake()

    def wake_if_queued(self) -> None:
        """Wake the senders if something was queued since the last wake (after an update)."""
        if self._queued:
            self.wake()

    async def recover(self) -> int:
        """Put rows a crash left ``sending`` back to ``pending``; return how many."""
        async with self.db.transaction() as conn:
            result = await conn.execute(
                update(outbox).where(outbox.c.status == SENDING).values(status=PENDING)
            )
        count = int(result.rowcount or 0)
        if count:
            log.warning("outbox: %d message(s) were in flight at the last stop; resending", count)
        return count

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
        stmt = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        if prefix:
            stmt = stmt.where(outbox.c.idem_key.startswith(prefix))
        return {str(status): int(n) for status, n in await conn.execute(stmt)}


class ChannelSender:
    """Delivers the due rows of one channel at the channel's pace."""

    def __init__(
        self,
        transport: Transport,
        pacer: Pacer,
        db: Database,
        clock: Clock,
        settings: Settings,
        resolve: Callable[[Conn, OutMessage], Awaitable[OutMessage]] | None = None,
        peers: dict[str, ChannelSender] | None = None,
    ) -> None:
        self.transport = transport
        self.peers = peers if peers is not None else {}  # every channel's sender, for reroutes
        self.channel = transport.channel
        self.pacer = pacer
        # The per-chat spacing lives in the pacer, shared with the channel's direct replies.
        if pacer.per_chat < settings.outbox.per_chat_interval:
            pacer.per_chat = settings.outbox.per_chat_interval
            pacer.margin = 0.05
        self.db = db
        self.clock = clock
        # ``run`` keeps two batches in flight (one being sent, the previous one being settled),
        # so each is half of ``max_in_flight``: a crash still resends at most that many.
        self.batch = max(1, settings.outbox.max_in_flight // 2)
        self.max_attempts = settings.outbox.max_attempts
        self.resolve = resolve
        self._wake = asyncio.Event()
        self._paused_until: datetime | None = None
        self._inflight: set[str] = set()  # chats with a claimed, not yet settled row
        self.space_replies = True

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 5.0) -> None:
        """Send until ``stop`` is set; sleep up to ``idle`` seconds when nothing is due.

        Pipelined, so that the send slots never wait for the database: while one batch takes
        its slots, the previous one is settled and the next one claimed. At most two batches
        (``max_in_flight`` rows) are ``sending`` at any time, which bounds what a crash resends.
        """
        settling: asyncio.Future[None] | None = None
        batch: list[Delivery] = []
        while not stop.is_set():
            try:
                if not batch:
                    if settling is not None:
                        await settling  # its outcome may make rows due, or pause the channel
                        settling = None
                    now = self.clock.now()
                    batch = [] if self._paused(now) else await self._claim(now)
                if batch:
                    launching = asyncio.ensure_future(self._launch(batch))
                    try:
                        if settling is not None:
                            await settling
                            settling = None
                        now = self.clock.now()
                        following = [] if self._paused(now) else await self._claim(now)
                    finally:
                        tasks = await launching
                        settling = asyncio.ensure_future(self._finish(batch, tasks))
                    batch = following
                    continue
            except Exception:
                log.exception("outbox sender %s failed; retrying", self.channel)
                batch = []
                await asyncio.sleep(1)
                continue
            self._wake.clear()
            wait = idle
            if self._paused_until is not None:
                wait = min(wait, max(0.05, (self._paused_until - self.clock.now()).total_seconds()))
            else:
                next_due = await self._next_due()
                if next_due is not None:
                    wait = min(wait, max(0.05, (next_due - self.clock.now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
        if settling is not None:
            await settling

    def _paused(self, now: datetime) -> bool:
        if self._paused_until is not None and now < self._paused_until:
            return True
        self._paused_until = None
        return False

    async def _next_due(self) -> datetime | None:
        async with self.db.read() as conn:
            stmt = select(func.min(outbox.c.next_attempt_at)).where(
                outbox.c.channel == self.channel, outbox.c.status == PENDING
            )
            value = (await conn.execute(stmt)).scalar()
        return value if isinstance(value, datetime) else None

    async def step(self) -> int:
        """Claim one batch of due rows, send it, record the outcome; return rows settled."""
        now = self.clock.now()
        if self._paused(now):
            return 0
        batch = await self._claim(now)
        if not batch:
            return 0
        await self._finish(batch, await self._launch(batch))
        return len(batch)

    async def send_now(self, items: list[Delivery]) -> None:
        """Send the parts of one direct reply in order, each settled as soon as it is sent (a
        crash between two parts resends none that went). A part that cannot go now stays
        queued, with the parts after it, for the running sender (backoff, pauses, reroutes)."""
        for index, item in enumerate(items):
            if self._paused(self.clock.now()):
                await self._settle([(rest, ("later", self._paused_until_stamp()))
                                    for rest in items[index:]])
                self.wake()
                return
            await self.pacer.acquire(item.chat_id if self.space_replies else None, record=False)
            outcome = await self._deliver(item)
            if outcome[0] == "sent":
                await self._settle([(item, outcome)])
                continue
            await self._settle([(item, outcome)], after=items[index + 1:])
            self.wake()
            return

    def _paused_until_stamp(self) -> float:
        until = self._paused_until or self.clock.now()
        return until.timestamp()

    async def _launch(self, batch: list[Delivery]) -> list[asyncio.Future[tuple[str, Any]]]:
        # Slots are taken one at a time (a direct reply never queues behind a whole batch);
        # the sends themselves may overlap.
        # A chat that became busy since the claim (a direct reply to it went out meanwhile)
        # goes back to the queue untouched: waiting for it here would hold up the whole batch.
        tasks: list[asyncio.Future[tuple[str, Any]]] = []
        for item in batch:
            if not self.pacer.chat_ready(item.chat_id):
                later: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
                later.set_result(("later", self.pacer.chat_free_at(item.chat_id)))
                tasks.append(later)
                continue
            await self.pacer.acquire(item.chat_id, record=False)
            tasks.append(asyncio.ensure_future(self._deliver(item)))
        return tasks

    async def _finish(self, batch: list[Delivery], tasks: list[asyncio.Future[tuple[str, Any]]]) -> None:
        try:
            outcomes = await asyncio.gather(*tasks)
            await self._settle(list(zip(batch, outcomes, strict=True)))
        finally:
            self._inflight.difference_update(item.chat_id for item in batch)

    async def _has_due(self, now: datetime) -> bool:
        async with self.db.read() as conn:
            stmt = select(outbox.c.id).where(
                outbox.c.channel == self.channel, outbox.c.status == PENDING,
                outbox.c.next_attempt_at <= now,
            ).limit(1)
            return (await conn.execute(stmt)).first() is not None

    async def _claim(self, now: datetime) -> list[Delivery]:
        if not await self._has_due(now):
            return []  # the common case: no write transaction, no lock taken
        stamp = now.timestamp()
        waiting: list[float] = []  # when the chats we had to leave for later become free
        async with self.db.transaction() as conn:
            stmt = (
                select(outbox.c.id, outbox.c.chat_id, outbox.c.payload, outbox.c.attempts,
                       outbox.c.artisan_id)
                .where(
                    outbox.c.channel == self.channel,
                    outbox.c.status == PENDING,
                    outbox.c.next_attempt_at <= now,
                )
                .order_by(outbox.c.priority.desc(), outbox.c.id)
                .limit(self.batch * 8)
            )
            rows = (await conn.execute(stmt)).all()
            if not rows:
                return []
            blocked = await self._blocked_chats(conn, {r.chat_id for r in rows})
            chosen: list[Delivery] = []
            skipped: list[int] = []
            broken: list[tuple[int, str]] = []
            chats: set[str] = set()
            for row in rows:
                if row.chat_id in blocked:
                    skipped.append(row.id)
                    continue
                if row.chat_id in chats or row.chat_id in self._inflight:
                    continue
                if not self.pacer.chat_ready(row.chat_id):
                    waiting.append(max(stamp, self.pacer.chat_free_at(row.chat_id)))
                    continue
                chats.add(row.chat_id)
                message = OutMessage.from_json(row.payload)
                if self.resolve is not None and message.media_ref is not None:
                    try:
                        message = await self.resolve(conn, message)
                    except Exception as err:  # the attachment is gone: say so, send nothing
                        log.exception("outbox: cannot load %s for row %s", message.media_ref, row.id)
                        broken.append((row.id, f"attachment unavailable: {err}"[:500]))
                        continue
                chosen.append(Delivery(row.id, row.chat_id, message, row.attempts, row.artisan_id))
                self._inflight.add(row.chat_id)
                if len(chosen) >= self.batch:
                    break
            for row_id, error in broken:
                await conn.execute(
                    update(outbox).where(outbox.c.id == row_id)
                    .values(status=FAILED, last_error=error)
                )
            if skipped:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(skipped))
                    .values(status=BLOCKED, last_error="chat unreachable (blocked earlier)")
                )
            if chosen:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([d.row_id for d in chosen]))
                    .values(status=SENDING, claimed_at=now)
                )
        if not chosen and (skipped or broken):
            return await self._claim(now)
        if not chosen and waiting:
            # Everything due is for chats we just wrote to: come back when the first is free.
            self._paused_until = datetime.fromtimestamp(min(waiting), UTC)
        return chosen

    async def _blocked_chats(self, conn: Conn, chats: Iterable[str]) -> set[str]:
        stmt = select(identities.c.chat_id).where(
            and_(
                identities.c.channel == self.channel,
                identities.c.chat_id.in_(list(chats)),
                identities.c.blocked.is_(True),
            )
        )
        return {str(r[0]) for r in await conn.execute(stmt)}

    async def _deliver(self, item: Delivery) -> tuple[str, Any]:
        self.pacer.record()
        try:
            message_id = await self.transport.send(item.chat_id, item.message)
        except RetryLater as err:
            return self._rate_limited(item.chat_id, err), err
        except Unreachable as err:
            return "blocked", err
        except WindowClosed as err:
            return "reroute", err
        except Permanent as err:
            return "failed", err
        except Transient as err:
            return "transient", err
        except Exception as err:  # an adapter bug must not stop the sender
            log.exception("outbox: unexpected error sending row %s", item.row_id)
            return "transient", err
        return "sent", message_id

    def _rate_limited(self, chat_id: str, err: RetryLater) -> str:
        """Who waits after a rate limit: the recipient alone when it is theirs (or, when the
        platform does not say, when no other chat is limited meanwhile); else the channel."""
        others = self.pacer.chats_paused() - {chat_id}
        self.pacer.pause_chat(chat_id, err.retry_after)
        if err.per_chat or (err.per_chat is None and not others):
            return "retry_chat"
        self.pacer.pause(err.retry_after)
        return "retry"

    async def _settle(
        self, results: list[tuple[Delivery, tuple[str, Any]]], after: Sequence[Delivery] = (),
    ) -> None:
        """Record outcomes; ``after``: rows to send after the last result, no earlier (the
        remaining parts of a reply whose part failed), which go back to the queue with it."""
        now = self.clock.now()
        woken: set[str] = set()
        async with self.db.transaction() as conn:
            values: dict[str, Any] = {}
            for item, (outcome, detail) in results:
                if outcome == "reroute":
                    values = await self._reroute(conn, item, detail, now)
                    woken.add(str(values.get("channel", "")))
                elif outcome == "later":  # not attempted: its chat was busy
                    values = {"status": PENDING, "next_attempt_at": max(
                        now, datetime.fromtimestamp(float(detail), UTC))}
                elif outcome == "sent":
                    values = {"status": SENT, "sent_at": now, "attempts": item.attempts + 1,
                              "platform_message_id": detail}
                elif outcome in ("retry", "retry_chat"):
                    assert isinstance(detail, RetryLater)
                    values = {
                        "status": PENDING,
                        "next_attempt_at": now + timedelta(seconds=detail.retry_after),
                        "last_error": str(detail),
                    }
                    if outcome == "retry":  # the whole channel waits
                        self._paused_until = max(
                            self._paused_until or now, now + timedelta(seconds=detail.retry_after)
                        )
                elif outcome == "blocked":
                    values = {"status": BLOCKED, "last_error": str(detail)[:500]}
                    await artisan_repo.mark_blocked(conn, self.channel, item.chat_id, now)
                elif outcome == "failed" or item.attempts + 1 >= self.max_attempts:
                    values = {"status": FAILED, "attempts": item.attempts + 1,
                              "last_error": str(detail)[:500] or type(detail).__name__}
                else:
                    backoff = min(300.0, 2.0 * 2**item.attempts)
                    values = {
                        "status": PENDING,
                        "attempts": item.attempts + 1,
                        "next_attempt_at": now + timedelta(seconds=backoff),
                        "last_error": str(detail)[:500] or type(detail).__name__,
                    }
                await conn.execute(update(outbox).where(outbox.c.id == item.row_id).values(**values))
            if after:
                later = values.get("next_attempt_at", now) if values.get("status") == PENDING else now
                await conn.execute(
                    update(outbox).where(outbox.c.id.in_([item.row_id for item in after]))
                    .values(status=PENDING, next_attempt_at=later)
                )
        for name in woken & set(self.peers):
            self.peers[name].wake()

    async def _reroute(
        self, conn: Conn, item: Delivery, reason: Any, now: datetime
    ) -> dict[str, Any]:
        """This channel cannot carry the message now: hand the row to the artisan's other
        reachable channel (most recently used first), or fail it with the reason."""
        if item.artisan_id is not None:
            for chat in await artisan_repo.identities_of(conn, item.artisan_id):
                if chat.channel != self.channel and not chat.blocked and chat.channel in self.peers:
                    log.info("outbox: row %s moves from %s to %s (%s)",
                             item.row_id, self.channel, chat.channel, reason)
                    return {"channel": chat.channel, "chat_id": chat.chat_id, "status": PENDING,
                            "next_attempt_at": now,
                            "last_error": f"{self.channel}: {reason}; sent through {chat.channel}"[:500]}
        return {"status": FAILED, "attempts": item.attempts + 1,
                "last_error": f"{self.channel}: {reason}"[:500]}
