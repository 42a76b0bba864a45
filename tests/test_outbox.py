"""The outbox delivers every message once, at Telegram's pace, through 429s, 403s and crashes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.i18n import Msg
from bot.messages import Reply
from storage.schema import identities, outbox
from tests.harness import Harness

USERS = list(range(1000, 1040))


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """One message in flight at a time: with a fake clock, overlapping sends would all reach the
    fake at the same fake instant. (The real-time, overlapping path is what bench/broadcast.py
    measures against a rate-limited fake: 0 429s.)"""
    async with Harness.open(tmp_path, outbox={"max_in_flight": 1}) as harness:
        yield harness


async def notify_all(h: Harness, key: str, users: list[int]) -> None:
    async with h.app.db.transaction() as conn:
        rows = (await conn.execute(
            select(identities.c.artisan_id, identities.c.external_id)
        )).all()
        ids = {int(ext): aid for aid, ext in rows}
        for user in users:
            await h.app.outbox.notify(conn, ids[user], Reply(Msg("privacy.resumed")),
                                      kind="test", key=f"{key}:{user}")


async def statuses(h: Harness) -> Counter[str]:
    async with h.app.db.read() as conn:
        stmt = select(outbox.c.status).where(outbox.c.kind != "reply")  # replies: their own tests
        return Counter((await conn.execute(stmt)).scalars().all())


async def test_each_reachable_chat_gets_exactly_one_message_under_429_and_403(h: Harness) -> None:
    for user in USERS:
        await h.register(user, "fr")
    h.api.sent.clear()
    blocked = USERS[:5]
    for user in blocked:
        h.api.block(user)
    h.api.enforce_limits(global_per_second=30, per_chat_per_second=1)
    h.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, times=3)
    h.api.fail_network_next(2, method="sendMessage")
    await notify_all(h, "t1", USERS)
    await notify_all(h, "t1", USERS)  # the same keys again: nothing new is queued
    await h.deliver_all()
    received = Counter(m.chat_id for m in h.api.sent if "de nouveau activées" in (m.text or ""))
    assert set(received) == set(USERS) - set(blocked)
    assert set(received.values()) == {1}
    assert await statuses(h) == Counter({"sent": len(USERS) - 5, "blocked": 5})
    async with h.app.db.read() as conn:
        flagged = (await conn.execute(
            select(identities.c.external_id).where(identities.c.blocked.is_(True))
        )).scalars().all()
    assert sorted(int(x) for x in flagged) == blocked
    assert h.api.too_many_requests <= 3  # only injected ones: the pacing itself never hits 429


async def test_pacing_never_exceeds_telegram_limits(h: Harness) -> None:
    for user in USERS:
        await h.register(user, "en")
    h.api.sent.clear()
    h.api.enforce_limits(global_per_second=30, per_chat_per_second=1)
    start = h.clock.now()
    await notify_all(h, "t2", USERS)
    await notify_all(h, "t3", USERS)  # two messages per chat: the second must wait a second
    await h.deliver_all()
    assert h.api.too_many_requests == 0
    assert len(h.api.sent) == 2 * len(USERS)
    elapsed = (h.clock.now() - start).total_seconds()
    assert elapsed >= 2 * len(USERS) / 30  # never faster than 30/s


async def test_messages_in_flight_at_a_crash_are_resent_and_none_is_lost(h: Harness) -> None:
    for user in USERS[:10]:
        await h.register(user, "ar")
    h.api.sent.clear()
    await notify_all(h, "t4", USERS[:10])
    sender = h.app.outbox.senders["telegram"]
    claimed = await sender._claim(h.clock.now())  # claimed, then the process dies
    assert claimed
    await h.restart()
    # Not yet: the rows may belong to another live process until their claim expires.
    assert await statuses(h) == Counter({"pending": 10 - len(claimed), "sending": len(claimed)})
    await h.claims_expire()
    assert await statuses(h) == Counter({"pending": 10})
    await h.deliver_all()
    assert sorted(m.chat_id for m in h.api.sent) == sorted(USERS[:10])


async def test_a_refused_message_fails_without_retrying_forever(h: Harness) -> None:
    await h.register(USERS[0], "fr")
    h.api.fail_next("sendMessage", 400, "Bad Request: message is too long", times=1)
    await notify_all(h, "t5", USERS[:1])
    await h.deliver_all()
    async with h.app.db.read() as conn:
        row = (await conn.execute(select(outbox.c.status, outbox.c.last_error)
                                .where(outbox.c.kind != "reply"))).one()
    assert row.status == "failed" and "too long" in row.last_error.lower()


async def test_network_errors_give_up_after_max_attempts(h: Harness) -> None:
    await h.register(USERS[0], "fr")
    h.api.fail_network_next(100, method="sendMessage")
    await notify_all(h, "t6", USERS[:1])
    for _ in range(10):
        await h.drain()
        h.clock.advance(600)
    async with h.app.db.read() as conn:
        row = (await conn.execute(select(outbox.c.status, outbox.c.attempts)
                                .where(outbox.c.kind != "reply"))).one()
    assert row.status == "failed" and row.attempts == h.settings.outbox.max_attempts


async def test_erasing_an_artisan_drops_what_was_waiting_for_them(h: Harness) -> None:
    await h.register(USERS[0], "en")
    await notify_all(h, "t7", USERS[:1])
    await h.send(USERS[0], "/delete")
    await h.press(USERS[0], "del:yes")
    h.api.sent.clear()
    await h.deliver_all()
    assert h.api.sent == []
    async with h.app.db.read() as conn:
        row = (await conn.execute(select(outbox.c.status, outbox.c.payload)
                                .where(outbox.c.kind != "reply"))).one()
    assert row.status == "skipped" and row.payload == {}


async def test_a_chat_busy_with_a_direct_reply_waits_without_holding_up_the_others(
    h: Harness,
) -> None:
    """A staff member's chat (progress edits, replies) must not stall a broadcast: a chat with
    a reply waiting for its 1-second spacing is not ready, the outbox sends to everyone else
    meanwhile, and the busy chat gets its message afterwards, once, counted as one attempt.

    (With the fake clock the waiting reply is done before the claim, so this covers the claim;
    the rarer race, a chat turning busy between claim and send, shows in bench/broadcast.py.)"""
    for user in USERS[:6]:
        await h.register(user, "fr")
    h.api.sent.clear()
    busy = str(USERS[0])
    pacer = h.app.outbox.senders["telegram"].pacer
    await pacer.acquire(busy)  # a reply to that chat just went out
    waiting_reply = asyncio.create_task(pacer.acquire(busy))  # and another waits for its turn
    await asyncio.sleep(0)
    assert not pacer.chat_ready(busy) and pacer.chat_ready(str(USERS[1]))
    await notify_all(h, "t5", USERS[:6])
    await h.app.outbox.drain()
    first_round = [m.chat_id for m in h.api.sent]
    assert sorted(first_round) == USERS[1:6]
    await waiting_reply
    await h.deliver_all()
    assert Counter(m.chat_id for m in h.api.sent) == Counter({u: 1 for u in USERS[:6]})
    async with h.app.db.read() as conn:
        attempts = (await conn.execute(select(outbox.c.attempts).where(
            outbox.c.chat_id == busy, outbox.c.idem_key.startswith("t5")))).scalar_one()
    assert attempts == 1


def test_only_storage_outbox_names_the_outbox_table() -> None:
    """Issue 13: every statement on ``outbox`` lives in ``storage/outbox.py`` (the schema and
    the migrations define it; tests may read it). A second writer would make a PostgreSQL
    claim (``FOR UPDATE SKIP LOCKED``) more than a one-file change."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    owners = {root / "storage" / "outbox.py", root / "storage" / "schema.py"}
    offenders = []
    for folder in ("bot", "handlers", "storage", "bench"):
        for path in (root / folder).rglob("*.py"):
            if path in owners or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module == "storage.schema" and any(
                    alias.name == "outbox" for alias in node.names
                ):
                    offenders.append(str(path.relative_to(root)))
    assert offenders == []
