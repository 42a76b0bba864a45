"""Sending: one :class:`ChannelSender` per channel delivers its due outbox rows.

- Paced by the channel's :class:`~bot.pacing.Pacer` (shared with its direct replies): at most
  one message per chat per ``per_chat_interval``, and the platform's overall rate.
- What a delivery error means is decided here, once (:func:`outcome_of`); channels only turn
  their platform's errors into :mod:`bot.errors` types:

  ======================  =====================================================================
  error                   outcome
  ======================  =====================================================================
  ``RetryLater``          retried after ``retry_after`` (no attempt counted); only the
                          recipient waits when the limit is theirs (WhatsApp 131056; a
                          Telegram 429 while no other chat is limited), else the channel
  ``Unreachable``         ``blocked``; the identity is marked, later rows for it are skipped
  ``WindowClosed``        moved to the artisan's other reachable channel, else ``failed``
  ``Permanent``           ``failed`` at once (the message itself was refused)
  ``Transient``, other    retried with exponential backoff, ``failed`` after ``max_attempts``
  ======================  =====================================================================

- Rows are claimed (``sending``, ``claimed_at``) in small batches and settled right after; the
  running sender keeps two batches of ``max_in_flight / 2`` in flight. A claim is a lease of
  ``claim_lease`` seconds that the sender renews while it holds the row (:attr:`held`); rows
  whose claim has expired (their process died) go back to ``pending``
  (:meth:`bot.outbox.Outbox.keep_claims`): a crash resends at most what was in flight and loses
  nothing, and another live process's rows are never taken from it.
- Direct replies are claimed by the update that wrote them and sent by :meth:`send_now` at
  once; a part that cannot go now stays queued, with the parts after it, for :meth:`run`.
- With several processes, only the one that holds the channel's lease sends (:attr:`lease`,
  ``bot/roles.py``): the others claim nothing, and their direct replies wait in the queue for
  it. Each claim records the process (``claimed_by``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.errors import DeliveryError, Permanent, RetryLater, Unreachable, WindowClosed
from bot.messages import OutMessage
from bot.pacing import Pacer
from bot.roles import Lease
from bot.settings import Settings
from storage import artisans as artisan_repo
from storage import outbox as repo
from storage.database import Conn, Database
from storage.outbox import BLOCKED, FAILED, PENDING, SENDING, SENT

log = logging.getLogger(__name__)


class Transport(Protocol):
    """A channel's way to deliver one message; raises :mod:`bot.errors` delivery errors."""

    channel: str

    async def send(
        self, chat_id: str, message: OutMessage, *, row_id: int | None = None
    ) -> str | None:
        """Deliver ``message``; return the platform's message id if it gives one. ``row_id``
        names the outbox row, for a channel that records its progress within one message."""


@dataclass
class Delivery:
    """A claimed row on its way out."""

    row_id: int
    chat_id: str
    message: OutMessage
    attempts: int
    artisan_id: int | None = None


class Outcome(enum.Enum):
    """What became of one attempt (see the module docstring's table)."""

    SENT = "sent"
    LATER = "later"  # not attempted: its chat was busy, or the channel paused
    RETRY_CHAT = "retry_chat"  # the recipient's own rate limit
    RETRY = "retry"  # the channel's rate limit
    BLOCKED = "blocked"
    REROUTE = "reroute"
    FAILED = "failed"
    TRANSIENT = "transient"


# (outcome, detail): the platform's message id when sent, a timestamp for LATER, else the error.
Result = tuple[Outcome, Any]


def outcome_of(err: BaseException) -> Outcome:
    """What a delivery error means (rate limits are refined by :meth:`ChannelSender._limited`)."""
    if isinstance(err, RetryLater):
        return Outcome.RETRY_CHAT if err.per_chat else Outcome.RETRY
    if isinstance(err, Unreachable):
        return Outcome.BLOCKED
    if isinstance(err, WindowClosed):
        return Outcome.REROUTE
    if isinstance(err, Permanent):
        return Outcome.FAILED
    return Outcome.TRANSIENT


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
        *,
        space_replies: bool = True,
        process: str | None = None,
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
        # False: direct replies skip the per-chat spacing (WhatsApp: the user is waiting).
        self.space_replies = space_replies
        # Direct replies in flight at once (their chats' spacing is waited for before): the
        # HTTP connections stay few and a crash resends at most this many.
        self._replying = asyncio.Semaphore(settings.outbox.max_in_flight)
        self._wake = asyncio.Event()
        self._paused_until: datetime | None = None
        self._inflight: set[str] = set()  # chats with a claimed, not yet settled row
        self.held: set[int] = set()  # rows claimed by this sender, not yet settled
        self.process = process  # written in ``claimed_by``
        # Several processes: this one sends only while it holds the channel's lease; ``relay``
        # tells the one that does about rows left to it (see bot/roles.py).
        self.lease: Lease | None = None
        self.relay: Callable[[list[str]], None] | None = None
        # Direct replies' parts sent and waiting to be recorded (see :meth:`_settle_sent`).
        self._sent: list[tuple[Delivery, Result, asyncio.Future[None]]] = []
        self._recording: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        """Whether this process sends for the channel (always, when it is the only one)."""
        return self.lease is None or self.lease.leading

    def wake(self) -> None:
        self._wake.set()

    # -- the running sender -------------------------------------------------------------------
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
            elif self.leading:  # (else another process sends: wait to be woken)
                async with self.db.read() as conn:
                    next_due = await repo.next_due(conn, self.channel)
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

    # -- direct replies ---------------------------------------------------------------------------
    async def send_now(self, items: list[Delivery]) -> None:
        """Send the parts of one direct reply in order, each settled as soon as it is sent (a
        crash between two parts resends none that went). A part that cannot go now stays
        queued, with the parts after it, for the running sender (backoff, pauses, reroutes)."""
        self.held.update(item.row_id for item in items)
        for index, item in enumerate(items):
            now = self.clock.now()
            if not self.leading:  # the lease moved on meanwhile: its holder sends the rest
                await self._settle([(rest, (Outcome.LATER, now.timestamp())) for rest in items[index:]])
                if self.relay is not None:
                    self.relay([self.channel])
                return
            if self._paused(now):
                until = (self._paused_until or now).timestamp()
                await self._settle([(rest, (Outcome.LATER, until)) for rest in items[index:]])
                self.wake()
                return
            await self.pacer.acquire(item.chat_id if self.space_replies else None, record=False)
            async with self._replying:
                result = await self._deliver(item)
            if result[0] is Outcome.SENT:
                await self._settle_sent(item, result)
                continue
            await self._settle([(item, result)], after=items[index + 1:])
            self.wake()
            return

    async def _settle_sent(self, item: Delivery, result: Result) -> None:
        """Record one sent part; returns once it is committed. The parts other replies sent
        meanwhile are recorded in the same transaction (one commit for many under load, where
        a transaction per part cost more than the part's own statement)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent.append((item, result, done))
        if self._recording is None:
            self._recording = asyncio.create_task(self._record_sent())
        await done

    async def _record_sent(self) -> None:
        batch: list[tuple[Delivery, Result, asyncio.Future[None]]] = []
        try:
            while self._sent:  # what arrived while the previous batch was being written
                batch, self._sent = self._sent, []
                try:
                    await self._settle([(item, result) for item, result, _ in batch])
                except Exception as err:
                    for _, _, done in batch:
                        if not done.done():
                            done.set_exception(err)
                else:
                    for _, _, done in batch:
                        if not done.done():
                            done.set_result(None)
                batch = []
        finally:
            self._recording = None
            for _, _, done in [*batch, *self._sent]:  # cancelled (the loop is closing)
                done.cancel()
            self._sent = []

    # -- one batch ----------------------------------------------------------------------------
    async def _launch(self, batch: list[Delivery]) -> list[asyncio.Future[Result]]:
        # Slots are taken one at a time (a direct reply never queues behind a whole batch);
        # the sends themselves may overlap.
        # A chat that became busy since the claim (a direct reply to it went out meanwhile)
        # goes back to the queue untouched: waiting for it here would hold up the whole batch.
        tasks: list[asyncio.Future[Result]] = []
        for item in batch:
            if not self.leading:  # the lease lapsed meanwhile: the rest is for its next holder
                gone: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
                gone.set_result((Outcome.LATER, self.clock.now().timestamp()))
                tasks.append(gone)
                continue
            if not self.pacer.chat_ready(item.chat_id):
                later: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
                later.set_result((Outcome.LATER, self.pacer.chat_free_at(item.chat_id)))
                tasks.append(later)
                continue
            await self.pacer.acquire(item.chat_id, record=False)
            tasks.append(asyncio.ensure_future(self._deliver(item)))
        return tasks

    async def _finish(self, batch: list[Delivery], tasks: list[asyncio.Future[Result]]) -> None:
        try:
            outcomes = await asyncio.gather(*tasks)
            await self._settle(list(zip(batch, outcomes, strict=True)))
        finally:
            self._inflight.difference_update(item.chat_id for item in batch)

    async def _claim(self, now: datetime) -> list[Delivery]:
        if not self.leading:
            return []
        async with self.db.read() as conn:
            if not await repo.has_due(conn, self.channel, now):
                return []  # the common case: no write transaction, no lock taken
        stamp = now.timestamp()
        waiting: list[float] = []  # when the chats we had to leave for later become free
        chosen: list[Delivery] = []
        skipped: list[int] = []
        broken: list[tuple[int, str]] = []
        async with self.db.transaction() as conn:
            chats: set[str] = set()
            for row in await repo.due(conn, self.channel, now, self.batch * 8):
                if row.blocked:
                    skipped.append(row.id)
                    continue
                if row.chat_id in chats or row.chat_id in self._inflight:
                    continue
                if not self.pacer.chat_ready(row.chat_id):
                    waiting.append(max(stamp, self.pacer.chat_free_at(row.chat_id)))
                    continue
                chats.add(row.chat_id)
                message = _with_window(OutMessage.from_json(row.payload), row.last_inbound)
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
                await repo.mark(conn, [row_id], status=FAILED, last_error=error)
            await repo.mark(conn, skipped, status=BLOCKED,
                            last_error="chat unreachable (blocked earlier)")
            await repo.mark(conn, [d.row_id for d in chosen], status=SENDING, claimed_at=now,
                            claimed_by=self.process)
        self.held.update(d.row_id for d in chosen)
        if not chosen and (skipped or broken):
            return await self._claim(now)
        if not chosen and waiting:
            # Everything due is for chats we just wrote to: come back when the first is free.
            self._paused_until = datetime.fromtimestamp(min(waiting), UTC)
        return chosen

    async def _deliver(self, item: Delivery) -> Result:
        self.pacer.record()
        try:
            message_id = await self.transport.send(item.chat_id, item.message, row_id=item.row_id)
        except RetryLater as err:
            return self._limited(item.chat_id, err), err
        except DeliveryError as err:
            return outcome_of(err), err
        except Exception as err:  # an adapter bug must not stop the sender
            log.exception("outbox: unexpected error sending row %s", item.row_id)
            return Outcome.TRANSIENT, err
        return Outcome.SENT, message_id

    def _limited(self, chat_id: str, err: RetryLater) -> Outcome:
        """Who waits after a rate limit: the recipient alone when it is theirs (or, when the
        platform does not say, when no other chat is limited meanwhile); else the channel."""
        others = self.pacer.chats_paused() - {chat_id}
        self.pacer.pause_chat(chat_id, err.retry_after)
        if err.per_chat or (err.per_chat is None and not others):
            return Outcome.RETRY_CHAT
        self.pacer.pause(err.retry_after)
        return Outcome.RETRY

    # -- recording outcomes ---------------------------------------------------------------------
    async def _settle(self, results: list[tuple[Delivery, Result]],
                      after: Sequence[Delivery] = ()) -> None:
        """Record outcomes; ``after``: rows to send after the last result, no earlier (the
        remaining parts of a reply whose part failed), which go back to the queue with it."""
        now = self.clock.now()
        woken: set[str] = set()
        values: dict[str, Any] = {}
        try:
            async with self.db.transaction() as conn:
                for item, (outcome, detail) in results:
                    values = await self.values_for(conn, item, outcome, detail, now)
                    if outcome is Outcome.REROUTE:
                        woken.add(str(values.get("channel", "")))
                    await repo.mark(conn, [item.row_id], **values)
                if after:
                    later = values.get("next_attempt_at", now) if values.get("status") == PENDING else now
                    await repo.mark(conn, [item.row_id for item in after],
                                    status=PENDING, next_attempt_at=later)
        finally:  # settled, or left to expire (the database failed): no longer renewed
            self.held.difference_update(item.row_id for item, _ in results)
            self.held.difference_update(item.row_id for item in after)
        for name in woken & set(self.peers):
            self.peers[name].wake()

    async def values_for(
        self, conn: Conn, item: Delivery, outcome: Outcome, detail: Any, now: datetime
    ) -> dict[str, Any]:
        """The row's new values for ``outcome`` (also used for failures reported later, e.g.
        in a WhatsApp status callback, so both are read the same way)."""
        error = (str(detail)[:500] or type(detail).__name__) if isinstance(detail, BaseException) else ""
        if outcome is Outcome.SENT:
            return {"status": SENT, "sent_at": now, "attempts": item.attempts + 1,
                    "platform_message_id": detail}
        if outcome is Outcome.LATER:
            return {"status": PENDING,
                    "next_attempt_at": max(now, datetime.fromtimestamp(float(detail), UTC))}
        if outcome is Outcome.REROUTE:
            return await self._reroute(conn, item, detail, now)
        if outcome in (Outcome.RETRY, Outcome.RETRY_CHAT):
            assert isinstance(detail, RetryLater)
            if outcome is Outcome.RETRY:  # the whole channel waits
                self._paused_until = max(
                    self._paused_until or now, now + timedelta(seconds=detail.retry_after))
            return {"status": PENDING, "next_attempt_at": now + timedelta(seconds=detail.retry_after),
                    "last_error": error}
        if outcome is Outcome.BLOCKED:
            await artisan_repo.mark_blocked(conn, self.channel, item.chat_id, now)
            return {"status": BLOCKED, "last_error": error}
        if outcome is Outcome.FAILED or item.attempts + 1 >= self.max_attempts:
            return {"status": FAILED, "attempts": item.attempts + 1, "last_error": error}
        backoff = min(300.0, 2.0 * 2**item.attempts)
        return {"status": PENDING, "attempts": item.attempts + 1,
                "next_attempt_at": now + timedelta(seconds=backoff), "last_error": error}

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


def _with_window(message: OutMessage, last_inbound: datetime | None) -> OutMessage:
    """Tell the transport when the chat last wrote (read with the claim, not once per send):
    WhatsApp takes free-form messages for 24 hours after that."""
    if last_inbound is None:
        return message
    origin = dict(message.origin or {})
    known = origin.get("inbound_at")
    if not isinstance(known, str) or datetime.fromisoformat(known) < last_inbound:
        origin["inbound_at"] = last_inbound.isoformat()
    return replace(message, origin=origin)
