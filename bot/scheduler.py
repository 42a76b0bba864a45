"""APScheduler 3.11 as the clock: a few periodic jobs with fixed ids.

Jobs never carry state: each run asks the database what is due (reminders, scheduled broadcasts,
outbox rows), so a restart or a missed tick loses nothing and repeats nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.dialogue import Job, Services
from bot.timezones import load_zone
from storage import conversations as conversation_repo
from storage import updates as updates_repo

log = logging.getLogger(__name__)

KEEP_UPDATE_IDS = timedelta(days=3)


async def wake_outbox(services: Services) -> None:
    services.outbox.wake()


async def prune_updates(services: Services) -> None:
    async with services.db.transaction() as conn:
        now = services.clock.now()
        removed = await conversation_repo.prune_processed(conn, now, KEEP_UPDATE_IDS)
        removed += await updates_repo.prune(conn, now - KEEP_UPDATE_IDS)
    if removed:
        log.info("pruned %d processed update ids", removed)


CORE_JOBS = (
    Job("outbox-drain", wake_outbox, 5),
    Job("prune-updates", prune_updates, 3600),
)


class Scheduler:
    """Owns the APScheduler instance; jobs come from the core and from feature routers."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.scheduler = AsyncIOScheduler(timezone=load_zone(services.settings.timezone))
        for job in (*CORE_JOBS, *services.router.jobs):
            self.scheduler.add_job(
                self._runner(job.run), "interval", seconds=job.seconds, id=job.id,
                replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=30,
            )

    def _runner(self, run: Callable[[Services], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            try:
                await run(self.services)
            except Exception:
                log.exception("scheduled job failed")

        return call

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def tick(self) -> None:
        """Run every feature job once now (at start-up, so nothing waits a full period)."""
        for job in self.services.router.jobs:
            await self._runner(job.run)()
