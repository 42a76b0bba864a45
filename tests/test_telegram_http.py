"""The aiohttp transport under python-telegram-bot, against the fake Bot API over real HTTP.

Every Bot API call the bot makes in production goes through ``AiohttpRequest``; these tests use
PTB's own ``Bot`` on top of it, so what is checked is what Telegram would receive and what PTB
makes of the answers (including 429, 403, a dead server and a server that never answers).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels import telegram_http
from bot.channels.telegram_http import AiohttpRequest
from tests.fakes.telegram import TOKEN, FakeBotAPI, FakeBotAPIServer

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35"
       b"\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def server() -> Iterator[FakeBotAPIServer]:
    with FakeBotAPIServer(FakeBotAPI(), max_long_poll=0.2) as srv:
        yield srv


@pytest.fixture
async def bot(server: FakeBotAPIServer) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url,
              request=AiohttpRequest(read_timeout=2.0))
    async with bot:
        yield bot


async def test_text_with_buttons_and_html_arrives_as_sent(bot: Bot, server: FakeBotAPIServer) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("نعم ✅", callback_data="yes")]])
    message = await bot.send_message(42, "<b>Salam</b> &lt;x&gt; é", parse_mode="HTML",
                                     reply_markup=markup)
    sent = server.api.sent[-1]
    assert (sent.chat_id, sent.plain_text, sent.buttons) == (42, "Salam <x> é", [("نعم ✅", "yes")])
    assert message.message_id == sent.message_id


async def test_a_photo_is_uploaded_as_multipart_and_a_file_downloads(
    bot: Bot, server: FakeBotAPIServer
) -> None:
    await bot.send_photo(42, PNG, caption="affiche", filename="poster.png")
    sent = server.api.sent[-1]
    assert (sent.method, sent.document, sent.caption) == ("sendPhoto", PNG, "affiche")
    file_id = server.api.add_file(b"%PDF-1.4 certificate", filename="c.pdf")
    file = await bot.get_file(file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 certificate"


async def test_429_and_403_reach_ptb_as_its_errors(bot: Bot, server: FakeBotAPIServer) -> None:
    server.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(42, "x")
    assert flood.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]
    server.api.block(43)
    with pytest.raises(Forbidden):
        await bot.send_message(43, "x")
    assert [m.chat_id for m in server.api.sent] == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def bot_at(port: int, **timeouts: Any) -> AsyncIterator[Bot]:
    """A bot on the aiohttp transport, without ``getMe`` (the server may be dead or mute)."""
    request = AiohttpRequest(**timeouts)
    await request.initialize()
    try:
        yield Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    finally:
        await request.shutdown()


async def test_a_dead_server_is_a_network_error() -> None:
    async with bot_at(_closed_port(), connect_timeout=1.0) as bot:
        with pytest.raises(NetworkError):
            await bot.send_message(42, "x")


async def test_a_server_that_never_answers_times_out() -> None:
    release = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        await reader.read(1 << 16)
        await release.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    try:
        async with bot_at(server.sockets[0].getsockname()[1], read_timeout=0.3) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(42, "x")
    finally:
        release.set()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()


def test_proxies_come_from_the_environment_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    telegram_http._proxy_for.cache_clear()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.chamber.ma:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        assert telegram_http._env_proxy("https://api.telegram.org/bot1:x/getMe") == (
            "http://proxy.chamber.ma:3128"
        )
        assert telegram_http._env_proxy("http://127.0.0.1:8081/bot1:x/getMe") is None
    finally:
        telegram_http._proxy_for.cache_clear()


async def test_a_dropped_connection_is_a_network_error_and_the_next_call_works(
    bot: Bot, server: FakeBotAPIServer
) -> None:
    await bot.send_message(42, "warm the keep-alive pool")
    server.api.fail_network_next(1, method="sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(42, "lost")
    await bot.send_message(42, "again")
    assert [m.text for m in server.api.sent] == ["warm the keep-alive pool", "again"]
