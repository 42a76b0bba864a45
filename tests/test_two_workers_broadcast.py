"""Issue 17's "done when", end to end: two ``hirfa run`` worker processes on one PostgreSQL
database, each with its own HTTP port (Telegram by webhook, WhatsApp), against the fake Bot API
and the fake Graph API. One artisan registers on Telegram and one on WhatsApp through the
conversation, each step reaching whichever worker the "load balancer" picks; with 1,998 more
registered artisans, staff send a broadcast from Telegram; a worker that is sending it is
SIGKILLed half-way. Everyone gets the broadcast: nobody is lost, and a second copy only for a
message the dead worker had in flight (claimed and maybe taken by the platform, not yet noted
sent), which the other worker sends again when that claim's lease has run out.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storage.database import Database
from storage.schema import artisans, identities, outbox
from tests import databases
from tests.databases import postgres_only
from tests.fakes.graph import APP_SECRET, PHONE_ID, TOKEN, VERIFY_TOKEN, FakeGraphAPI, FakeGraphServer
from tests.fakes.telegram import FakeBotAPI, FakeBotAPIServer
from tests.recipients import Recipients, seed_recipients
from tests.test_process import User, register_fatima, start_bot, wait_for
from tests.test_process_kill import free_port, kill, stop

pytestmark = [pytest.mark.slow, postgres_only]

SEEDED = 1998
ADMIN = 9000
SECRET = "two-workers_1"
IN_FLIGHT = 8  # HIRFA_OUTBOX__MAX_IN_FLIGHT: rows one sender of one channel holds at most
LEASE = 5  # HIRFA_OUTBOX__CLAIM_LEASE: a dead worker's claims go back to the queue after this
# (long enough for the test to count them, still `sending`, right after the kill)
TEXT = "Salon national de l'artisanat : inscriptions ouvertes jusqu'au 15 décembre"
AMINA = "212677000077"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeBotAPIServer, FakeGraphServer]]:
    graph = FakeGraphAPI(app_secret=APP_SECRET)
    with FakeBotAPIServer(FakeBotAPI(), max_long_poll=0.2) as telegram, FakeGraphServer(graph) as meta:
        yield telegram, meta


class Worker:
    """One ``hirfa run`` process with its own port: the Telegram webhook, WhatsApp's, /healthz."""

    def __init__(self, telegram: FakeBotAPIServer, meta: FakeGraphServer, url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = start_bot(
            telegram, url,
            HIRFA_HTTP__PORT=str(self.port),
            HIRFA_TELEGRAM__WEBHOOK_URL="https://hirfa.example.org/telegram/hook",
            HIRFA_TELEGRAM__WEBHOOK_SECRET=SECRET,
            HIRFA_TELEGRAM__ADMIN_IDS=f"[{ADMIN}]",
            HIRFA_WHATSAPP__PHONE_ID=PHONE_ID, HIRFA_WHATSAPP__TOKEN=TOKEN,
            HIRFA_WHATSAPP__APP_SECRET=APP_SECRET, HIRFA_WHATSAPP__VERIFY_TOKEN=VERIFY_TOKEN,
            HIRFA_WHATSAPP__API_URL=meta.base_url,
            # The fakes enforce no rate limit here: a pace far above Telegram's and Meta's lets
            # a thousand messages go in seconds (the real pace is bench/broadcast.py --workers 2).
            HIRFA_OUTBOX__TELEGRAM_RATE="1000", HIRFA_WHATSAPP__RATE_PER_SECOND="1000",
            HIRFA_OUTBOX__MAX_IN_FLIGHT=str(IN_FLIGHT), HIRFA_OUTBOX__CLAIM_LEASE=str(LEASE),
        )
        self.client = httpx.Client(base_url=self.base, timeout=10)

    def health(self) -> dict[str, Any] | None:
        try:
            answer = self.client.get("/healthz")
        except httpx.TransportError:
            return None
        return answer.json() if answer.status_code == 200 else None

    def up(self) -> dict[str, Any]:
        wait_for(lambda: self.process.poll() is None and self.health(), timeout=60)
        health = self.health()
        assert health is not None
        return health

    def telegram(self, update: dict[str, Any]) -> None:
        answer = self.client.post("/telegram/hook", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status_code == 200, answer.text

    def whatsapp(self, graph: FakeGraphAPI, post: dict[str, Any]) -> None:
        body = json.dumps(post).encode()
        answer = self.client.post("/whatsapp/webhook", content=body, headers={
            "X-Hub-Signature-256": graph.sign(body), "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            stop(self.process)


class WhatsAppUser:
    """Someone on WhatsApp who reads what came and taps what it offers; each post goes to the
    next worker in turn."""

    def __init__(self, graph: FakeGraphAPI, number: str, post: Callable[[dict[str, Any]], None]) -> None:
        self.graph, self.number, self.post = graph, number, post

    def _then(self, post: dict[str, Any], expect: str) -> None:
        before = len(self.graph.to(self.number))
        self.post(post)
        wait_for(lambda: any(expect in m.text or any(expect in title for _, title in m.buttons)
                             for m in self.graph.to(self.number)[before:]))

    def send(self, text: str, expect: str) -> None:
        self._then(self.graph.text(self.number, text), expect)

    def tap(self, choice: str, expect: str) -> None:
        self._then(self.graph.tap(self.number, choice), expect)


async def _seed(url: str) -> Recipients:
    db = Database(url)
    try:
        return await seed_recipients(db, SEEDED, datetime.now(UTC), whatsapp_every=10)
    finally:
        await db.dispose()


async def _broadcast_rows(url: str, status: str) -> Counter[str]:
    """The broadcast's deliveries in ``status``, by channel."""
    db = Database(url)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                select(outbox.c.channel, func.count())
                .where(outbox.c.kind == "broadcast", outbox.c.status == status)
                .group_by(outbox.c.channel))
            return Counter({str(channel): int(n) for channel, n in rows})
    finally:
        await db.dispose()


async def _registered(url: str) -> list[tuple[str, str, str]]:
    db = Database(url)
    try:
        async with db.read() as conn:
            rows = await conn.execute(
                select(identities.c.channel, artisans.c.full_name, artisans.c.phone)
                .join(artisans, artisans.c.id == identities.c.artisan_id)
                .where(identities.c.external_id.in_(["11", AMINA])).order_by(identities.c.channel))
            return [(str(c), str(n), str(p)) for c, n, p in rows]
    finally:
        await db.dispose()


def test_two_workers_deliver_a_broadcast_once_to_everyone_when_one_is_killed(
    fakes: tuple[FakeBotAPIServer, FakeGraphServer], tmp_path: Path,
) -> None:
    telegram, meta = fakes
    api, graph = telegram.api, meta.api
    url = databases.url_for(tmp_path)
    seeded = asyncio.run(_seed(url))
    for number in seeded.whatsapp:  # they wrote to us lately: inside WhatsApp's 24-hour window
        graph.last_inbound[number] = datetime.now(UTC)
    workers = [Worker(telegram, meta, url), Worker(telegram, meta, url)]
    try:
        roles = [w.up() for w in workers]
        assert {r["database"]["backend"] for r in roles} == {"postgresql"}
        turns = itertools.cycle(workers)  # a load balancer: each post to the next worker

        fatima = register_fatima(api, post=lambda update: next(turns).telegram(dict(update)))
        amina = WhatsAppUser(graph, AMINA, lambda post: next(turns).whatsapp(graph, post))
        amina.send("salam", expect="Français")
        amina.tap("lang:fr", expect="Vos données")
        amina.tap("consent:yes", expect="nom complet")
        amina.send("Amina Benali", expect="région")
        amina.tap("region:MS", expect="métier")
        amina.tap("craft:zellige", expect="CNIE")
        amina.tap("cnie:skip", expect="Vérifiez")
        amina.tap("reg:confirm", expect="Menu principal")
        assert asyncio.run(_registered(url)) == [("telegram", "Fatima Zahra", "+212661000011"),
                                                 ("whatsapp", "Amina Benali", "+212677000077")]

        # The worker killed is one that sends on Telegram, preferably not the one running the
        # clock (the broadcast's progress and report would wait for the clock's failover).
        roles = [w.up()["role"] for w in workers]
        sending = [(r["clock"], n) for n, r in enumerate(roles) if "telegram" in r["channels"]]
        assert sending, roles
        target = workers[min(sending)[1]]
        survivor = next(w for w in workers if w is not target)
        staff = User(api, ADMIN, "fr", post=lambda update: target.telegram(dict(update)))
        staff.type("/broadcast", expect="Dans quelle langue")
        staff.press("Français", expect="Envoyez le texte")
        staff.type(TEXT, expect="Diffusion n°")
        staff.press("👁 Aperçu", expect="Prêt à envoyer")
        total = len(seeded) + 2
        assert f"à{total}artisans" in re.sub(r"\s", "", api.last_to(ADMIN).plain_text or "")

        telegram_chats = {*seeded.telegram, fatima.id}
        whatsapp_chats = {*seeded.whatsapp, AMINA}

        def telegram_copies() -> Counter[int]:
            with api.lock:
                return Counter(m.chat_id for m in api.sent
                               if m.chat_id in telegram_chats and TEXT in (m.plain_text or ""))

        def whatsapp_copies() -> Counter[str]:
            return Counter(m.to for m in list(graph.sent) if m.to in whatsapp_chats and TEXT in m.text)

        def delivered() -> int:
            return len(telegram_copies()) + len(whatsapp_copies())

        staff.press("✅ Envoyer maintenant", expect="part vers")
        wait_for(lambda: delivered() >= total // 3, timeout=180)
        kill(target.process)
        assert delivered() < total  # the kill was mid-broadcast
        in_flight = asyncio.run(_broadcast_rows(url, "sending"))  # the dead worker's and the other's

        # Until nothing is left to send: the dead worker's claims came back after the lease and
        # went out again (a copy may already have been delivered: that is the duplicate).
        wait_for(lambda: not asyncio.run(_broadcast_rows(url, "pending"))
                 and not asyncio.run(_broadcast_rows(url, "sending")), timeout=180, every=0.5)
        tg, wa = telegram_copies(), whatsapp_copies()
        assert set(tg) == telegram_chats and set(wa) == whatsapp_chats  # nobody lost
        repeated = {"telegram": sum(tg.values()) - len(tg), "whatsapp": sum(wa.values()) - len(wa)}
        # A second copy only of what the dead worker had claimed: at most one sender's in-flight
        # rows per channel, and no more than were claimed and unsettled when it died.
        for channel in ("telegram", "whatsapp"):
            assert repeated[channel] <= min(IN_FLIGHT, in_flight[channel]), (repeated, in_flight)

        # The author's progress message ends as the report: everyone sent, nothing failed.
        def reported() -> str:
            return next((re.sub(r"\s", "", m.plain_text or "") for m in api.messages_to(ADMIN)
                         if "Rapport" in (m.plain_text or "")), "")

        wait_for(lambda: "(terminée)" in reported(), timeout=120)
        assert f"Envoyés:{total}" in reported() and "Échecs:0" in reported()
        assert survivor.process.poll() is None  # it went on alone
    finally:
        for worker in workers:
            worker.close()
    assert survivor.process.returncode == 0
