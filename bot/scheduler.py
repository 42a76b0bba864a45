"""APScheduler 3.11 as the clock: a few periodic jobs with fixed ids, run by one process.

Jobs never carry state: each run asks the database what is due (reminders, scheduled broadcasts,
outbox rows), so a restart or a missed tick loses nothing and repeats nothing.

Several processes may share one database (``hirfa run`` twice on PostgreSQL). Every process
wakes its own outbox senders, but the jobs that decide what is due run in exactly one of them:
the holder of the ``clock`` lease (``storage/leases.py``). Every process asks for the lease every
``CAMPAIGN_EVERY`` seconds; the holder renews it for ``LEASE_PERIOD``, and stops running jobs as
soon as its lease might have lapsed. When the holder dies, its lease expires and the next
campaign of another process takes it: failover in at most ``LEASE_PERIOD + CAMPAIGN_EVERY``
(25 s). The jobs themselves stay idempotent (unique outbox keys, guarded status changes), so
even a holder frozen past its lease cannot send a message twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.dialogue import Job, Services
from bot.roles import Lease, process_name
from bot.timezones import load_zone
from storage import conversations as conversation_repo
from storage import updates as updates_repo

log = logging.getLogger(__name__)

KEEP_UPDATE_IDS = timedelta(days=3)
CLOCK_LEASE = "clock"
LEASE_PERIOD = timedelta(seconds=20)
CAMPAIGN_EVERY = 5.0
STOP_PATIENCE = 5.0


async def wake_outbox(services: Services) -> None:
    services.outbox.wake(here_only=True)  # each process its own (bot/roles.py: who sends)


async def keep_claims(services: Services) -> None:
    await services.outbox.keep_claims()


async def prune_updates(services: Services) -> None:
    async with services.db.transaction() as conn:
        now = services.clock.now()
        removed = await conversation_repo.prune_processed(conn, now, KEEP_UPDATE_IDS)
        removed += await updates_repo.prune(conn, now - KEEP_UPDATE_IDS)
    if removed:
        log.info("pruned %d processed update ids", removed)


EVERY_PROCESS_JOBS = (Job("outbox-drain", wake_outbox, 5),)
CLOCK_JOBS = (Job("prune-updates", prune_updates, 3600),)


class Scheduler:
    """Owns the APScheduler instance; jobs come from the core and from feature routers.

    A job also runs when woken (:meth:`wake`, ``services.wake_job``): the engine wakes the jobs
    an update asked for (``ctx.wake``) right after it commits, so work that needs a network call
    outside the transaction does not wait for the job's period. A job never runs twice at once:
    a wake (or a tick) that comes while it runs makes it run once more when it ends, so nothing
    written meanwhile waits for the next period either.
    """

    def __init__(self, services: Services, holder: str | None = None) -> None:
        self.services = services
        self.holder = holder or process_name()
        self.lease = Lease(CLOCK_LEASE, self.holder, services.db, services.clock,
                           period=LEASE_PERIOD, campaign_every=CAMPAIGN_EVERY,
                           doing="runs the scheduled jobs", others="runs the scheduled jobs")
        self.scheduler = AsyncIOScheduler(timezone=load_zone(services.settings.timezone))
        self._jobs: dict[str, Job] = {}
        self._gated: set[str] = set()
        self._busy: dict[str, asyncio.Task[Any]] = {}  # job id → the task running it
        self._again: set[str] = set()
        self._woken: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._add(Job("clock-lease", self._campaign_job, CAMPAIGN_EVERY), gated=False)
        for job in EVERY_PROCESS_JOBS:
            self._add(job, gated=False)
        # Every process renews its own claims on outbox rows, and any of them puts back the
        # rows of a process that died (no need to wait for the clock to fail over).
        self._add(Job("outbox-claims", keep_claims, services.settings.outbox.claim_lease / 4),
                  gated=False)
        for job in (*CLOCK_JOBS, *services.router.jobs):
            self._add(job, gated=True)
        services.wake_job = self.wake

    def _add(self, job: Job, *, gated: bool) -> None:
        self._jobs[job.id] = job
        if gated:
            self._gated.add(job.id)
        self.scheduler.add_job(
            self._runner(job), "interval", seconds=job.seconds, id=job.id,
            replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=30,
        )

    def _runner(self, job: Job) -> Callable[[], Coroutine[Any, Any, None]]:
        async def call() -> None:
            if self._stopping or (job.id in self._gated and not self.leading):
                return
            if job.id in self._busy:
                self._again.add(job.id)
                return
            task = asyncio.current_task()
            assert task is not None  # a coroutine run by APScheduler or by wake(): in a task
            self._busy[job.id] = task
            try:
                while True:
                    self._again.discard(job.id)
                    try:
                        await job.run(self.services)
                    except Exception:
                        log.exception("scheduled job %s failed", job.id)
                    if job.id not in self._again or self._stopping:
                        break
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                # Cut short by a stop that waited long enough (see stop): its transaction rolled
                # back, and the next start runs it again. Not an error worth a traceback.
                log.warning("scheduled job %s stopped before it ended", job.id)
            finally:
                del self._busy[job.id]

        return call

    @property
    def leading(self) -> bool:
        """True while this process surely holds the clock lease (with a margin to spare)."""
        return self.lease.leading

    async def _campaign_job(self, _services: Services) -> None:
        await self.campaign()

    async def campaign(self) -> bool:
        """Take or renew the clock lease; True when this process runs the jobs."""
        return await self.lease.campaign()

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

    async def stop(self, patience: float = STOP_PATIENCE) -> None:
        """Start no more runs, let the running ones end (for ``patience`` seconds at most), then
        cancel what is left. A job's work is one transaction, so a cut run leaves nothing half
        done; waiting first just spares it, and keeps a stop from logging a run it interrupted."""
        self._stopping = True
        running = {*self._busy.values(), *self._woken}
        if running:
            await asyncio.wait(running, timeout=patience)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # cancels the runs it started that still run
        for task in list(self._woken):
            task.cancel()
        if left := {task for task in running if not task.done()}:
            await asyncio.wait(left, timeout=patience)  # they end at their next await

    async def release(self) -> None:
        """Give the clock up at a clean stop, so another process takes it at its next campaign."""
        await self.lease.release()

    async def tick(self) -> None:
        """Campaign, then run every feature job once now if this process holds the clock (at
        start-up, so nothing waits a full period)."""
        await self.campaign()
        for job in self.services.router.jobs:
            await self._runner(self._jobs[job.id])()
