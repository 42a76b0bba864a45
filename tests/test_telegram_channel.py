"""The Telegram adapter: command menus, long messages, polling, and the webhook's secret."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bot.channels.telegram import split_text
from bot.clock import FakeClock
from bot.http import HttpServer, telegram_webhook
from storage import updates as updates_repo
from storage.updates import inbound_updates
from tests import factories
from tests.factories import picker
from tests.harness import ADMIN, STAFF, Harness

USER = 701


async def test_command_menu_is_set_in_every_language(h: Harness) -> None:
    await h.app.telegram._set_commands()  # type: ignore[union-attr]
    menus = h.api.commands
    assert set(menus) >= {"ar", "fr", "en", ""}
    names = {c["command"] for c in menus["fr"]}
    assert {"start", "menu", "profile", "cancel", "help", "stop", "delete", "whoami"} <= names
    descriptions = {c["command"]: c["description"] for c in menus["ar"]}
    assert descriptions["menu"] == "القائمة الرئيسية"


STAFF_ONLY = {"sessions", "broadcast", "broadcasts", "stats", "certs", "staff"}


async def test_staff_commands_are_only_in_staff_chats_menus_and_follow_role_changes(
    h: Harness,
) -> None:
    """Artisans' "/" menu has no staff commands; each staff chat gets the commands of its role,
    in every language, and the menu follows when an admin adds or removes someone."""
    channel = h.app.telegram
    assert channel is not None
    await channel._set_commands()
    for lang in ("ar", "fr", "en", ""):
        assert not {c["command"] for c in h.api.commands[lang]} & STAFF_ONLY
    admin_menu = {c["command"] for c in h.api.scoped_commands[(f"chat:{ADMIN}", "fr")]}
    assert STAFF_ONLY | {"menu", "help", "cancel"} <= admin_menu

    await h.send(ADMIN, "/staff")
    await h.press(ADMIN, "st:add")
    await h.send(ADMIN, str(STAFF))
    await h.press(ADMIN, "st:role:staff")
    await channel.idle()
    staff_menu = {c["command"]: c["description"]
                  for c in h.api.scoped_commands[(f"chat:{STAFF}", "ar")]}
    assert "staff" not in staff_menu  # that one is for admins
    assert staff_menu["broadcast"] == "إرسال إعلان إلى الحرفيين"

    await h.send(ADMIN, "/staff")
    await h.press(ADMIN, f"st:rm:telegram:{STAFF}")
    await h.press(ADMIN, "st:rmok")
    await channel.idle()
    assert not [key for key in h.api.scoped_commands if key[0] == f"chat:{STAFF}"]


def test_long_text_is_split_at_line_breaks() -> None:
    text = "\n".join(f"ligne {i} " + "x" * 90 for i in range(100))
    parts = split_text(text)
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert split_text("y" * 9000) == ["y" * 4096, "y" * 4096, "y" * 808]


async def test_every_sent_message_fits_telegram_limits(h: Harness) -> None:
    await h.register(USER, "ar")
    await h.press(USER, "m:profile")
    for message in h.api.messages_to(USER):
        assert len(message.text or "") <= 4096
        for _, data in message.buttons:
            assert data is None or len(data.encode()) <= 64 or data == "request_contact"


async def test_polling_delivers_updates_to_the_engine(tmp_path: Path) -> None:
    async with Harness.open(tmp_path) as h:
        telegram = h.app.telegram
        assert telegram is not None
        await telegram.start_polling(long_poll=0)
        try:
            h.api.push_update(factories.command_update(USER, "start"))
            for _ in range(200):
                if h.api.messages_to(USER):
                    break
                await asyncio.sleep(0.01)
            assert h.labels(USER) == picker(h.lang(USER))
        finally:
            assert telegram._poller is not None
            telegram._poller.cancel()


async def stored(h: Harness) -> list[str]:
    async with h.app.db.read() as conn:
        return [row.external_id for row in await updates_repo.waiting(conn, "telegram", 100)] + [
            str(r) for r in (await conn.execute(
                select(inbound_updates.c.external_id)
                .where(inbound_updates.c.handled_at.is_not(None)))).scalars()]


async def test_webhook_rejects_a_wrong_secret_and_accepts_the_right_one(tmp_path: Path) -> None:
    overrides: dict[str, Any] = {"telegram": {"webhook_url": "https://hirfa.example.org/telegram/hook",
                              "webhook_secret": "s3cret-Token_1"}}
    async with Harness.open(tmp_path, FakeClock(), **overrides) as h:
        telegram = h.app.telegram
        assert telegram is not None and telegram.webhook_path == "/telegram/hook"
        server = HttpServer(h.settings.http)
        server.add("/telegram/hook", telegram_webhook(telegram), ["POST"])
        transport = httpx.ASGITransport(app=server.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            update = factories.command_update(USER, "start")
            missing = await client.post("/telegram/hook", json=update)
            wrong = await client.post("/telegram/hook", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
            assert (missing.status_code, wrong.status_code) == (403, 403)
            assert await stored(h) == []
            good = await client.post("/telegram/hook", json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"})
            assert good.status_code == 200
            assert await stored(h) == [str(update["update_id"])]  # kept before the 200
            health = await client.get("/healthz")
            assert health.json() == {"status": "ok"}


async def test_webhook_is_registered_with_its_secret(tmp_path: Path) -> None:
    overrides: dict[str, Any] = {"telegram": {"webhook_url": "https://hirfa.example.org/telegram/hook",
                                              "webhook_secret": "s3cret-Token_1"}}
    async with Harness.open(tmp_path, **overrides) as h:
        telegram = h.app.telegram
        assert telegram is not None
        await telegram.application.shutdown()
        await telegram.start()
        try:
            assert h.api.webhook is not None
            assert h.api.webhook["url"] == "https://hirfa.example.org/telegram/hook"
            assert h.api.webhook["secret_token"] == "s3cret-Token_1"
        finally:
            await telegram.stop()
            await telegram.application.initialize()
