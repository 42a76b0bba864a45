"""The scheduler is only a clock: fixed job ids, Morocco's zone, jobs that ask the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.dialogue import Job
from bot.scheduler import Scheduler, prune_updates
from storage.updates import inbound_updates
from tests.harness import Harness


async def test_jobs_have_fixed_ids_and_the_moroccan_zone(h: Harness) -> None:
    scheduler = Scheduler(h.app.services)
    ids = {job.id for job in scheduler.scheduler.get_jobs()}
    assert {"outbox-drain", "prune-updates"} <= ids
    assert str(scheduler.scheduler.timezone) == "Africa/Casablanca"
    again = Scheduler(h.app.services)  # building twice (a restart) replaces, never duplicates
    assert sorted(j.id for j in again.scheduler.get_jobs()) == sorted(ids)


async def test_old_update_ids_are_pruned_and_recent_ones_kept(h: Harness) -> None:
    await h.send(1, "/start")
    h.clock.advance(timedelta(days=4))
    await h.send(2, "/start")
    await prune_updates(h.app.services)
    async with h.app.db.read() as conn:
        left = (await conn.execute(select(func.count()).select_from(inbound_updates))).scalar()
    assert left == 1


async def test_a_job_woken_while_it_runs_runs_once_more_never_twice_at_once(h: Harness) -> None:
    """A wake that arrives during a run is not lost (what was written meanwhile is seen by one
    more run) and never starts a second run alongside the first."""
    running, runs = 0, []
    release = asyncio.Event()

    async def job(services: object) -> None:
        nonlocal running
        running += 1
        runs.append(running)
        if len(runs) == 1:
            await release.wait()
        running -= 1

    h.app.services.router.jobs.append(Job("test.slow", job, 3600))
    try:
        scheduler = Scheduler(h.app.services)
        assert await scheduler.campaign()  # this process holds the clock (jobs run only there)
        h.app.services.wake_job("test.slow")
        await asyncio.sleep(0)  # the first run starts and waits
        h.app.services.wake_job("test.slow")
        h.app.services.wake_job("test.slow")
        await asyncio.sleep(0)
        release.set()
        await scheduler.settle()
    finally:
        h.app.services.router.jobs.pop()
    assert runs == [1, 1]  # two runs in all, one after the other


async def test_a_stop_lets_a_running_job_end_and_cuts_a_stuck_one_without_a_traceback(
    h: Harness, caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker stopped (SIGTERM) while a periodic job talks to the database: the job ends its
    transaction first, and one that will not end is cut with a one-line warning, not the
    scheduler's "raised an exception" traceback (which CI once saw at a clean stop)."""
    started = {"short": asyncio.Event(), "stuck": asyncio.Event()}
    ended: list[str] = []

    async def short(services: object) -> None:
        started["short"].set()
        await asyncio.sleep(0.3)
        ended.append("short")

    async def stuck(services: object) -> None:
        started["stuck"].set()
        await asyncio.Event().wait()
        ended.append("stuck")

    h.app.services.router.jobs.extend([Job("test.short", short, 0.05), Job("test.stuck", stuck, 0.05)])
    try:
        scheduler = Scheduler(h.app.services)
        assert await scheduler.campaign()
        scheduler.start()
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started.values())), 5)
        await scheduler.stop(patience=1.0)
    finally:
        del h.app.services.router.jobs[-2:]
    assert ended == ["short"]
    assert "scheduled job test.stuck stopped before it ended" in caplog.text
    assert "raised an exception" not in caplog.text
    assert "Traceback" not in caplog.text
    assert not scheduler.scheduler.running
