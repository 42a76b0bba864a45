"""Received updates: stored before they are acknowledged, then handled one chat at a time.

A channel hands what it received to :meth:`Inbox.receive` *before* it answers the platform (a
webhook's 200, the next ``getUpdates`` offset): the updates are written to ``inbound_updates``
in one transaction (a repeat of the same id is dropped there), then queued per chat.

- **Per chat**: each chat has its own queue and at most one update being handled, so one chat
  never holds more than one of the ``slots`` (the engine's concurrent transactions). A chat's
  replies are sent after its update's slot is given back: waiting for the platform's per-chat
  spacing (Telegram: 1 message a second) holds up that chat only.
- **Floods**: a chat with more than ``backlog`` updates waiting (a forward of 200 messages) gets
  the rest dropped, each marked handled, and one notice in their language
  (:meth:`~bot.dialogue.Engine.drop`).
- **Start and stop**: :meth:`resume` queues what was stored and never handled (a crash, or a stop
  with work left); :meth:`stop` lets the updates being handled finish (a few seconds at most)
  and leaves the rest stored for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.clock import Clock
from bot.outbox import Outbox
from bot.sender import Delivery
from storage import updates as updates_repo
from storage.database import Database
from storage.updates import Stored

log = logging.getLogger(__name__)

# What a channel does with one stored update: the reply's rows to send (``Engine.answer``).
Handle = Callable[[Stored], Awaitable[list[Delivery]]]
# Drop these updates of one chat (a flood); ``notify`` on the first drop of a flood.
Drop = Callable[[list[Stored], bool], Awaitable[list[Delivery]]]

BACKLOG = 10
STOP_GRACE = 5.0


@dataclass(frozen=True)
class Received:
    """One update as a channel received it: its platform id, its chat, the raw payload."""

    external_id: str
    chat_id: str
    payload: dict[str, object]


class Inbox:
    """One channel's received updates (see the module docstring)."""

    def __init__(
        self, db: Database, clock: Clock, outbox: Outbox, channel: str, handle: Handle,
        drop: Drop, *, slots: int = 8, backlog: int = BACKLOG,
    ) -> None:
        self.db = db
        self.clock = clock
        self.outbox = outbox
        self.channel = channel
        self.handle = handle
        self.drop = drop
        self.slots = asyncio.Semaphore(slots)
        self.backlog = backlog
        self._queues: dict[str, deque[tuple[Stored, bool]]] = {}
        self._waiting: dict[str, int] = {}  # per chat: queued updates that will be handled
        self._flooded: set[str] = set()  # chats told about their flood (until their queue empties)
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        # Deliveries received and waiting to be stored (see :meth:`receive`).
        self._arrivals: list[tuple[list[Received], asyncio.Future[list[Stored]]]] = []
        self._storing: asyncio.Task[None] | None = None

    async def receive(self, items: Iterable[Received]) -> list[Stored]:
        """Store ``items`` durably, then queue the new ones; return them.

        Returns once the transaction has committed: the caller may acknowledge them now.
        Deliveries that arrive while another is being stored (webhook requests in parallel)
        are stored together, in one transaction: one commit for many under load."""
        done: asyncio.Future[list[Stored]] = asyncio.get_running_loop().create_future()
        self._arrivals.append((list(items), done))
        if self._storing is None:
            self._storing = asyncio.create_task(self._store_arrivals())
        try:
            stored = await done
        except asyncio.CancelledError:  # stored meanwhile all the same: queue them
            if done.done() and not done.cancelled() and done.exception() is None:
                for row in done.result():
                    self._enqueue(row)
            raise
        for row in stored:
            self._enqueue(row)
        return stored

    async def _store_arrivals(self) -> None:
        batch: list[tuple[list[Received], asyncio.Future[list[Stored]]]] = []
        try:
            while self._arrivals:  # what arrived while the previous batch was being stored
                batch, self._arrivals = self._arrivals, []
                results = await self._store_each([items for items, _ in batch])
                for (_, done), rows in zip(batch, results, strict=True):
                    if isinstance(rows, Exception):
                        if not done.done():
                            done.set_exception(rows)
                    elif not done.done():  # its caller queues the rows (once acknowledged)
                        done.set_result(rows)
                    else:  # its caller is gone: queue them here
                        for row in rows:
                            self._enqueue(row)
                batch = []
        finally:
            self._storing = None
            for _, done in [*batch, *self._arrivals]:  # cancelled (the loop is closing)
                done.cancel()
            self._arrivals = []

    async def _store_each(self, deliveries: list[list[Received]]) -> list[list[Stored] | Exception]:
        """Each delivery's new rows, or what went wrong storing it. One transaction for all;
        if it fails, each is stored alone, so that only a delivery that cannot be stored
        fails (and the platform sends it again)."""
        try:
            return list(await self._store(deliveries))
        except Exception as err:
            if len(deliveries) == 1:
                return [err]
        results: list[list[Stored] | Exception] = []
        for items in deliveries:
            try:
                results.extend(await self._store([items]))
            except Exception as err:
                results.append(err)
        return results

    async def _store(self, deliveries: list[list[Received]]) -> list[list[Stored]]:
        """Store several deliveries in one transaction; return each one's new rows."""
        now = self.clock.now()
        result: list[list[Stored]] = []
        async with self.db.transaction() as conn:
            for items in deliveries:
                result.append([row for item in items if (row := await updates_repo.store(
                    conn, self.channel, item.external_id, item.chat_id, dict(item.payload), now,
                )) is not None])
        return result

    async def resume(self) -> int:
        """Queue what was stored and never handled (at start); return how many."""
        async with self.db.read() as conn:
            rows = await updates_repo.waiting(conn, self.channel)
        if rows:
            log.warning("%s: %d update(s) received before the last stop were not handled yet; "
                        "handling them now", self.channel, len(rows))
        for row in rows:
            self._enqueue(row)
        return len(rows)

    def _enqueue(self, row: Stored) -> None:
        if self._closing:
            return  # stays stored: handled at the next start
        chat = row.chat_id
        queue = self._queues.setdefault(chat, deque())
        keep = self._waiting.get(chat, 0) < self.backlog
        if keep:
            self._waiting[chat] = self._waiting.get(chat, 0) + 1
        queue.append((row, not keep))
        if chat not in self._workers:
            self._workers[chat] = asyncio.create_task(self._work(chat))

    async def _work(self, chat: str) -> None:
        queue = self._queues[chat]
        try:
            while queue and not self._closing:
                row, dropped = queue.popleft()
                if dropped:
                    rows = [row]
                    while queue and queue[0][1]:
                        rows.append(queue.popleft()[0])
                    notify = chat not in self._flooded
                    self._flooded.add(chat)
                    log.warning("%s: chat %s sent too much at once; %d update(s) dropped",
                                self.channel, chat, len(rows))
                    await self._run(self.drop(rows, notify))
                    continue
                self._waiting[chat] -= 1
                await self._run(self._handle(row))
        finally:
            self._workers.pop(chat, None)
            if not queue:
                self._queues.pop(chat, None)
                self._waiting.pop(chat, None)
                self._flooded.discard(chat)
            elif not self._closing:  # a late arrival while we were leaving
                self._workers[chat] = asyncio.create_task(self._work(chat))

    async def _handle(self, row: Stored) -> list[Delivery]:
        async with self.slots:
            return await self.handle(row)

    async def _run(self, work: Awaitable[list[Delivery]]) -> None:
        """Handle (or drop), then send the reply: the chat's next update waits for it, the
        other chats do not."""
        try:
            replies = await work
            await self.outbox.send_now(self.channel, replies)
        except asyncio.CancelledError:
            raise
        except Exception:  # stays stored unhandled if its transaction did not commit
            log.exception("%s: an update could not be handled", self.channel)

    @property
    def busy(self) -> bool:
        """Whether some chat still has updates being handled or waiting."""
        return bool(self._workers)

    async def idle(self) -> None:
        """Wait until every queued update is handled and its reply sent (tests)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop taking new work; let what is being handled finish (within ``grace`` seconds);
        whatever is still queued stays stored, unhandled, for the next start."""
        self._closing = True
        workers = list(self._workers.values())
        if not workers:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*workers, return_exceptions=True), grace)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        left = sum(len(q) for q in self._queues.values())
        if left:
            log.info("%s: %d update(s) left for the next start", self.channel, left)
