"""Durable sending: every message that is not a direct reply goes through here.

Writers call :meth:`Outbox.notify` (to an artisan) or :meth:`Outbox.to_chat` (to a chat) *inside
the transaction of the change that causes the message*, with an idempotency key such as
``reminder:{session}:{artisan}:{offset}``: the row commits with the change or not at all, and the
same key never makes a second row.

One :class:`ChannelSender` per channel delivers due rows:

- paced by a :class:`Pacer` shared with the channel's direct replies (Telegram: 29/s overall,
  evenly spaced, never a burst) and at most one message per chat per ``per_chat_interval``;
- 429 → the whole channel pauses for ``retry_after`` and the row is retried (not counted as a
  failure); 403/blocked → the identity is marked unreachable, the row becomes ``blocked`` and
  every later row for that chat is skipped; network errors → retried with exponential backoff,
  ``failed`` after ``max_attempts``; a refusal of the message itself → ``failed`` at once;
- :class:`~bot.errors.WindowClosed` (WhatsApp outside its 24-hour window with no usable
  template) → the row moves to the artisan's other reachable channel, or ``failed`` with the
  reason. Rows carry ``origin`` (kind, catalog key, parameters rendered for the reader) so such
  a channel can fill a template;
- rows are claimed (``sending``) in small batches and settled right after; after a crash, rows
  left ``sending`` go back to ``pending``. So a crash resends at most one batch
  (``max_in_flight`` messages) and loses none.

Row statuses: ``pending`` → ``sending`` → ``sent`` | ``failed`` | ``blocked``; ``skipped`` when
nobody could be reached at enqueue time (or the artisan erased their data).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.errors import Permanent, RetryLater, Transient, Unreachable, WindowClosed
from bot.i18n import Msg, Translator
from bot.messages import OutMessage, Reply, render
from bot.settings import Settings
from bot.timezones import load_zone
from storage import artisans as artisan_repo
from storage.database import Database
from storage.schema import identities, outbox
from storage.sql import insert_ignore

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, BLOCKED, SKIPPED = (
    "pending", "sending", "sent", "failed", "blocked", "skipped",
)


class Transport(Protocol):
    """A channel's way to deliver one message; raises :mod:`bot.errors` delivery errors."""

    channel: str

    async def send(self, chat_id: str, message: OutMessage) -> str | None:
        """Deliver ``message``; return the platform's message id if it gives one."""


class Pacer:
    """Evenly spaced send slots for one channel, shared by direct replies and the outbox.

    ``acquire()`` waits for the next free slot (``1/rate`` seconds apart), so there is never a
    burst. ``pause(seconds)`` (after a 429) pushes every slot back.
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._now()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - self._now()
        if delay > 0:
            await self.clock.sleep(delay)

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, self._now() + seconds)


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

    # -- writing ----------------------------------------------------------------------------
    async def notify(
        self,
        conn: AsyncConnection,
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
        conn: AsyncConnection,
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
        conn: AsyncConnection,
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

    async def forget_artisan(self, conn: AsyncConnection, artisan_id: int) -> None:
        """An artisan erased their data: drop what was waiting for them, payloads included."""
        await conn.execute(
            update(outbox)
            .where(outbox.c.artisan_id == artisan_id, outbox.c.status == PENDING)
            .values(status=SKIPPED, payload={}, last_error="erased")
        )

    # -- running ----------------------------------------------------------------------------
    def add_transport(self, transport: Transport, pacer: Pacer) -> ChannelSender:
        sender = ChannelSender(transport, pacer, self.db, self.clock, self.settings, self.senders)
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

    async def counts(self, conn: AsyncConnection, prefix: str | None = None) -> dict[str, int]:
        stmt = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        if prefix:
            stmt = stmt.where(outbox.c.idem_key.startswith(prefix))
        return {str(status): int(n) for status, n in await conn.execute(stmt)}


class ChannelSender:
    """Delivers the due rows of one channel at the channel's pace."""

    def __init__(
        self, transport: Transport, pacer: Pacer, db: Database, clock: Clock, settings: Settings,
        peers: dict[str, ChannelSender] | None = None,
    ) -> None:
        self.transport = transport
        self.peers = peers if peers is not None else {}  # every channel's sender, for reroutes
        self.channel = transport.channel
        self.pacer = pacer
        self.db = db
        self.clock = clock
        # A little slack, so timing jitter between us and the platform never makes the second
        # message to a chat arrive early.
        self.per_chat = timedelta(seconds=settings.outbox.per_chat_interval * 1.05)
        self.batch = settings.outbox.max_in_flight
        self.max_attempts = settings.outbox.max_attempts
        self._last_sent: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._paused_until: datetime | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 5.0) -> None:
        """Send until ``stop`` is set; sleep up to ``idle`` seconds when nothing is due."""
        while not stop.is_set():
            try:
                done = await self.step()
            except Exception:
                log.exception("outbox sender %s failed; retrying", self.channel)
                done = 0
            if done:
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
        if self._paused_until is not None and now < self._paused_until:
            return 0
        self._paused_until = None
        if not await self._has_due(now):
            return 0  # the common case: no write transaction, no lock taken
        batch = await self._claim(now)
        if not batch:
            return 0
        # Slots are taken one at a time (a direct reply never queues behind a whole batch);
        # the sends themselves may overlap.
        tasks = []
        for item in batch:
            await self.pacer.acquire()
            tasks.append(asyncio.ensure_future(self._deliver(item)))
        outcomes = await asyncio.gather(*tasks)
        await self._settle(list(zip(batch, outcomes, strict=True)))
        return len(batch)

    async def _has_due(self, now: datetime) -> bool:
        async with self.db.read() as conn:
            stmt = select(outbox.c.id).where(
                outbox.c.channel == self.channel, outbox.c.status == PENDING,
                outbox.c.next_attempt_at <= now,
            ).limit(1)
            return (await conn.execute(stmt)).first() is not None

    async def _claim(self, now: datetime) -> list[Delivery]:
        cutoff = now - self.per_chat
        self._last_sent = {c: t for c, t in self._last_sent.items() if t > cutoff}
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
            chats: set[str] = set()
            for row in rows:
                if row.chat_id in blocked:
                    skipped.append(row.id)
                    continue
                if row.chat_id in chats or row.chat_id in self._last_sent:
                    continue
                chats.add(row.chat_id)
                chosen.append(
                    Delivery(row.id, row.chat_id, OutMessage.from_json(row.payload), row.attempts,
                             row.artisan_id)
                )
                if len(chosen) >= self.batch:
                    break
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
        if not chosen and skipped:
            return await self._claim(now)
        if not chosen:
            # Everything due is for chats we just wrote to: come back when the first is free.
            self._paused_until = min(self._last_sent.values()) + self.per_chat
        return chosen

    async def _blocked_chats(self, conn: AsyncConnection, chats: Iterable[str]) -> set[str]:
        stmt = select(identities.c.chat_id).where(
            and_(
                identities.c.channel == self.channel,
                identities.c.chat_id.in_(list(chats)),
                identities.c.blocked.is_(True),
            )
        )
        return {str(r[0]) for r in await conn.execute(stmt)}

    async def _deliver(self, item: Delivery) -> tuple[str, Any]:
        self._last_sent[item.chat_id] = self.clock.now()
        try:
            message_id = await self.transport.send(item.chat_id, item.message)
        except RetryLater as err:
            self.pacer.pause(err.retry_after)
            return "retry", err
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

    async def _settle(self, results: list[tuple[Delivery, tuple[str, Any]]]) -> None:
        now = self.clock.now()
        woken: set[str] = set()
        async with self.db.transaction() as conn:
            for item, (outcome, detail) in results:
                values: dict[str, Any]
                if outcome == "reroute":
                    values = await self._reroute(conn, item, detail, now)
                    woken.add(str(values.get("channel", "")))
                elif outcome == "sent":
                    values = {"status": SENT, "sent_at": now, "attempts": item.attempts + 1,
                              "platform_message_id": detail}
                elif outcome == "retry":
                    assert isinstance(detail, RetryLater)
                    values = {
                        "status": PENDING,
                        "next_attempt_at": now + timedelta(seconds=detail.retry_after),
                        "last_error": str(detail),
                    }
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
        for name in woken & set(self.peers):
            self.peers[name].wake()

    async def _reroute(
        self, conn: AsyncConnection, item: Delivery, reason: Any, now: datetime
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
