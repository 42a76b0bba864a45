"""Wake-ups between processes: "new outbox rows are due on channel X".

Several workers share one PostgreSQL database, and one of them sends for each channel (see
``bot/roles.py``). A worker that queues a message tells that sender at once with PostgreSQL's
``NOTIFY``; the sender ``LISTEN`` s on a connection of its own. Announced inside the writer's
transaction (:func:`announce`), the notice reaches the listeners when the rows commit, never
before them and not at all if they roll back. On SQLite (one process) there is nobody to tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage.database import Conn

log = logging.getLogger(__name__)

TOPIC = "hirfa_outbox"
RETRY_MAX = 30.0
FIRST_WAIT = 10.0


async def announce(conn: Conn, channel: str) -> None:
    """New rows for ``channel`` (PostgreSQL: delivered when ``conn``'s transaction commits)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_notify(TOPIC, channel)))


class Listener:
    """A connection of its own that listens for :func:`announce`; calls ``on_wake(channel)`` for
    each notice, and ``on_wake(None)`` after each (re)connection (notices sent while it was
    away are lost: the caller looks at the queue once more). Reconnects with a back-off."""

    def __init__(self, url: str, on_wake: Callable[[str | None], None]) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.on_wake = on_wake
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        """Listen from now on (waits for the first connection, up to :data:`FIRST_WAIT` s)."""
        self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), FIRST_WAIT)

    async def _run(self) -> None:
        import asyncpg

        delay = 1.0
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
            except (OSError, asyncpg.PostgresError) as err:
                log.warning("wake-ups: cannot listen (%s); again in %.0f s", type(err).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, gone=lost: gone.set())
            await conn.add_listener(TOPIC, self._notified)
            self._conn, delay = conn, 1.0
            self.connected.set()
            self.on_wake(None)
            try:
                await lost.wait()
            finally:
                self.connected.clear()
                self._conn = None
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
            log.warning("wake-ups: the listening connection was lost; reconnecting")

    def _notified(self, _conn: Any, _pid: int, _topic: str, payload: str) -> None:
        self.on_wake(payload or None)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
