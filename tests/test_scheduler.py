"""The scheduler is only a clock: fixed job ids, Morocco's zone, jobs that ask the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

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
