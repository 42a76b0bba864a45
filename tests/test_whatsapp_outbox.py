"""Outbox messages on WhatsApp: the 24-hour window, templates, Telegram as the way round, Meta's
errors and status callbacks, pacing. Time moves with the FakeClock; nothing sleeps."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.i18n import Msg
from bot.messages import Document, OutMessage, Reply
from storage import artisans as artisan_repo
from storage import whatsapp as wa_repo
from storage.schema import outbox
from tests.fakes.graph import TOKEN
from tests.whatsapp_harness import WhatsAppHarness

AMINA = "212612345678"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[WhatsAppHarness]:
    async with WhatsAppHarness.open(tmp_path) as harness:
        harness.graph.approve("hirfa_reminder")
        await harness.wa_register(AMINA, "ar")
        yield harness


async def artisan_id(h: WhatsAppHarness, number: str = AMINA) -> int:
    async with h.app.db.read() as conn:
        artisan = await artisan_repo.by_identity(conn, "whatsapp", number)
    assert artisan is not None
    return artisan.id


async def notify(h: WhatsAppHarness, reply: Reply, *, kind: str = "reminder", key: str = "r:1",
                 to: int | None = None) -> None:
    target = to if to is not None else await artisan_id(h)
    async with h.app.db.transaction() as conn:
        assert await h.app.outbox.notify(conn, target, reply, kind=kind, key=key)


async def row(h: WhatsAppHarness, key: str = "r:1") -> dict[str, Any]:
    async with h.app.db.read() as conn:
        found = (await conn.execute(select(outbox).where(outbox.c.idem_key == key))).mappings().one()
    return dict(found)


REMINDER = Reply(Msg("reg.done", name="Amina Benali"))


async def test_inside_the_window_a_reminder_goes_free_form(h: WhatsAppHarness) -> None:
    h.clock.advance(timedelta(hours=23))
    await notify(h, REMINDER)
    await h.drain()
    sent = h.graph.last_to(AMINA)
    assert sent.type == "text" and "مرحبًا Amina Benali" in sent.text
    assert (await row(h))["status"] == "sent"


async def test_artisan_silent_25_hours_gets_the_reminder_as_a_template(h: WhatsAppHarness) -> None:
    h.clock.advance(timedelta(hours=25))
    await notify(h, REMINDER)
    await h.drain()
    sent = h.graph.last_to(AMINA)
    assert sent.type == "template"
    assert (sent.template_name, sent.template_language) == ("hirfa_reminder", "ar")
    assert sent.template_params == ["🎉 مرحبًا Amina Benali! تم تسجيلك."]
    done = await row(h)
    assert done["status"] == "sent" and done["platform_message_id"] == sent.id
    assert h.graph.refused == []


async def test_template_variables_come_from_the_message_parameters(tmp_path: Path) -> None:
    """Dates are rendered in the artisan's zone and language (Morocco: UTC+0 since 2026-09-20)."""
    templates = {"reminder": {"name": "session_reminder", "params": ["name"]}}
    async with WhatsAppHarness.open(tmp_path, whatsapp={"templates": templates}) as h:
        h.graph.approve("session_reminder", ("ar",), params=1)
        await h.wa_register(AMINA, "ar")
        h.clock.advance(timedelta(days=2))
        await notify(h, Reply(Msg("reg.done", name=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))))
        await h.drain()
        [param] = h.graph.last_to(AMINA).template_params
        assert "دجنبر" in param and "09:00" in param


async def test_multi_line_text_becomes_one_template_line(h: WhatsAppHarness) -> None:
    h.clock.advance(timedelta(hours=30))
    amina = await artisan_id(h)
    async with h.app.db.transaction() as conn:
        message = OutMessage("<b>Rappel</b>\n\nFormation\tzellige      demain", locale="ar")
        await h.app.outbox.to_chat(conn, "whatsapp", AMINA, message, kind="reminder", key="r:1",
                                   artisan_id=amina)
    await h.drain()
    assert h.graph.last_to(AMINA).template_params == ["*Rappel* · Formation zellige demain"]


async def test_meta_saying_131047_later_sends_the_template(h: WhatsAppHarness) -> None:
    """We thought the window open; Meta disagreed in a status callback."""
    h.graph.fail_async(131047)
    await notify(h, REMINDER)
    await h.drain()
    assert h.graph.last_to(AMINA).type == "text"
    await h.deliver_statuses()
    assert (await row(h))["status"] == "pending"
    h.clock.advance(timedelta(seconds=2))  # one message per chat per second
    await h.drain()
    assert h.graph.last_to(AMINA).type == "template"
    done = await row(h)
    assert done["status"] == "sent"
    await h.deliver_statuses()
    async with h.app.db.read() as conn:
        assert await wa_repo.receipt_of(conn, done["id"]) == ("sent", None)


async def test_meta_refusing_with_131047_at_once_sends_the_template(h: WhatsAppHarness) -> None:
    h.graph.fail_next(131047)
    await notify(h, REMINDER)
    await h.drain()
    assert h.graph.last_to(AMINA).template_name == "hirfa_reminder"
    assert (await row(h))["status"] == "sent"


async def test_no_template_and_telegram_linked_goes_through_telegram(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:  # no template approved: Meta answers 132001
        await h.register(101, "fr", phone="+212612345678")  # Telegram first, then WhatsApp links
        await h.wa_send(AMINA, "bonjour")
        await h.wa_tap(AMINA, "lang:fr")
        await h.wa_tap(AMINA, "consent:yes")
        await h.wa_send(AMINA, "Amina Benali")
        await h.wa_tap(AMINA, "link:yes")
        h.clock.advance(timedelta(hours=25))
        await notify(h, REMINDER)
        await h.drain()
        done = await row(h)
        assert (done["channel"], done["chat_id"], done["status"]) == ("telegram", "101", "sent")
        assert "132001" in done["last_error"] and "sent through telegram" in done["last_error"]
        assert "Bienvenue, Amina Benali" in h.texts(101)[-1]
        [refused] = h.graph.refused
        assert refused[1] == 132001


async def test_no_template_and_no_other_channel_fails_with_the_reason(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path, whatsapp={"templates": {}}) as h:
        await h.wa_register(AMINA, "fr")
        sent_before = len(h.graph.sent)
        h.clock.advance(timedelta(hours=25))
        await notify(h, REMINDER)
        await h.drain()
        done = await row(h)
        assert done["status"] == "failed"
        assert "no template for 'reminder'" in done["last_error"]
        assert len(h.graph.sent) == sent_before  # never a free-form send Meta would refuse


async def test_template_meta_refuses_fails_with_its_code(h: WhatsAppHarness) -> None:
    h.graph.approve("hirfa_reminder", ("ar",), params=2)  # approved with two variables
    h.clock.advance(timedelta(hours=25))
    await notify(h, REMINDER)
    await h.drain()
    done = await row(h)
    assert done["status"] == "failed" and "132000" in done["last_error"]


@pytest.mark.parametrize("code", [130429, 131056])
async def test_rate_limits_retry_later_without_losing_the_message(h: WhatsAppHarness, code: int) -> None:
    h.graph.fail_next(code)
    await notify(h, REMINDER)
    await h.drain()
    pending = await row(h)
    assert pending["status"] == "pending" and str(code) in pending["last_error"]
    assert pending["attempts"] == 0
    h.clock.advance(timedelta(seconds=10))
    await h.drain()
    assert (await row(h))["status"] == "sent"


# 131026 is not a block: see tests/test_whatsapp_delivery.py.


async def test_expired_token_stops_sending_and_says_so_once(
    h: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h.graph.token_valid = False
    await notify(h, REMINDER)
    await notify(h, REMINDER, key="r:2")
    with caplog.at_level(logging.INFO):
        await h.drain()
        calls = h.graph.calls
        h.clock.advance(timedelta(minutes=10))
        await h.drain()
        await h.wa_send(AMINA, "menu")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "HIRFA_WHATSAPP__TOKEN" in errors[0].getMessage()
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    assert h.graph.calls == calls  # nothing more was tried
    assert {(await row(h))["status"], (await row(h, "r:2"))["status"]} == {"pending"}


async def test_receipts_keep_the_furthest_state(h: WhatsAppHarness) -> None:
    await notify(h, REMINDER)
    await h.drain()
    sent = h.graph.last_to(AMINA)
    await h.post(h.graph.receipts(sent, "delivered", "read"))
    await h.post(h.graph.receipts(sent, "delivered"))  # late and out of order
    async with h.app.db.read() as conn:
        assert await wa_repo.receipt_of(conn, (await row(h))["id"]) == ("read", None)
    assert (await row(h))["status"] == "sent"


async def test_late_failure_with_another_code_fails_the_row(h: WhatsAppHarness) -> None:
    h.graph.fail_async(131051)
    await notify(h, REMINDER)
    await h.drain()
    await h.deliver_statuses()
    done = await row(h)
    assert done["status"] == "failed" and "131051" in done["last_error"]
    async with h.app.db.read() as conn:
        assert await wa_repo.receipt_of(conn, done["id"]) == ("failed", 131051)


async def test_documents_are_uploaded_then_sent_and_long_text_is_split(h: WhatsAppHarness) -> None:
    async with h.app.db.transaction() as conn:
        pdf = Document("session.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
        await h.app.outbox.to_chat(conn, "whatsapp", AMINA, OutMessage("📅 Votre séance", document=pdf),
                                   kind="notice", key="doc:1")
        await h.app.outbox.to_chat(conn, "whatsapp", AMINA, OutMessage(("word " * 1000).strip()),
                                   kind="notice", key="long:1")
    await h.drain()
    h.clock.advance(timedelta(seconds=2))  # one message per chat per second
    await h.drain()
    document, *pieces = h.graph.to(AMINA)[-3:]
    assert document.type == "document" and document.body["document"]["caption"] == "📅 Votre séance"
    [(filename, mime, _)] = h.graph.uploads.values()
    assert (filename, mime) == ("session.pdf", "application/pdf")
    assert [p.type for p in pieces] == ["text", "text"]
    assert all(len(p.text) <= 4096 for p in pieces) and sum(len(p.text) for p in pieces) >= 4998


async def test_outbox_is_paced_under_the_configured_rate(tmp_path: Path) -> None:
    """100 notices at 80/s take at least 99/80 s of (fake) time, and all go out."""
    async with WhatsAppHarness.open(tmp_path) as h:
        now = h.clock.now()
        async with h.app.db.transaction() as conn:
            for n in range(100):
                number = f"2126{n:08d}"
                artisan = await artisan_repo.create(conn, now, full_name="A", phone=f"+{number}",
                                                    locale="fr", region="MS", craft="zellige")
                await artisan_repo.link_identity(conn, artisan, "whatsapp", number, number, now)
                await h.app.outbox.notify(conn, artisan, REMINDER, kind="reminder", key=f"r:{n}")
        start = h.clock.now()
        await h.drain()
        elapsed = (h.clock.now() - start).total_seconds()
        assert len(h.graph.sent) == 100
        assert 99 / 80 <= elapsed < 99 / 80 + 1
