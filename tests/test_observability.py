"""``/healthz`` says whether the database answers and what this process does; ``/metrics``
gives a chamber's IT the figures they watch (Prometheus text format)."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import FakeClock
from bot.i18n import Msg
from bot.messages import Reply
from bot.scheduler import Scheduler
from storage import artisans as artisan_repo
from storage.database import Database
from tests.harness import Harness

USERS = [501, 502, 503]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


async def test_healthz_reports_the_database_and_the_role(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, FakeClock()) as h:
        h.app.scheduler = Scheduler(h.app.services, holder="worker-1")
        await h.app.scheduler.campaign()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app._http_server().app()),
                                   base_url="http://test")
        async with client:
            health = await client.get("/healthz")
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "ok"
            assert body["database"]["ok"] is True
            assert body["database"]["backend"] == h.app.db.backend
            assert "0016" in body["database"]["revisions"]
            # one process alone: it keeps the clock and sends for its channel; no supervisor
            assert body["role"] == {"channels": ["telegram"], "clock": True, "process": "worker-1",
                                    "sending": ["telegram"], "worker": None}


async def test_healthz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, FakeClock()) as h:
        broken = h.app.db.url.replace("hirfa", "missing")
        if h.app.db.backend == "sqlite":
            (tmp_path / "a-folder.db").mkdir()  # a folder where the file should be: unopenable
            broken = f"sqlite+aiosqlite:///{tmp_path / 'a-folder.db'}"
        real = h.app.db
        h.app.db = Database(broken)
        try:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app._http_server().app()),
                                       base_url="http://test")
            async with client:
                health = await client.get("/healthz")
        finally:
            await h.app.db.dispose()
            h.app.db = real
        assert health.status_code == 503
        assert health.json()["database"]["ok"] is False


async def test_metrics_count_updates_sends_429s_and_the_queue(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, FakeClock(), outbox={"max_in_flight": 1}) as h:
        for user in USERS:
            await h.register(user, "fr")
        h.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
        h.api.block(USERS[0])
        async with h.app.db.transaction() as conn:
            for user in USERS:
                artisan = await artisan_repo.by_identity(conn, "telegram", str(user))
                assert artisan is not None
                await h.app.outbox.notify(conn, artisan.id, Reply(Msg("privacy.resumed")),
                                          kind="test", key=f"m:{user}")
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app._http_server().app()),
                                   base_url="http://test")
        async with client:
            queued = samples((await client.get("/metrics")).text)
            assert queued[("hirfa_outbox_messages", (("channel", "telegram"), ("status", "pending")))] == 3
            await h.deliver_all()
            response = await client.get("/metrics")
        assert response.headers["content-type"].startswith("text/plain")
        found = samples(response.text)
    telegram = (("channel", "telegram"),)
    assert found[("hirfa_updates_total", telegram)] == 9 * len(USERS)  # each registration: 9 updates
    assert found[("hirfa_reply_seconds_count", telegram)] == 9 * len(USERS)
    # Direct replies are outbox rows sent through the same transport (issue 11): counted too.
    replies = queued[("hirfa_sends_total", (("channel", "telegram"), ("outcome", "sent")))]
    assert replies == queued[("hirfa_outbox_messages", (("channel", "telegram"), ("status", "sent")))] > 0
    assert found[("hirfa_sends_total", (("channel", "telegram"), ("outcome", "sent")))] == replies + 2
    assert found[("hirfa_sends_total", (("channel", "telegram"), ("outcome", "blocked")))] == 1
    assert found[("hirfa_sends_total", (("channel", "telegram"), ("outcome", "rate_limited")))] == 1
    assert found[("hirfa_rate_limited_total", telegram)] == 1
    assert found[("hirfa_outbox_messages", (("channel", "telegram"), ("status", "pending")))] == 0
    assert found[("hirfa_outbox_messages", (("channel", "telegram"), ("status", "sent")))] == replies + 2
    assert found[("hirfa_outbox_messages", (("channel", "telegram"), ("status", "blocked")))] == 1
