"""Several workers on one database: two engines (two ``Database`` handles, as two processes have)
race for the same rows, and the database keeps them apart on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.clock import FakeClock
from bot.dialogue import TURN_PATIENCE, Job
from bot.messages import OutMessage
from bot.roles import QUIET
from bot.scheduler import CAMPAIGN_EVERY, LEASE_PERIOD, Scheduler
from storage import artisans as artisan_repo
from storage import conversations as conversation_repo
from storage import enrolments as enrolment_repo
from storage import leases as lease_repo
from storage import outbox as outbox_repo
from storage import updates as updates_repo
from storage.database import Database
from storage.schema import conversations
from storage.schema import outbox as outbox_table
from tests import databases, factories
from tests.databases import postgres_only
from tests.fakes.telegram import FakeBotAPI
from tests.harness import Harness, make_settings
from tests.sessions_support import make_session

ADMIN_USER = 6001


@postgres_only
async def test_one_users_updates_wait_for_each_other_across_workers(h: Harness) -> None:
    """Worker A holds the conversation; worker B's update for the same user waits on the lock,
    then reads what A wrote. Without the lock both read 0 and one increment is lost."""
    a, b = Database(h.app.db.url), Database(h.app.db.url)
    now = h.clock.now()
    async with a.transaction() as conn:
        await conversation_repo.save(conn, "telegram", "7", "count", {"n": 0}, now)

    async def increment(db: Database, holding: asyncio.Event | None, release: asyncio.Event | None) -> None:
        async with db.transaction() as conn:
            await conversation_repo.lock(conn, "telegram", "7")
            row = (await conn.execute(select(conversations.c.data).where(
                conversations.c.user_id == "7"))).scalar_one()
            if holding is not None and release is not None:
                holding.set()
                await release.wait()
            await conversation_repo.save(conn, "telegram", "7", "count", {"n": row["n"] + 1}, now,
                                         exists=True)

    holding, release = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(increment(a, holding, release))
    await holding.wait()
    second = asyncio.create_task(increment(b, None, None))
    async with h.app.db.read() as conn:  # B is now waiting on A's advisory lock
        for _ in range(500):
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))).scalar()
            if waiting:
                break
            await asyncio.sleep(0.01)
    assert waiting == 1
    release.set()
    await asyncio.gather(first, second)
    async with h.app.db.read() as conn:
        data = (await conn.execute(select(conversations.c.data))).scalar_one()
    assert data == {"n": 2}
    await a.dispose()
    await b.dispose()


async def test_two_workers_never_give_more_seats_than_the_session_has(h: Harness) -> None:
    """Ten artisans enrol at once through two engines; a session of 3 seats seats exactly 3."""
    session_id = await make_session(h, capacity=3)
    now = h.clock.now()
    async with h.app.db.transaction() as conn:
        ids = [await artisan_repo.create(conn, now, full_name=f"A{i}", locale="fr") for i in range(10)]
    workers = [Database(h.app.db.url), Database(h.app.db.url)]

    async def enrol(index: int, artisan: int) -> None:
        async with workers[index % 2].transaction() as conn:
            await enrolment_repo.enrol(conn, session_id, artisan, now)

    await asyncio.gather(*(enrol(i, artisan) for i, artisan in enumerate(ids)))
    async with h.app.db.read() as conn:
        seated = await enrolment_repo.seated_count(conn, session_id)
        waiting = [e for e in [await enrolment_repo.get(conn, session_id, a) for a in ids]
                   if e is not None and e.status == "waitlisted"]
    assert seated == 3
    assert sorted(e.position or 0 for e in waiting) == list(range(1, 8))  # a queue, no ties
    for db in workers:
        await db.dispose()


async def test_one_clock_for_two_workers_and_failover_within_30_seconds(tmp_path: Path) -> None:
    """Two processes' schedulers on one database: one runs the jobs; when it dies (stops
    renewing), the other takes over within LEASE_PERIOD + CAMPAIGN_EVERY, and never both."""
    clock = FakeClock()
    async with Harness.open(tmp_path, clock=clock) as one, Harness.open(tmp_path, clock=clock) as two:
        assert databases.url_for(tmp_path) == one.app.settings.database_url == two.app.settings.database_url
        a = Scheduler(one.app.services, holder="worker-a")
        b = Scheduler(two.app.services, holder="worker-b")
        assert await a.campaign() and a.leading
        assert not await b.campaign() and not b.leading
        runs: list[str] = []

        async def job(_services: object) -> None:
            runs.append("ran")

        shared = Job("test.shared", job, 60)
        for scheduler in (a, b):  # the same scheduled job fires in both processes
            scheduler._add(shared, gated=True)
            await scheduler._runner(shared)()
        assert runs == ["ran"]  # ... and runs once

        for _ in range(6):  # a minute of renewals: A keeps the clock
            clock.advance(CAMPAIGN_EVERY)
            assert await a.campaign() and not await b.campaign()
        # A dies (SIGKILL): no more renewals. B campaigns every CAMPAIGN_EVERY seconds.
        died = clock.now()
        while not await b.campaign():
            clock.advance(CAMPAIGN_EVERY)
        failover = clock.now() - died
        assert failover <= LEASE_PERIOD + timedelta(seconds=CAMPAIGN_EVERY) <= timedelta(seconds=30)
        assert not a.leading  # A, frozen rather than dead, has stopped running jobs by then
        async with one.app.db.read() as conn:
            lease = await lease_repo.get(conn, "clock")
        assert lease is not None and lease.holder == "worker-b" and lease.acquired_at == clock.now()
        # A clean stop hands the clock over at the next campaign, without waiting for expiry.
        await b.release()
        assert await a.campaign()


def _pending_rows(count: int, now: datetime) -> list[dict[str, Any]]:
    """``count`` due broadcast rows, each to its own Telegram chat."""
    return [{"idem_key": f"test:{i}", "channel": "telegram", "chat_id": str(5000 + i),
             "artisan_id": None, "kind": "broadcast", "payload": OutMessage(f"message {i}").to_json(),
             "status": outbox_repo.PENDING, "priority": 0, "attempts": 0,
             "next_attempt_at": now, "created_at": now} for i in range(count)]


async def test_two_workers_claiming_at_once_never_claim_the_same_row(tmp_path: Path) -> None:
    """Two processes' senders claim from one queue of 300 rows at the same time, batch after
    batch, until it is empty: every row is claimed, by one of them only."""
    clock = FakeClock()
    async with Harness.open(tmp_path, clock=clock) as one, Harness.open(tmp_path, clock=clock) as two:
        async with one.app.db.transaction() as conn:
            assert await outbox_repo.add_many(conn, _pending_rows(300, clock.now())) == 300
        claimed: dict[str, list[int]] = {"one": [], "two": []}

        async def claim_all(name: str, harness: Harness) -> None:
            sender = harness.app.outbox.senders["telegram"]
            while batch := await sender._claim(clock.now()):
                claimed[name] += [d.row_id for d in batch]
                sender._inflight.clear()  # as when the batch is settled
                await asyncio.sleep(0)

        await asyncio.gather(claim_all("one", one), claim_all("two", two))
        everything = claimed["one"] + claimed["two"]
        assert len(everything) == len(set(everything)) == 300  # none twice, none left
        assert claimed["one"] and claimed["two"]  # both took part
        async with one.app.db.read() as conn:
            assert await outbox_repo.counts(conn) == {outbox_repo.SENDING: 300}


@postgres_only
async def test_a_claim_passes_over_the_rows_another_worker_is_claiming(h: Harness) -> None:
    """Worker A has read its rows and not yet committed; worker B's claim meanwhile neither
    waits for A nor gets A's rows: it takes the next ones (FOR UPDATE SKIP LOCKED)."""
    now = h.clock.now()
    async with h.app.db.transaction() as conn:
        await outbox_repo.add_many(conn, _pending_rows(20, now))
    a, b = Database(h.app.db.url), Database(h.app.db.url)
    read, release = asyncio.Event(), asyncio.Event()

    async def claim(db: Database, holding: bool) -> list[int]:
        async with db.transaction() as conn:
            ids = [row.id for row in await outbox_repo.due(conn, "telegram", now, 10)]
            if holding:
                read.set()
                await release.wait()  # A is still between its read and its commit
            await outbox_repo.mark(conn, ids, status=outbox_repo.SENDING, claimed_at=now)
        return ids

    first = asyncio.create_task(claim(a, True))
    await read.wait()
    second = await asyncio.wait_for(claim(b, False), timeout=30)  # B does not wait for A
    release.set()
    taken = await first
    assert len(taken) == len(second) == 10
    assert not set(taken) & set(second)
    await a.dispose()
    await b.dispose()


async def _statuses_by_row(harness: Harness) -> dict[int, str]:
    async with harness.app.db.read() as conn:
        return {row.id: row.status for row in
                await conn.execute(select(outbox_table.c.id, outbox_table.c.status))}


async def test_a_worker_starting_does_not_take_the_rows_another_worker_is_sending(
    tmp_path: Path,
) -> None:
    """Worker A is sending a batch when worker B starts: B's start-up recovery used to put
    every ``sending`` row back to ``pending`` (so A's messages went out twice). Now only rows
    whose claim has expired go back: A's stay with A, however long A holds them (it renews
    its claims), and the rows of worker C, which died, come back after the lease."""
    clock = FakeClock()
    async with Harness.open(tmp_path, clock=clock) as a, Harness.open(tmp_path, clock=clock) as c:
        lease = a.settings.outbox.claim_lease
        async with a.app.db.transaction() as conn:
            await outbox_repo.add_many(conn, _pending_rows(12, clock.now()))
        sending = await a.app.outbox.senders["telegram"]._claim(clock.now())
        dead = await c.app.outbox.senders["telegram"]._claim(clock.now())  # then C is SIGKILLed
        mine, theirs = {d.row_id for d in sending}, {d.row_id for d in dead}
        assert mine and theirs and not mine & theirs
        dead_since = clock.now()
        async with Harness.open(tmp_path, clock=clock) as b:  # B starts (its recovery runs)
            statuses = await _statuses_by_row(b)
            assert {statuses[i] for i in mine | theirs} == {outbox_repo.SENDING}
            # Three leases pass; A and B run their periodic job, C is dead.
            released: set[int] = set()
            for _ in range(12):
                clock.advance(lease / 4)
                await a.app.outbox.keep_claims()
                await b.app.outbox.keep_claims()
                statuses = await _statuses_by_row(b)
                if not released and statuses[min(theirs)] == outbox_repo.PENDING:
                    released = {i for i in theirs if statuses[i] == outbox_repo.PENDING}
                    back_after = clock.now() - dead_since
                assert {statuses[i] for i in mine} == {outbox_repo.SENDING}  # A's, all along
            assert released == theirs  # C's rows are back in the queue ...
            assert timedelta(seconds=lease) < back_after <= timedelta(seconds=lease * 1.25)
        # ... and A settles its own: each row sent once.
        sender = a.app.outbox.senders["telegram"]
        await sender._finish(sending, await sender._launch(sending))
        assert not sender.held
        await a.drain()
        sent = Counter(m.chat_id for m in a.api.sent)
        assert sorted(sent) == [5000 + i for i in range(12)] and set(sent.values()) == {1}


@contextlib.asynccontextmanager
async def two_workers(tmp_path: Path) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two processes' applications on one database, talking to one Bot API (which enforces
    Telegram's limits for the whole bot: 30 a second, 1 a second per chat), sharing the sending
    as ``hirfa run`` does on PostgreSQL (bot/roles.py); A is started first and sends."""
    clock = FakeClock()
    api = FakeBotAPI(time_fn=lambda: clock.now().timestamp(),
                     wall_time_fn=lambda: clock.now().timestamp())
    api.strict_html_ampersand = False
    api.enforce_limits(global_per_second=30, per_chat_per_second=1)
    settings = make_settings(tmp_path)
    a, b = Harness(settings, api, clock), Harness(settings, api, clock)
    await a._start()
    await b._start()
    try:
        await a.app.share_sending()
        await b.app.share_sending()
        yield a, b
    finally:
        for h in (a, b):
            if h.app.roles is not None:
                await h.app.roles.stop()
            await h._stop()


async def _claimed_by(h: Harness, kind: str) -> Counter[str]:
    async with h.app.db.read() as conn:
        rows = await conn.execute(select(outbox_table.c.claimed_by).where(outbox_table.c.kind == kind))
        return Counter(str(r[0]) for r in rows)


@postgres_only
async def test_two_workers_keep_telegrams_pace_together_through_one_sender(tmp_path: Path) -> None:
    """Both workers run their senders over a queue of three messages for each of 20 chats, and
    B answers a user meanwhile: only the holder of the lease sends, so the Bot API never sees
    two messages to one chat within a second nor 30 within a second (it would answer 429).
    (Without the lease B sends each chat's next message right after A sent one, and the two
    together send 40 a second.) When A stops, B takes the sending over."""
    async with two_workers(tmp_path) as (a, b):
        assert a.app.roles is not None and b.app.roles is not None
        assert a.app.roles.sending == ["telegram"] and b.app.roles.sending == []
        now = a.clock.now()
        rows = [{**row, "idem_key": f"test:{n}:{i}"}
                for n in range(3) for i, row in enumerate(_pending_rows(20, now))]
        async with a.app.db.transaction() as conn:
            assert await outbox_repo.add_many(conn, rows) == 60
        await b.send(ADMIN_USER, "/start")  # B's reply waits in the queue for A ...
        assert not b.api.messages_to(ADMIN_USER)
        for _ in range(100):  # ... and both workers send whatever they may, in turns
            await b.app.outbox.drain()
            await a.app.outbox.drain()
            async with a.app.db.read() as conn:
                if set(await outbox_repo.counts(conn)) == {outbox_repo.SENT}:
                    break
            a.clock.advance(1.0)
        assert a.api.too_many_requests == 0
        sent = Counter(m.chat_id for m in a.api.sent)
        assert {chat: sent[chat] for chat in range(5000, 5020)} == dict.fromkeys(range(5000, 5020), 3)
        assert "Choisissez" in (a.api.last_to(ADMIN_USER).plain_text or "")
        assert await _claimed_by(a, "broadcast") == Counter({a.app.outbox.process: 60})
        assert await _claimed_by(a, "reply") == Counter({a.app.outbox.process: 1})

        # A clean stop gives the lease up: B sends from its next campaign a second later (the
        # Bot API must not count A's last sends and B's first in one second).
        await a.app.roles.stop()
        await b.app.roles.campaign()
        assert b.app.roles.sending == []
        a.clock.advance(QUIET)
        await b.app.roles.campaign()
        assert b.app.roles.sending == ["telegram"]
        await a.send(ADMIN_USER + 1, "/start")
        await b.app.outbox.drain()
        assert "Choisissez" in (b.api.last_to(ADMIN_USER + 1).plain_text or "")
        assert await _claimed_by(b, "reply") == Counter({a.app.outbox.process: 1,
                                                          b.app.outbox.process: 1})


@postgres_only
async def test_the_sender_is_woken_by_the_other_worker_not_by_polling(tmp_path: Path) -> None:
    """A's sender runs with nothing to do and would not look at the queue for an hour; B handles
    an update: its reply reaches the user through A at once (B's NOTIFY wakes A's sender)."""
    async with two_workers(tmp_path) as (a, b):
        stop = asyncio.Event()
        sender = a.app.outbox.senders["telegram"]
        running = asyncio.create_task(sender.run(stop, idle=3600))
        try:
            await asyncio.sleep(0.2)  # A's sender is idle, waiting
            latencies = []
            for user in range(7000, 7010):
                started = time.perf_counter()
                await b.send(user, "/start")
                async with asyncio.timeout(10):
                    while not a.api.messages_to(user):  # noqa: ASYNC110 (the fake has no event)
                        await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - started)
            print(f"reply through the other worker: median {sorted(latencies)[5] * 1000:.1f} ms, "
                  f"max {max(latencies) * 1000:.1f} ms")
        finally:
            stop.set()
            sender.wake()
            await running
        assert await _claimed_by(a, "reply") == Counter({a.app.outbox.process: 10})


async def _store_as_another_worker(h: Harness, update: dict[str, Any]) -> None:
    """What a worker's inbox does when an update arrives (stored before the webhook's 200),
    here for a worker that has not handled it yet: busy, or slower than the other one."""
    message = update["message"]
    async with h.app.db.transaction() as conn:
        await updates_repo.store(conn, "telegram", str(update["update_id"]),
                                 str(message["chat"]["id"]), update, h.clock.now())


async def _replies(h: Harness, user: int) -> list[str]:
    async with h.app.db.read() as conn:
        rows = (await conn.execute(select(outbox_table.c.payload).where(
            outbox_table.c.chat_id == str(user)).order_by(outbox_table.c.id))).scalars().all()
    return [OutMessage.from_json(row).text for row in rows]


async def test_two_workers_handle_one_chats_updates_in_the_order_they_came(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """A user sends /start, then picks French. Worker one received /start and has not handled
    it yet; worker two receives "Français" meanwhile. Two waits for one's update, then goes:
    the replies are written, and the conversation moves, in the order the user wrote."""
    caplog.set_level(logging.INFO, logger="bot.dialogue")
    clock = FakeClock()
    async with Harness.open(tmp_path, clock=clock) as one, Harness.open(tmp_path, clock=clock) as two:
        assert one.app.telegram is not None and two.app.telegram is not None
        user = 7100
        start = factories.command_update(user, "start", language_code="fr")
        french = factories.text_update(user, "Français", language_code="fr")
        await _store_as_another_worker(one, start)
        second = asyncio.create_task(two.app.telegram.receive([french]))
        deadline = time.monotonic() + 30
        while "waits for an earlier update of its chat" not in caplog.text:
            assert await _replies(one, user) == [], "answered out of turn"
            assert time.monotonic() < deadline, "worker two neither waited nor answered"
            await asyncio.sleep(0.005)
        assert await _replies(one, user) == []
        await one.app.telegram.inbox.resume()  # worker one gets to its update
        await one.app.telegram.inbox.idle()
        await second
        await two.app.telegram.inbox.idle()
        replies = await _replies(one, user)
        assert len(replies) == 2, replies  # each update answered once, by one worker or the other
        assert "Choisissez" in replies[0] and "Êtes-vous d'accord" in replies[1], replies
        async with one.app.db.read() as conn:
            state = (await conn.execute(select(conversations.c.state).where(
                conversations.c.user_id == str(user)))).scalar_one()
        assert state == "reg.consent"
        assert "waited" in caplog.text


async def test_an_update_stuck_for_longer_than_the_patience_holds_no_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """An earlier update that nobody handles (its worker died, it failed) holds its chat's next
    update for a few seconds at most; an older one holds nothing. It is handled at the next
    start, out of turn but not lost."""
    caplog.set_level(logging.INFO, logger="bot.dialogue")
    async with Harness.open(tmp_path) as h:
        assert h.app.telegram is not None
        user = 7101
        await _store_as_another_worker(h, factories.text_update(user, "bonjour", language_code="fr"))
        h.clock.advance(TURN_PATIENCE + timedelta(seconds=1))
        await h.feed(factories.command_update(user, "start", language_code="fr"))
        assert "Choisissez" in h.last_text(user)
        assert "waits for an earlier update" not in caplog.text
        async with h.app.db.read() as conn:
            assert len(await updates_repo.waiting(conn, "telegram")) == 1  # kept for the next start
