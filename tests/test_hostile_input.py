"""Issue 12 items 6, 7 and 9: Unicode digits and huge ids, hardened webhooks, wa_ids that the
phone library rejects. Each answer is clear and in the user's language; no ERROR is logged."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.http import HttpServer, RequestGuard, telegram_webhook, too_deep
from bot.numbers import ID_MAX, parse_id, parse_int
from bot.settings import HttpSettings
from storage.updates import inbound_updates
from tests import factories
from tests.harness import ADMIN, Harness
from tests.sessions_support import make_session
from tests.whatsapp_harness import WhatsAppHarness

USER = 4242
SECRET = "s3cret-Token_1"
WEBHOOK: dict[str, Any] = {
    "telegram": {"webhook_url": "https://hirfa.example.org/telegram/hook", "webhook_secret": SECRET}}


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# -- item 6: one number parser ------------------------------------------------------------------

def test_number_parser_accepts_the_digits_people_type_and_nothing_else() -> None:
    assert parse_int("42") == 42 and parse_int("٤٢") == 42 and parse_int("۴۲") == 42
    assert parse_int(" 7 ") == 7
    for bad in ("²", "4²", "१२", "1e3", "-1", "", "1 2", "٤.٢"):
        assert parse_int(bad) is None, bad
    assert parse_id("0") is None and parse_id(str(ID_MAX)) == ID_MAX
    assert parse_id("9" * 30) is None and parse_id(str(ID_MAX + 1)) is None
    assert parse_int("501", 1, 500) is None and parse_int("500", 1, 500) == 500


@pytest.mark.parametrize("forged", [
    "s:open:²", "s:open:" + "9" * 30, "ann:²", "ann:" + "9" * 30, "s:yes:²:1", "s:no:1:" + "9" * 30,
    "s:map:²", "sa:att:²:0", "sa:mark:" + "9" * 30 + ":p", "cert:show:²", "sa:open:" + "9" * 30,
])
async def test_forged_buttons_with_odd_digits_get_a_clear_answer(
    h: Harness, caplog: pytest.LogCaptureFixture, forged: str
) -> None:
    await h.register(USER, "fr")
    await make_session(h)
    caplog.set_level(logging.WARNING)
    await h.press_data(USER, forged)
    assert errors(caplog) == []
    assert "Un problème" not in h.last_text(USER)  # not the apology of a crash


async def test_staff_typed_capacity_superscript_is_asked_again(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.errors import InvalidInput
    from handlers.sessions.parsing import parse_capacity

    with pytest.raises(InvalidInput):
        parse_capacity("²")
    assert parse_capacity("٢٠") == 20
    with pytest.raises(InvalidInput):
        parse_capacity("9" * 30)


# -- item 7: the webhook ---------------------------------------------------------------------

async def _client(h: Harness) -> tuple[httpx.AsyncClient, object]:
    telegram = h.app.telegram
    assert telegram is not None
    server = HttpServer(h.settings.http)
    server.add("/telegram/hook", telegram_webhook(telegram), ["POST"])
    transport = httpx.ASGITransport(app=server.app())
    return httpx.AsyncClient(transport=transport, base_url="http://test"), telegram


async def test_telegram_webhook_answers_400_to_malformed_updates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness.open(tmp_path, **WEBHOOK) as h:
        client, telegram = await _client(h)
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        nested = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        callback = factories.callback_update(USER, "m:profile")
        del callback["callback_query"]["from"]
        bodies = [
            nested,
            json.dumps({"update_id": 2, "message": "hello"}).encode(),
            json.dumps({"update_id": 3, "message": [1, 2]}).encode(),
            json.dumps(callback).encode(),
            json.dumps({"update_id": "x"}).encode(),
            b"[" * 50 + b"]" * 50,
        ]
        caplog.set_level(logging.WARNING)
        async with client:
            for body in bodies:
                response = await client.post("/telegram/hook", content=body, headers=headers)
                assert response.status_code == 400, body[:60]
            start = factories.command_update(USER, "start")
            good = await client.post("/telegram/hook", json=start, headers=headers)
            assert good.status_code == 200
        async with h.app.db.read() as conn:  # only the good one was stored (to be answered)
            stored = (await conn.execute(select(inbound_updates.c.external_id))).scalars().all()
        assert stored == [str(start["update_id"])]
        assert errors(caplog) == [] and not any(r.exc_info for r in caplog.records)


async def test_bodies_over_the_limit_are_refused_declared_or_streamed() -> None:
    seen: list[bytes] = []

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        message = await receive()  # type: ignore[operator]
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    guard = RequestGuard(app, max_body=1000)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://t") as client:
        declared = await client.post("/", content=b"x" * 1001)
        assert declared.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(20):
                yield b"y" * 100

        streamed = await client.post("/", content=chunks())  # no Content-Length: chunked
        assert streamed.status_code == 413
        small = await client.post("/", content=b"z" * 10)
        assert small.status_code == 200 and seen == [b"z" * 10]


async def test_body_sent_too_slowly_gets_408() -> None:
    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        raise AssertionError("the route must not run")

    async def never() -> dict:  # type: ignore[type-arg]
        await asyncio.Event().wait()
        return {}

    sent: list[dict] = []  # type: ignore[type-arg]

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    guard = RequestGuard(app, timeout=0.05)  # type: ignore[arg-type]
    scope = {"type": "http", "path": "/", "headers": []}
    await guard(scope, never, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 408


def test_json_depth_is_measured_without_parsing() -> None:
    assert not too_deep(b'{"a": [1, {"b": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]}')
    assert too_deep(b"[" * 40 + b"]" * 40)
    assert not too_deep(b'{"text": "\\" [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')


async def test_half_sent_headers_are_disconnected(unused_tcp_port: int) -> None:
    from bot.http import GuardedH11

    server = HttpServer(HttpSettings(port=unused_tcp_port))
    config = server.config()
    assert config.timeout_keep_alive <= 5
    assert config.h11_max_incomplete_event_size is not None
    assert config.h11_max_incomplete_event_size <= 16 * 1024
    assert config.limit_concurrency is not None
    GuardedH11.header_timeout = 0.2
    try:
        await server.start()
        loop = asyncio.get_running_loop()
        sock = socket.create_connection(("127.0.0.1", unused_tcp_port))
        sock.setblocking(False)
        await loop.sock_sendall(sock, b"POST /telegram/hook HTTP/1.1\r\nHost: x\r\n")
        # The server closes the connection: the read ends (b"") instead of hanging.
        data = await asyncio.wait_for(loop.sock_recv(sock, 100), timeout=5)
        assert data == b""
        sock.close()
    finally:
        GuardedH11.header_timeout = 10.0
        await server.stop()


async def test_whatsapp_non_object_parts_are_ignored_without_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        caplog.set_level(logging.WARNING)
        post = h.graph.text("212612345678", "salam")
        value = post["entry"][0]["changes"][0]["value"]
        value["messages"][0]["text"] = "not an object"
        weird = {"object": "whatsapp_business_account", "entry": ["x", {"changes": [1, {"field": "messages",
                                                                                      "value": []}]}]}
        for payload in (post, weird):
            response = await h.post(payload)
            assert response.status_code == 200
        assert errors(caplog) == []


# -- item 9: a wa_id the phone library rejects --------------------------------------------------

async def test_legacy_mexican_wa_id_registers_in_the_chosen_language(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        caplog.set_level(logging.WARNING)
        user = "5215512345678"  # Meta still sends Mexico's mobiles with the legacy "1"
        await h.wa_register(user, "fr", name="Ana María López")
        assert errors(caplog) == []
        texts = h.wa_texts(user)
        assert not any("مشكل" in t or "problème" in t.lower() for t in texts), texts[-3:]
        async with h.app.db.read() as conn:
            from storage import artisans as artisan_repo

            artisan = await artisan_repo.by_identity(conn, "whatsapp", user)
        assert artisan is not None and artisan.phone == "+525512345678" and artisan.phone_verified


async def test_unknown_wa_id_is_kept_as_given(tmp_path: Path) -> None:
    from handlers.validation import verified_number

    assert verified_number("+5215512345678") == "+525512345678"
    assert verified_number("+212612345678") == "+212612345678"
    assert verified_number("+99912345678") == "+99912345678"  # unknown: as Meta gave it


async def test_apology_comes_in_the_language_chosen_at_registration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.i18n import Msg
    from storage import conversations as conversation_repo

    async with WhatsAppHarness.open(tmp_path) as h:
        user = "212612345678"
        await h.wa_send(user, "salam")
        await h.wa_tap(user, "lang:fr")
        # A conversation state that the code cannot read (as a crash would leave it).
        async with h.app.db.transaction() as conn:
            await conversation_repo.save(conn, "whatsapp", user, "reg.link",
                                         {"lang": "fr", "link_to": "not a number"}, h.clock.now(),
                                         exists=True)
        caplog.set_level(logging.CRITICAL)
        await h.wa_send(user, "oui")
        expected = h.app.translator.plain(Msg("common.error"), "fr", h.app.services.zone)
        assert h.wa_texts(user)[-1] == expected


async def test_staff_forged_ids_do_not_crash(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    h.languages[ADMIN] = "fr"
    await h.send(ADMIN, "/start")
    for forged in ("sa:open:²", "sa:people:" + "9" * 30, "bc:csv:²", "bc:cancel:" + "9" * 30):
        await h.press_data(ADMIN, forged)
    assert errors(caplog) == []
