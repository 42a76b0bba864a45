"""Nothing is lost, nobody waits: updates are stored before they are acknowledged, replies are
written with the update's effects and sent from the outbox, one chat never holds up another.

A "crash" here is an application dropped without stopping (``Harness.restart``); its inbox is
closed first where the crash must come before the stored update is handled. The same promises
are checked with real SIGKILLs in ``tests/test_process.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from telegram import Update

from bot.channels.telegram import send_out, split_text, to_incoming
from bot.http import HttpServer, telegram_webhook
from bot.i18n import Msg
from bot.messages import OutMessage, Reply, utf16_len
from storage import artisans as artisan_repo
from storage import updates as updates_repo
from storage.schema import outbox
from storage.updates import inbound_updates
from tests import factories
from tests.harness import Harness
from tests.whatsapp_harness import WhatsAppHarness

USER, OTHER = 4101, 4102
AMINA, SALMA = "212612345678", "212698765432"
SECRET = "s3cret-Token_1"
WEBHOOK: dict[str, Any] = {"telegram": {"webhook_url": "https://hirfa.example.org/telegram/hook",
                        "webhook_secret": SECRET}}
FLOOD_NOTICE = "beaucoup de messages"


def texts_to(h: Harness, user: int) -> list[str]:
    return [m.plain_text or "" for m in h.api.messages_to(user)]


async def waiting(h: Harness, channel: str = "telegram") -> list[str]:
    async with h.app.db.read() as conn:
        return [row.external_id for row in await updates_repo.waiting(conn, channel)]


async def reply_rows(h: Harness) -> Counter[str]:
    async with h.app.db.read() as conn:
        stmt = select(outbox.c.status).where(outbox.c.kind == "reply")
        return Counter((await conn.execute(stmt)).scalars())


# -- item 1: a reply of several messages ------------------------------------------------------

async def test_a_reply_of_two_messages_cut_by_a_crash_is_finished_once_after_restart(
    tmp_path: Path,
) -> None:
    """Confirming registration answers "Welcome" and the menu. The process dies after the first
    went out: after restart the menu arrives, and "Welcome" is not sent a second time."""
    async with Harness.open(tmp_path) as h:
        h.languages[USER] = "fr"
        await h.send(USER, "/start")
        await h.press(USER, "lang:fr")
        await h.press(USER, "consent:yes")
        await h.send(USER, "Amina Benali")
        await h.share_contact(USER, "+212612345678")
        await h.press(USER, "region:MS")
        await h.press(USER, "craft:zellige")
        await h.press(USER, "cnie:skip")
        target = h.find_button(USER, "reg:confirm")
        data = factories.callback_update(USER, "reg:confirm", message=target.message,
                                         language_code="fr")
        incoming = to_incoming(Update.de_json(data, h.ptb.bot))
        assert incoming is not None and h.app.telegram is not None
        await h.app.telegram.inbox.stop(grace=0)
        await h.app.telegram.receive([data])  # stored, as the webhook or the poller does
        before = len(h.api.messages_to(USER))
        parts = await h.app.engine.answer(incoming)  # committed: effects and both parts
        assert len(parts) >= 2
        await h.app.outbox.send_now("telegram", parts[:1])  # the first goes out, then SIGKILL
        await h.restart()
        await h.claims_expire()
        await h.deliver_all()
        after = texts_to(h, USER)[before:]
        assert len(after) == len(parts)  # each part once: the first is not sent again
        assert "Menu principal" in after[-1]
        assert set(await reply_rows(h)) == {"sent"}


# -- item 5: a reply that cannot be sent now ----------------------------------------------------

async def test_a_reply_telegram_cannot_take_now_is_retried_with_backoff_not_dropped(
    tmp_path: Path,
) -> None:
    async with Harness.open(tmp_path) as h:
        h.api.fail_network_next(5, method="sendMessage")  # more than the old three quick tries
        sent = await h.send(USER, "/start")
        assert sent == []
        await h.deliver_all()  # the fake clock moves over the backoff
        answers = [t for t in texts_to(h, USER) if "Choisissez votre langue" in t
                   or "اختر لغتك" in t]
        assert len(answers) == 1


async def test_a_whatsapp_reply_meta_fails_with_500_is_retried_with_backoff(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        h.graph.fail_next(131000, times=4)  # "something went wrong" (HTTP 500)
        await h.wa_send(AMINA, "salam")
        assert h.graph.to(AMINA) == []
        assert (await reply_rows(h))["pending"] == 1
        await h.deliver_all()
        assert len(h.graph.to(AMINA)) == 1


# -- items 2 and 3: stored before acknowledged ---------------------------------------------------

async def test_telegram_webhook_update_acknowledged_then_crash_is_answered_after_restart(
    tmp_path: Path,
) -> None:
    async with Harness.open(tmp_path, **WEBHOOK) as h:
        telegram = h.app.telegram
        assert telegram is not None
        await telegram.inbox.stop(grace=0)  # the process dies right after answering 200
        server = HttpServer(h.settings.http)
        server.add("/telegram/hook", telegram_webhook(telegram), ["POST"])
        update = factories.command_update(USER, "start", language_code="fr")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app()),
                                     base_url="http://test") as client:
            answer = await client.post("/telegram/hook", json=update,
                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status_code == 200 and h.api.messages_to(USER) == []
        assert await waiting(h) == [str(update["update_id"])]
        await h.restart()
        assert h.app.telegram is not None
        await h.app.telegram.inbox.resume()
        await h.app.telegram.inbox.idle()
        assert {"العربية", "Français", "English"} <= set(h.labels(USER))  # the language menu
        assert await waiting(h) == []
        await h.feed(update)  # Telegram delivers it again: answered once only
        assert len(h.api.messages_to(USER)) == 1


async def test_telegram_polling_stores_a_batch_before_the_offset_moves(tmp_path: Path) -> None:
    async with Harness.open(tmp_path) as h:
        telegram = h.app.telegram
        assert telegram is not None
        await telegram.inbox.stop(grace=0)  # dies before handling anything
        pushed = [h.api.push_update(factories.command_update(u, "start", language_code="fr"))
                  for u in (USER, OTHER)]
        await telegram.start_polling(long_poll=0)
        for _ in range(200):
            if len(await waiting(h)) == 2:
                break
            await asyncio.sleep(0.01)
        assert telegram._poller is not None
        telegram._poller.cancel()
        assert await waiting(h) == [str(p["update_id"]) for p in pushed]
        await h.restart()
        assert h.app.telegram is not None
        await h.app.telegram.inbox.resume()
        await h.app.telegram.inbox.idle()
        assert len(h.api.messages_to(USER)) == 1 and len(h.api.messages_to(OTHER)) == 1


async def test_whatsapp_message_acknowledged_then_crash_is_answered_after_restart(
    tmp_path: Path,
) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await h.wa.inbox.stop(grace=0)  # the process dies right after answering 200
        post = h.graph.text(AMINA, "salam")
        assert (await h.post(post)).status_code == 200
        assert h.graph.to(AMINA) == [] and len(await waiting(h, "whatsapp")) == 1
        await h.restart()
        await h.wa.start()  # what was stored and not handled is handled at start
        await h.wa.idle()
        assert len(h.graph.to(AMINA)) == 1
        await h.post(post)  # Meta delivers it again: dropped
        assert len(h.graph.to(AMINA)) == 1
        assert await waiting(h, "whatsapp") == []


# -- item 7: one chat's flood ---------------------------------------------------------------------

async def test_one_chat_flooding_does_not_delay_another_and_is_told_once(tmp_path: Path) -> None:
    async with Harness.open(tmp_path) as h:
        await h.register(USER, "fr")
        await h.register(OTHER, "fr")
        before = len(h.api.sent)
        flood = [factories.text_update(USER, f"message {i}", language_code="fr") for i in range(60)]
        assert h.app.telegram is not None
        await h.app.telegram.receive([*flood, factories.text_update(OTHER, "menu")])
        await h.app.telegram.inbox.idle()
        sent = h.api.sent[before:]
        to_flooder = [m for m in sent if m.chat_id == USER]
        to_other = [i for i, m in enumerate(sent) if m.chat_id == OTHER]
        # The other artisan is answered before the flooder's backlog is worked off.
        assert to_other and to_other[0] < len(sent) // 2
        notices = [m for m in to_flooder if FLOOD_NOTICE in (m.plain_text or "")]
        assert len(notices) == 1
        async with h.app.db.read() as conn:
            stmt = select(inbound_updates.c.outcome).where(
                inbound_updates.c.external_id.in_([str(u["update_id"]) for u in flood]))
            outcomes = Counter((await conn.execute(stmt)).scalars())
        backlog = h.app.telegram.inbox.backlog
        assert outcomes == Counter({"handled": backlog, "dropped": 60 - backlog})
        assert await waiting(h) == []  # every update is settled, none left behind


async def test_a_stop_with_a_backlog_is_quick_and_leaves_the_rest_for_the_next_start(
    tmp_path: Path,
) -> None:
    async with Harness.open(tmp_path) as h:
        assert h.app.telegram is not None
        users = range(5000, 5030)
        await h.app.telegram.receive(
            [factories.command_update(u, "start", language_code="fr") for u in users])
        await h.app.telegram.inbox.stop(grace=0)
        left = await waiting(h)
        await h.restart()
        assert h.app.telegram is not None
        assert await h.app.telegram.inbox.resume() == len(left)
        await h.app.telegram.inbox.idle()
        await h.deliver_all()
        assert all(len(h.api.messages_to(u)) == 1 for u in users)


# -- item 9: a recipient's own limit -----------------------------------------------------------

async def test_whatsapp_pair_limit_pauses_that_recipient_only(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await h.wa_register(AMINA, "fr")
        await h.wa_register(SALMA, "fr")
        h.clock.advance(timedelta(seconds=5))
        h.graph.fail_next(131056, to=AMINA)  # too many messages to Amina
        async with h.app.db.read() as conn:
            amina = await artisan_repo.by_identity(conn, "whatsapp", AMINA)
            salma = await artisan_repo.by_identity(conn, "whatsapp", SALMA)
        assert amina is not None and salma is not None
        async with h.app.db.transaction() as conn:
            for who in (amina, salma):
                await h.app.outbox.notify(conn, who.id, Reply(Msg("reg.done", name="x")),
                                          kind="reminder", key=f"r:{who.id}")
        start = h.clock.now()
        await h.drain()
        async with h.app.db.read() as conn:
            stmt = select(outbox.c.chat_id, outbox.c.status).where(outbox.c.kind == "reminder")
            status = {str(c): str(s) for c, s in await conn.execute(stmt)}
        assert status == {AMINA: "pending", SALMA: "sent"}
        assert h.graph.to(SALMA)[-1].at - start < timedelta(seconds=1)
        before = len(h.graph.to(SALMA))
        asked = h.clock.now()
        await h.wa_send(SALMA, "menu")  # Salma's answer does not wait for Amina's limit
        assert len(h.graph.to(SALMA)) == before + 1
        assert h.graph.to(SALMA)[-1].at - asked < timedelta(seconds=1)
        h.clock.advance(timedelta(seconds=7))
        await h.drain()
        async with h.app.db.read() as conn:
            status = {str(c): str(s) for c, s in await conn.execute(stmt)}
        assert status == {AMINA: "sent", SALMA: "sent"}


# -- item 8: Telegram counts UTF-16 units -------------------------------------------------------

def test_long_text_of_emoji_is_split_in_utf16_units() -> None:
    text = "🎉" * 3000  # 3,000 characters, 6,000 UTF-16 units
    parts = split_text(text)
    assert len(parts) == 2 and all(utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts) == text


async def test_staff_list_with_emoji_names_is_sent_in_pieces_telegram_accepts(tmp_path: Path) -> None:
    async with Harness.open(tmp_path) as h:
        assert h.app.telegram is not None
        bot = h.ptb.bot
        lines = "\n".join(f"{i}. 🧵🏺 Artisane {i} 🌟🌟" for i in range(400))
        await send_out(bot, USER, OutMessage(lines))
        pieces = h.api.messages_to(USER)
        assert len(pieces) >= 2 and "\n".join(m.plain_text or "" for m in pieces) == lines
