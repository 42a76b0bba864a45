"""APScheduler 3.11 as the clock: a few periodic jobs with fixed ids.

Jobs never carry state: each run asks the database what is due (reminders, scheduled broadcasts,
outbox rows), so a restart or a missed tick loses nothing and repeats nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.dialogue import Job, Services
from bot.timezones import load_zone
from storage import conversations as conversation_repo

log = logging.getLogger(__name__)

KEEP_UPDATE_IDS = timedelta(days=3)


async def wake_outbox(services: Services) -> None:
    services.outbox.wake()


async def prune_updates(services: Services) -> None:
    async with services.db.transaction() as conn:
        removed = await conversation_repo.prune_processed(conn, services.clock.now(), KEEP_UPDATE_IDS)
    if removed:
        log.info("pruned %d processed update ids", removed)


CORE_JOBS = (
    Job("outbox-drain", wake_outbox, 5),
    Job("prune-updates", prune_updates, 3600),
)


class Scheduler:
    """Owns the APScheduler instance; jobs come from the core and from feature routers.

    A job also runs when woken (:meth:`wake`, ``services.wake_job``): the engine wakes the jobs
    an update asked for (``ctx.wake``) right after it commits, so work that needs a network call
    outside the transaction does not wait for the job's period. A job never runs twice at once:
    a wake (or a tick) that comes while it runs makes it run once more when it ends, so nothing
    written meanwhile waits for the next period either.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.scheduler = AsyncIOScheduler(timezone=load_zone(services.settings.timezone))
        self._jobs = {job.id: job for job in (*CORE_JOBS, *services.router.jobs)}
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._woken: set[asyncio.Task[None]] = set()
        for job in self._jobs.values():
            self.scheduler.add_job(
                self._runner(job), "interval", seconds=job.seconds, id=job.id,
                replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=30,
            )
        services.wake_job = self.wake

    def _runner(self, job: Job) -> Callable[[], Coroutine[Any, Any, None]]:
        async def call() -> None:
            if job.id in self._busy:
                self._again.add(job.id)
                return
            self._busy.add(job.id)
            try:
                while True:
                    self._again.discard(job.id)
                    try:
                        await job.run(self.services)
                    except Exception:
                        log.exception("scheduled job %s failed", job.id)
                    if job.id not in self._again:
                        break
            finally:
                self._busy.discard(job.id)

        return call

    def wake(self, job_id: str) -> None:
        """Run job ``job_id`` now (in a task of its own; the caller does not wait)."""
        job = self._jobs.get(job_id)
        if job is None:
            log.warning("no job %s to wake", job_id)
            return
        task = asyncio.get_running_loop().create_task(self._runner(job)())
        self._woken.add(task)
        task.add_done_callback(self._woken.discard)

    async def settle(self) -> None:
        """Wait for the woken runs (and the runs they lead to) to end."""
        while self._woken:
            await asyncio.gather(*list(self._woken))

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in list(self._woken):
            task.cancel()

    async def tick(self) -> None:
        """Run every feature job once now (at start-up, so nothing waits a full period)."""
        for job in self.services.router.jobs:
            await self._runner(self._jobs[job.id])()
