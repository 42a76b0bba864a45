"""SIGKILL ``hirfa run`` where the first version lost messages, restart it, and check that every
message is answered exactly once: in the middle of a reply of two messages, within a burst of
200 updates (polling and webhook), and right after a WhatsApp post was answered 200.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.fakes.graph import APP_SECRET, PHONE_ID, TOKEN, VERIFY_TOKEN, FakeGraphAPI, FakeGraphServer
from tests.fakes.telegram import FakeBotAPI, FakeBotAPIServer
from tests.test_process import User, register_fatima, start_bot, wait_for

pytestmark = pytest.mark.slow
SECRET = "s3cret-Token_1"
BURST = 200
IN_FLIGHT = 8  # concurrent sends at most (HIRFA_OUTBOX__MAX_IN_FLIGHT, concurrent updates)


@pytest.fixture
def server() -> Iterator[FakeBotAPIServer]:
    with FakeBotAPIServer(FakeBotAPI(), max_long_poll=0.2) as srv:
        yield srv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kill(bot: subprocess.Popen[bytes]) -> None:
    bot.send_signal(signal.SIGKILL)
    bot.wait(timeout=10)
    if bot.stdout:
        bot.stdout.close()


def stop(bot: subprocess.Popen[bytes]) -> None:
    bot.send_signal(signal.SIGTERM)
    try:
        bot.wait(timeout=20)
    except subprocess.TimeoutExpired:
        bot.kill()
    if bot.stdout:
        bot.stdout.close()


def answered(api: FakeBotAPI, users: range) -> Counter[int]:
    return Counter({u: len(api.messages_to(u)) for u in users})


def assert_once(counts: Counter[int] | Counter[str]) -> None:
    """Everyone answered; a second copy only for a reply the platform took while the process
    died, before it could note it sent (at most the sends in flight: 8)."""
    assert all(counts.values()), [u for u, n in counts.items() if not n]
    repeated = sum(n - 1 for n in counts.values())
    assert repeated <= IN_FLIGHT, {u: n for u, n in counts.items() if n > 1}


def test_sigkill_between_the_two_messages_of_a_reply(server: FakeBotAPIServer, tmp_path: Path) -> None:
    """A registered artisan asks for help: the help text and the menu come back, one second
    apart (Telegram's per-chat pace). Killed in between, three times: after each restart the
    menu arrives, and the help text is never sent twice."""
    db = tmp_path / "hirfa.db"
    api = server.api
    bot = start_bot(server, db)
    try:
        fr = register_fatima(api)
        time.sleep(1.2)
        for delay in (0.02, 0.05, 0.1):
            before = len(api.messages_to(11))
            fr.push(factories.command_update(11, "help", language_code="fr"))
            wait_for(lambda b=before: len(api.messages_to(11)) > b)  # type: ignore[misc]
            time.sleep(delay)
            kill(bot)
            bot = start_bot(server, db)
            wait_for(lambda b=before: len(api.messages_to(11)) >= b + 2)  # type: ignore[misc]
            time.sleep(1.5)  # anything sent twice would show by now
            new = [m.plain_text or "" for m in api.messages_to(11)[before:]]
            assert len(new) == 2, new
            assert "assistant" in new[0] and "Menu principal" in new[1]
    finally:
        stop(bot)


def test_sigkill_within_a_burst_of_200_polled_updates(server: FakeBotAPIServer, tmp_path: Path) -> None:
    db = tmp_path / "hirfa.db"
    api = server.api
    bot = start_bot(server, db)
    users = range(20_000, 20_000 + BURST)
    try:
        User(api, 7, "fr").type("/start", expect="Choisissez")  # running and polling
        for uid in users:
            api.push_update(factories.command_update(uid, "start", language_code="fr"))
        time.sleep(1.0)
        kill(bot)
        bot = start_bot(server, db)
        wait_for(lambda: all(answered(api, users).values()), timeout=60)
        time.sleep(1.0)
        assert_once(answered(api, users))
    finally:
        stop(bot)


def test_sigkill_within_a_burst_of_200_webhook_updates(server: FakeBotAPIServer, tmp_path: Path) -> None:
    db = tmp_path / "hirfa.db"
    api = server.api
    port = free_port()
    extra = {"HIRFA_TELEGRAM__WEBHOOK_URL": "https://hirfa.example.org/telegram/hook",
             "HIRFA_TELEGRAM__WEBHOOK_SECRET": SECRET, "HIRFA_HTTP__PORT": str(port)}
    url = f"http://127.0.0.1:{port}/telegram/hook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    users = range(30_000, 30_000 + BURST)
    updates = [factories.command_update(uid, "start", language_code="fr") for uid in users]
    acknowledged: set[int] = set()

    def post_all(client: httpx.Client, deadline: float) -> None:
        """Post what was not acknowledged yet (Telegram redelivers exactly that)."""
        for update in updates:
            if update["update_id"] in acknowledged or time.monotonic() > deadline:
                continue
            try:
                if client.post(url, json=update, headers=headers).status_code == 200:
                    acknowledged.add(update["update_id"])
            except httpx.TransportError:
                return

    bot = start_bot(server, db, **extra)
    try:
        with httpx.Client(timeout=5) as client:
            wait_for(lambda: _up(client, port), timeout=60)
            start = time.monotonic()
            post_all(client, start + 1.0)
            time.sleep(max(0.0, start + 1.0 - time.monotonic()))
            kill(bot)
            assert acknowledged, "nothing was acknowledged before the kill"
            bot = start_bot(server, db, **extra)
            wait_for(lambda: _up(client, port), timeout=60)
            post_all(client, time.monotonic() + 60)
        assert len(acknowledged) == BURST
        wait_for(lambda: all(answered(api, users).values()), timeout=60)
        time.sleep(1.0)
        assert_once(answered(api, users))
    finally:
        stop(bot)


def _up(client: httpx.Client, port: int) -> bool:
    try:
        return client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def test_sigkill_right_after_a_whatsapp_200(server: FakeBotAPIServer, tmp_path: Path) -> None:
    db = tmp_path / "hirfa.db"
    port = free_port()
    graph = FakeGraphAPI(app_secret=APP_SECRET)
    with FakeGraphServer(graph) as meta:
        extra = {"HIRFA_HTTP__PORT": str(port), "HIRFA_WHATSAPP__PHONE_ID": PHONE_ID,
                 "HIRFA_WHATSAPP__TOKEN": TOKEN, "HIRFA_WHATSAPP__APP_SECRET": APP_SECRET,
                 "HIRFA_WHATSAPP__VERIFY_TOKEN": VERIFY_TOKEN, "HIRFA_WHATSAPP__API_URL": meta.base_url}
        numbers = [f"2126{n:08d}" for n in range(1, 21)]
        bot = start_bot(server, db, **extra)
        try:
            with httpx.Client(timeout=5) as client:
                wait_for(lambda: _up(client, port), timeout=60)
                for number in numbers:
                    body = json.dumps(graph.text(number, "salam")).encode()
                    answer = client.post(f"http://127.0.0.1:{port}/whatsapp/webhook", content=body,
                                         headers={"X-Hub-Signature-256": graph.sign(body),
                                                  "Content-Type": "application/json"})
                    assert answer.status_code == 200
                kill(bot)  # at once: most messages were acknowledged, not yet answered
                bot = start_bot(server, db, **extra)
                wait_for(lambda: all(graph.to(n) for n in numbers), timeout=60)
                time.sleep(1.0)
            assert_once(Counter({n: len(graph.to(n)) for n in numbers}))
        finally:
            stop(bot)
