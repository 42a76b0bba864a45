"""Who sends for the deployment: one process per channel, chosen by a lease.

Telegram allows 30 messages a second for the whole bot and one a second per chat; WhatsApp 80
a second per number. Several workers (``hirfa run --workers N``, or several ``hirfa run`` on one
PostgreSQL database) must keep those limits *together*, so exactly one of them sends for each
channel: the holder of the lease ``sender:<channel>`` (``storage/leases.py``, as for the clock in
``bot/scheduler.py``). Its :class:`~bot.pacing.Pacer` then sees every message of the deployment.

- Every process campaigns every :data:`CAMPAIGN_EVERY` seconds; the holder renews its lease for
  :data:`LEASE_PERIOD` and stops sending one campaign before it could lapse, so an old and a new
  holder are never both sending (and the new one starts with a quiet second behind it). When
  the holder dies, another process sends within ``LEASE_PERIOD + CAMPAIGN_EVERY`` (8 s).
- The other workers still handle updates: their direct replies are written ``pending``, first
  in the queue, with a ``NOTIFY`` in the same transaction (``storage/wakeups.py``); the holder,
  which ``LISTEN`` s, claims and sends them at once (no polling).
- On SQLite there is one process by rule: no lease, this process always sends.

:func:`process_name` names a process in the lease table and in ``outbox.claimed_by``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from storage import leases as lease_repo
from storage import wakeups
from storage.database import Database

log = logging.getLogger(__name__)

LEASE_PERIOD = timedelta(seconds=6)
CAMPAIGN_EVERY = 2.0
QUIET = timedelta(seconds=1.1)
"""After a clean stop, how long the next holder waits: a second and a margin, so that the
platforms never count the last sends of one holder and the first of the next together."""


def process_name() -> str:
    """This process, as other processes see it (host, pid, a random tag)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Lease:
    """This process's claim to a role of the deployment (``clock``, ``sender:telegram``): a row
    of ``storage/leases.py`` taken or renewed by :meth:`campaign` every ``campaign_every``
    seconds for ``period``. :attr:`leading` turns False one campaign before the lease could
    lapse, so a renewal that fails leaves a whole campaign to notice it and two processes never
    both act. ``doing``/``others`` complete the log lines ("runs the scheduled jobs")."""

    def __init__(self, name: str, holder: str, db: Database, clock: Clock, *,
                 period: timedelta, campaign_every: float, doing: str, others: str,
                 quiet: timedelta | None = None) -> None:
        self.name = name
        self.holder = holder
        self.db = db
        self.clock = clock
        self.period = period
        self.campaign_every = campaign_every
        self.doing, self.others = doing, others
        self.quiet = quiet  # at a clean stop: expire this much later instead of at once
        self._until: datetime | None = None

    @property
    def leading(self) -> bool:
        """True while this process surely holds the lease (with a campaign to spare)."""
        return self._until is not None and self.clock.now() < self._until

    async def campaign(self) -> bool:
        """Take or renew the lease; True when this process holds the role."""
        now = self.clock.now()
        was = self.leading
        try:
            async with self.db.transaction() as conn:
                held = await lease_repo.claim(conn, self.name, self.holder, now, self.period)
        except Exception:
            log.exception("%s: could not reach the database", self.name)
            held = False
        self._until = now + self.period - timedelta(seconds=self.campaign_every) if held else None
        if held and not was:
            log.info("%s: this process (%s) %s", self.name, self.holder, self.doing)
        elif was and not held:
            log.warning("%s: lease lost; another process %s", self.name, self.others)
        return held

    async def release(self) -> None:
        """Give the lease up (a clean stop): another process takes it at its next campaign
        (``quiet`` later at the earliest, when set)."""
        if self._until is None:
            return
        self._until = None
        until = self.clock.now() + self.quiet if self.quiet is not None else None
        async with self.db.transaction() as conn:
            await lease_repo.release(conn, self.name, self.holder, until)


def sender_lease(channel: str, holder: str, db: Database, clock: Clock) -> Lease:
    """This process's claim to send for ``channel`` on behalf of the whole deployment; after a
    clean stop the next sender waits ``QUIET`` (the platforms count by the second)."""
    return Lease(f"sender:{channel}", holder, db, clock, period=LEASE_PERIOD,
                 campaign_every=CAMPAIGN_EVERY, doing="sends for the deployment",
                 others="sends", quiet=QUIET)


class Roles:
    """This process's share of the sending: one sender :class:`Lease` per channel it has, the
    campaigns, and the wake-ups between processes. ``wake(channel)`` wakes the local sender of
    ``channel`` (None: all of them)."""

    def __init__(self, channels: list[str], holder: str, db: Database, clock: Clock,
                 wake: Callable[[str | None], None]) -> None:
        self.holder = holder
        self.db = db
        self.leases = {name: sender_lease(name, holder, db, clock) for name in channels}
        self.wake = wake
        self.listener = wakeups.Listener(db.url, wake) if db.backend == "postgresql" else None
        self._task: asyncio.Task[None] | None = None
        self._relayed: set[asyncio.Task[None]] = set()

    def leading(self, channel: str) -> bool:
        lease = self.leases.get(channel)
        return lease is not None and lease.leading

    @property
    def sending(self) -> list[str]:
        """The channels this process sends for now."""
        return sorted(name for name, lease in self.leases.items() if lease.leading)

    async def campaign(self) -> None:
        for name, lease in self.leases.items():
            was = lease.leading
            if await lease.campaign() and not was:
                self.wake(name)  # what the previous holder left is ours now

    async def start(self) -> None:
        """Listen, campaign once (before the first update is handled), then keep campaigning."""
        if self.listener is not None:
            await self.listener.start()
        await self.campaign()
        self._task = asyncio.create_task(self._campaigns())

    async def _campaigns(self) -> None:
        while True:
            await asyncio.sleep(CAMPAIGN_EVERY)
            await self.campaign()

    def relay(self, channels: list[str]) -> None:
        """Rows were queued here for ``channels`` (and committed): tell the processes that send
        for them, when that is not this one (a ``NOTIFY`` of its own; no-op on SQLite)."""
        others = [c for c in channels if not self.leading(c)]
        if not others or self.listener is None:
            return
        task = asyncio.get_running_loop().create_task(self._announce(others))
        self._relayed.add(task)
        task.add_done_callback(self._relayed.discard)

    async def _announce(self, channels: list[str]) -> None:
        try:
            async with self.db.transaction() as conn:
                for channel in channels:
                    await wakeups.announce(conn, channel)
        except Exception:  # the sender still looks at the queue every few seconds
            log.warning("wake-ups: could not notify the sender of %s", ", ".join(channels),
                        exc_info=True)

    async def stop(self) -> None:
        """Stop campaigning and listening; give the leases up."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.listener is not None:
            await self.listener.stop()
        for task in list(self._relayed):
            with contextlib.suppress(Exception):
                await task
        for lease in self.leases.values():
            with contextlib.suppress(Exception):
                await lease.release()
