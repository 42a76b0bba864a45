"""The artisan's first conversation over WhatsApp: signed webhook posts to the real app, the fake
Graph API in place of Meta. Only taps on buttons and list rows (and typing one's name)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.schema import artisans, identities
from tests.factories import picker
from tests.fakes.graph import FakeGraphAPI, SentWA
from tests.whatsapp_harness import WA_ADMIN, WhatsAppHarness

AMINA = "212612345678"

EXPECT = {
    "ar": ("ما هو *اسمك الكامل*", "مرحبًا Amina Benali", "القائمة الرئيسية", "اختر"),
    "fr": ("Quel est votre *nom complet*", "Bienvenue, Amina Benali", "Menu principal", "Choisir"),
    "en": ("What is your *full name*", "Welcome, Amina Benali", "Main menu", "Choose"),
}


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[WhatsAppHarness]:
    async with WhatsAppHarness.open(tmp_path) as harness:
        yield harness


def widgets(graph: FakeGraphAPI, user: str) -> list[SentWA]:
    return [m for m in graph.to(user) if m.type == "interactive"]


async def rows(h: WhatsAppHarness, table: object) -> list[dict[str, object]]:
    async with h.app.db.read() as conn:
        return [dict(r) for r in (await conn.execute(select(table))).mappings()]  # type: ignore[call-overload]


@pytest.mark.parametrize("lang", ["ar", "fr", "en"])
async def test_whole_registration_with_buttons_and_lists_only(h: WhatsAppHarness, lang: str) -> None:
    await h.wa_send(AMINA, "السلام عليكم")
    first = h.graph.last_to(AMINA)
    assert first.interactive_type == "list"  # five languages: more than WhatsApp's 3 buttons
    assert [t for _, t in first.buttons] == picker("ary")  # a Moroccan number: Darija first
    await h.wa_tap(AMINA, f"lang:{lang}")
    await h.wa_tap(AMINA, "consent:yes")
    assert EXPECT[lang][0] in h.graph.last_to(AMINA).text
    await h.wa_send(AMINA, "Amina Benali")
    # No phone question: WhatsApp gave the number. Regions (12 + back + cancel) come as two lists.
    region_lists = h.graph.to(AMINA)[-2:]
    assert [m.interactive_type for m in region_lists] == ["list", "list"]
    assert [len(m.rows) for m in region_lists] == [7, 7]
    assert region_lists[0].body["interactive"]["action"]["button"] == EXPECT[lang][3]
    await h.wa_tap(AMINA, "region:MS")
    craft_lists = h.graph.to(AMINA)[-3:]
    assert [len(m.rows) for m in craft_lists] == [7, 7, 7]
    await h.wa_tap(AMINA, "craft:zellige")
    await h.wa_tap(AMINA, "cnie:skip")
    summary = h.graph.last_to(AMINA)
    assert summary.interactive_type == "list" and "+212612345678" in summary.text
    await h.wa_tap(AMINA, "reg:confirm")
    texts = h.wa_texts(AMINA)
    assert EXPECT[lang][1] in texts[-2] and EXPECT[lang][2] in texts[-1]
    assert h.graph.refused == []  # every message respected Meta's limits
    assert not any("0612345678" in t for t in texts)  # the number was never asked for
    [row] = await rows(h, artisans)
    assert row["phone"] == "+212612345678" and row["phone_verified"] is True
    assert row["full_name"] == "Amina Benali" and row["locale"] == lang
    assert row["region"] == "MS" and row["craft"] == "zellige"
    [identity] = await rows(h, identities)
    assert identity["channel"] == "whatsapp" and identity["external_id"] == AMINA
    assert identity["chat_id"] == AMINA


async def test_typed_numbers_and_labels_answer_too(h: WhatsAppHarness) -> None:
    await h.wa_send(AMINA, "salam")
    await h.wa_send(AMINA, "4")  # Français (Darija, Arabic, Tamazight come first)
    await h.wa_send(AMINA, "1")  # consent
    await h.wa_send(AMINA, "Karim Alaoui")
    await h.wa_send(AMINA, "٧")  # Marrakech-Safi, in Arabic-Indic digits
    await h.wa_send(AMINA, "Poterie")
    await h.wa_tap(AMINA, "cnie:skip")
    await h.wa_tap(AMINA, "reg:confirm")
    [row] = await rows(h, artisans)
    assert row["region"] == "MS" and row["craft"] == "pottery" and row["full_name"] == "Karim Alaoui"


async def test_phone_registered_on_telegram_links_the_same_artisan(h: WhatsAppHarness) -> None:
    await h.register(101, "fr", phone="+212612345678")  # on Telegram, contact shared
    await h.wa_send(AMINA, "bonjour")
    await h.wa_tap(AMINA, "lang:fr")
    await h.wa_tap(AMINA, "consent:yes")
    await h.wa_send(AMINA, "Amina Benali")
    ask = h.graph.last_to(AMINA)
    assert "Un profil existe déjà" in ask.text and "+2126" in ask.text
    assert [i for i, _ in ask.buttons] == ["link:yes", "link:no", "nav:cancel"]
    await h.wa_tap(AMINA, "link:yes")
    assert any("liée à votre profil" in t for t in h.wa_texts(AMINA)[-2:])
    [artisan] = await rows(h, artisans)
    links = {(r["channel"], r["artisan_id"]) for r in await rows(h, identities)}
    assert links == {("telegram", artisan["id"]), ("whatsapp", artisan["id"])}


async def test_declining_the_link_links_nothing(h: WhatsAppHarness) -> None:
    await h.register(101, "en", phone="+212612345678")
    await h.wa_send(AMINA, "hello")
    await h.wa_tap(AMINA, "lang:en")
    await h.wa_tap(AMINA, "consent:yes")
    await h.wa_send(AMINA, "Amina Benali")
    await h.wa_tap(AMINA, "link:no")
    assert len(await rows(h, artisans)) == 1
    assert {r["channel"] for r in await rows(h, identities)} == {"telegram"}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("ar", "لا أفهم الرسائل الصوتية"), ("fr", "messages vocaux"), ("en", "voice messages")],
)
async def test_voice_note_gets_a_friendly_answer_in_their_language(
    h: WhatsAppHarness, lang: str, expected: str
) -> None:
    await h.wa_send(AMINA, "salam")
    await h.wa_tap(AMINA, f"lang:{lang}")
    await h.wa_tap(AMINA, "consent:yes")
    await h.post(h.graph.voice(AMINA))
    texts = h.wa_texts(AMINA)
    assert expected in texts[-2]
    assert EXPECT[lang][0] in texts[-1]  # and the question again


@pytest.mark.parametrize("make", ["image", "sticker", "location"])
async def test_other_media_get_the_text_and_buttons_answer(h: WhatsAppHarness, make: str) -> None:
    await h.wa_send(AMINA, "salam")
    await h.wa_tap(AMINA, "lang:fr")
    await h.post(getattr(h.graph, make)(AMINA))
    assert "je ne lis ici que le texte et les boutons" in h.wa_texts(AMINA)[-2]


async def test_contact_cards_in_the_profile_only_their_own_counts(h: WhatsAppHarness) -> None:
    await h.wa_register(AMINA, "fr")
    await h.wa_tap(AMINA, "m:profile")
    await h.wa_tap(AMINA, "prof:edit:phone")
    await h.post(h.graph.contact(AMINA, "+212 6 61 23 45 67", owner_wa_id="212661234567"))
    assert "quelqu'un d'autre" in h.wa_texts(AMINA)[-2]
    await h.post(h.graph.contact(AMINA, "+212 6 12 34 56 78", owner_wa_id=AMINA))
    [row] = await rows(h, artisans)
    assert row["phone"] == "+212612345678" and row["phone_verified"] is True


async def test_staff_numbers_from_settings_are_admins(h: WhatsAppHarness) -> None:
    await h.wa_send(WA_ADMIN, "/whoami")  # Arabic, the default language
    assert "نتا: *مسؤول*" in h.graph.last_to(WA_ADMIN).text
    await h.wa_send(AMINA, "/whoami")
    assert "مسؤول" not in h.graph.last_to(AMINA).text
