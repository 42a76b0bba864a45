"""Darija and Tamazight end to end: an artisan registers in each, on Telegram and on WhatsApp;
the platform's hints pre-select a language; the short consent notice; the "/" menu per chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.whatsapp_outbox import WhatsAppTransport
from bot.i18n import Msg
from bot.languages import from_phone_number, ordered
from bot.messages import OutMessage
from bot.settings import WhatsAppSettings
from storage.schema import artisans
from tests.factories import picker
from tests.harness import Harness
from tests.whatsapp_harness import WhatsAppHarness

USER = 901
AMINA = "212612345678"

# What each language says at three moments: the name question, the welcome, the menu title.
EXPECT = {
    "ary": ("الاسم الكامل", "مرحبا بيك، Amina Benali", "شنو بغيتي دير"),
    "zgh": ("ⵉⵙⵎ ⵏⵏⴽ ⴰⴽⵎⵎⴰⵍ", "ⴰⵏⵙⵓⴼ ⵢⵉⵙⴽ, Amina Benali", "ⵎⴰⴷ ⵜⵔⵉⴷ ⴰⴷ ⵜⴳⴷ"),
}
REGION = {"ary": "مراكش آسفي", "zgh": "ⵎⵕⵕⴰⴽⵛ ⴰⵙⴼⵉ"}


@pytest.fixture
async def wa(tmp_path: Path) -> AsyncIterator[WhatsAppHarness]:
    async with WhatsAppHarness.open(tmp_path) as harness:
        yield harness


async def artisan_rows(h: Harness) -> list[dict[str, object]]:
    async with h.app.db.read() as conn:
        return [dict(r) for r in (await conn.execute(select(artisans))).mappings()]


@pytest.mark.parametrize("lang", ["ary", "zgh"])
async def test_an_artisan_registers_in_darija_or_tamazight_on_telegram(h: Harness, lang: str) -> None:
    h.languages[USER] = "ar"  # Telegram has no Darija or Tamazight interface: "ar" at best
    await h.send(USER, "/start")
    assert h.labels(USER) == picker("ar")
    await h.press(USER, f"lang:{lang}")
    await h.press(USER, "consent:yes")
    assert EXPECT[lang][0] in h.last_text(USER)
    await h.send(USER, "Amina Benali")
    await h.share_contact(USER, "212612345678")
    await h.press(USER, "region:MS")
    await h.press(USER, "craft:carpets")
    await h.press(USER, "cnie:skip")
    summary = h.last_text(USER)
    assert REGION[lang] in summary and "+212612345678" in summary
    await h.press(USER, "reg:confirm")
    texts = h.texts(USER)
    assert EXPECT[lang][1] in texts[-2]
    assert EXPECT[lang][2] in texts[-1]
    [row] = await artisan_rows(h)
    assert row["locale"] == lang and row["region"] == "MS" and row["craft"] == "carpets"

    # Telegram names menus with two-letter codes only: this chat gets its own, in its language.
    channel = h.app.telegram
    assert channel is not None
    await channel.idle()
    menu = {c["command"]: c["description"] for c in h.api.scoped_commands[(f"chat:{USER}", "")]}
    assert menu["profile"] == h.app.translator.plain(Msg("cmd.profile"), lang, h.app.services.zone)
    assert not [k for k in h.api.scoped_commands if k[0] == f"chat:{USER}" and k[1]]

    await h.send(USER, "/language")  # back to Arabic: the chat's own menu goes
    await h.press(USER, "lang:ar")
    await channel.idle()
    assert not [k for k in h.api.scoped_commands if k[0] == f"chat:{USER}"]


@pytest.mark.parametrize("lang", ["ary", "zgh"])
async def test_an_artisan_registers_in_darija_or_tamazight_on_whatsapp(
    wa: WhatsAppHarness, lang: str,
) -> None:
    await wa.wa_send(AMINA, "salam")
    first = wa.graph.last_to(AMINA)
    assert [t for _, t in first.buttons] == picker("ary")  # a Moroccan number: Darija first
    assert first.text.startswith("مرحبا بيك")  # and the greeting in Darija leads
    await wa.wa_tap(AMINA, f"lang:{lang}")
    consent = wa.graph.last_to(AMINA)
    # agree, agree with voice help, disagree, more: four choices make a list on WhatsApp
    assert consent.interactive_type == "list" and len(consent.buttons) == 4
    await wa.wa_tap(AMINA, "consent:yes")
    assert EXPECT[lang][0] in wa.graph.last_to(AMINA).text
    await wa.wa_send(AMINA, "Amina Benali")
    await wa.wa_tap(AMINA, "region:MS")
    await wa.wa_tap(AMINA, "craft:carpets")
    await wa.wa_tap(AMINA, "cnie:skip")
    assert REGION[lang] in wa.graph.last_to(AMINA).text
    await wa.wa_tap(AMINA, "reg:confirm")
    texts = wa.wa_texts(AMINA)
    assert EXPECT[lang][1] in texts[-2] and EXPECT[lang][2] in texts[-1]
    assert wa.graph.refused == []  # every button and list row within Meta's limits
    [row] = await artisan_rows(wa)
    assert row["locale"] == lang and row["phone"] == "+212612345678"


async def test_consent_is_short_more_gives_the_full_notice_and_a_misunderstanding_only_the_question(
    h: Harness,
) -> None:
    h.languages[USER] = "en"
    await h.send(USER, "/start")
    await h.press(USER, "lang:en")
    notice = h.last_text(USER)
    assert "Do you agree?" in notice and len(notice) < 200
    assert h.labels(USER) == ["✅ I agree", "✅ I agree, with voice 🔊", "I don't agree",
                              "ℹ️ Tell me more"]
    await h.send(USER, "what is this?")
    again = h.last_text(USER)
    # the engine's short re-ask with the choices numbered, never the notice again
    assert again.startswith("I did not get that.") and "Law 09-08" not in again
    assert "1. ✅ I agree" in again
    await h.press(USER, "consent:more")
    texts = h.texts(USER)
    assert "Law 09-08" in texts[-2] and texts[-1] == "Do you agree? Choose a button."
    assert h.labels(USER) == ["✅ I agree", "✅ I agree, with voice 🔊", "I don't agree",
                              "⬅️ Back"]
    await h.press(USER, "consent:yes")
    assert "full name" in h.last_text(USER)


def test_a_moroccan_number_suggests_darija_and_other_countries_their_language() -> None:
    assert from_phone_number("+212612345678") == "ary"
    assert from_phone_number("+213551234567") == "ar"
    assert from_phone_number("+33612345678") == "fr"
    assert from_phone_number("+12025550123") == "en"
    assert from_phone_number("+8613800138000") is None
    assert from_phone_number("not a number") is None
    assert ordered("zgh") == ["zgh", "ar", "ary", "fr", "en"]


def test_tamazight_speakers_get_the_arabic_template_outside_the_24_hour_window() -> None:
    """Meta has no Tamazight: the Arabic template carries the Tifinagh text in its variable."""
    outbox = WhatsAppTransport(None, WhatsAppSettings(), None, None, None, None)  # type: ignore[arg-type]
    message = OutMessage(text="ⴰⵙⵎⵎⵉⵜⵜⵉ", locale="zgh", origin={"kind": "reminder"})
    name, body = outbox.template_message(message)
    assert name == "hirfa_reminder" and body["template"]["language"]["code"] == "ar"
    assert body["template"]["components"][0]["parameters"][0]["text"] == "ⴰⵙⵎⵎⵉⵜⵜⵉ"
    darija = OutMessage(text="تفكير", locale="ary", origin={"kind": "reminder"})
    assert outbox.template_message(darija)[1]["template"]["language"]["code"] == "ar_MA"


