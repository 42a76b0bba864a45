"""Replies as WhatsApp widgets: button and list limits, in characters, Arabic included."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.whatsapp_render import Labels, measure, render, shorten, split_text
from bot.messages import Button, OutMessage
from tests.whatsapp_harness import WhatsAppHarness

LABELS = Labels(choose="اختر", pick_below="اختر جوابك:", more_choices="خيارات أخرى ({page}/{pages})",
                reply_number="أرسل رقم اختيارك.")
LONG_AR = "جهة الدار البيضاء سطات والنواحي المجاورة لها"  # 44 characters, 81 bytes in UTF-8


def buttons(count: int, label: str = "خيار") -> list[Button]:
    return [Button(f"c:{i}", f"{label} {i}") for i in range(1, count + 1)]


def test_up_to_three_choices_are_reply_buttons_with_short_titles() -> None:
    message = OutMessage("هل توافق؟", [Button("yes", LONG_AR), Button("no", "لا"),
                                      Button("nav:back", "⬅️ رجوع")])
    [part] = render(message, LABELS)
    interactive = part.body["interactive"]
    assert interactive["type"] == "button"
    titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    assert titles[0] == "جهة الدار البيضاء…"  # cut at a word boundary, then "…"
    assert all(measure(t) <= 20 for t in titles) and titles[1:] == ["لا", "⬅️ رجوع"]


def test_arabic_titles_are_measured_in_characters_not_bytes() -> None:
    exactly_20 = "ب" * 20  # 40 bytes in UTF-8: still fits
    [part] = render(OutMessage("؟", [Button("a", exactly_20)]), LABELS)
    assert part.body["interactive"]["action"]["buttons"][0]["reply"]["title"] == exactly_20


def test_four_to_ten_choices_are_one_list_with_full_labels_in_descriptions() -> None:
    words = ["شمال", "جنوب", "شرق", "غرب", "وسط", "ساحل", "جبل", "سهل", "واحة", "صحراء"]
    choices = [Button(f"r:{i}", f"{word} {LONG_AR}") for i, word in enumerate(words)]
    [part] = render(OutMessage("اختر جهتك", choices), LABELS)
    interactive = part.body["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "اختر"
    [section] = interactive["action"]["sections"]
    assert len(section["rows"]) == 10
    for row, button in zip(section["rows"], choices, strict=True):
        assert measure(row["title"]) <= 24 and row["title"].endswith("…")
        assert row["description"] == button.label  # about 50 characters: fits in 72


def test_descriptions_are_kept_and_shortened_to_72() -> None:
    choices = [Button(f"s:{i}", "دورة", description="تقنيات " * 20) for i in range(4)]
    [part] = render(OutMessage("الدورات", choices), LABELS)
    rows = part.body["interactive"]["action"]["sections"][0]["rows"]
    assert all(measure(r["description"]) <= 72 and r["description"].endswith("…") for r in rows)


def test_equal_titles_after_shortening_are_made_distinct() -> None:
    choices = [Button("a", LONG_AR + " أ"), Button("b", LONG_AR + " ب")]
    [part] = render(OutMessage("؟", choices), LABELS)
    titles = [b["reply"]["title"] for b in part.body["interactive"]["action"]["buttons"]]
    assert len(set(titles)) == 2 and all(measure(t) <= 20 for t in titles)


def test_eleven_to_thirty_choices_are_even_lists() -> None:
    parts = render(OutMessage("اختر حرفتك", buttons(21)), LABELS)
    assert [len(p.body["interactive"]["action"]["sections"][0]["rows"]) for p in parts] == [7, 7, 7]
    bodies = [p.body["interactive"]["body"]["text"] for p in parts]
    assert bodies == ["اختر حرفتك", "خيارات أخرى (2/3)", "خيارات أخرى (3/3)"]


def test_more_than_thirty_choices_are_numbered_text() -> None:
    [part] = render(OutMessage("اختر", buttons(31)), LABELS)
    body = part.body["text"]["body"]
    assert part.kind == "text" and "1. خيار 1" in body and "31. خيار 31" in body
    assert body.endswith("أرسل رقم اختيارك.")
    [unnumbered] = render(OutMessage("اختر", buttons(31), numbered=False), LABELS)
    assert "• خيار 31" in unnumbered.body["text"]["body"]
    assert "أرسل رقم" not in unnumbered.body["text"]["body"]


def test_question_longer_than_an_interactive_body_goes_ahead() -> None:
    question = "سؤال طويل جدا " * 100  # > 1024 characters
    parts = render(OutMessage(question, buttons(2)), LABELS)
    assert [p.kind for p in parts] == ["text", "interactive"]
    assert parts[1].body["interactive"]["body"]["text"] == "اختر جوابك:"


def test_html_becomes_whatsapp_markup_and_asking_for_the_phone_is_dropped() -> None:
    message = OutMessage("<b>مرحبا</b> <i>Amina</i> &lt;3", ask_contact=True, contact_label="📱")
    [part] = render(message, LABELS)
    assert part.body == {"type": "text", "text": {"body": "*مرحبا* _Amina_ <3", "preview_url": False}}


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Tanger-Tétouan-Al Hoceïma", 24, "Tanger-Tétouan-Al…"),
        ("Laâyoune-Sakia El Hamra", 24, "Laâyoune-Sakia El Hamra"),
        ("🔕 Arrêter les notifications", 24, "🔕 Arrêter les…"),
        ("Anticonstitutionnellement", 20, "Anticonstitutionnel…"),
        ("  espaces   en   trop  ", 20, "espaces en trop"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


def test_shorten_never_leaves_a_mark_without_its_letter() -> None:
    vowelled = "مُحَمَّدٌ" * 5  # letters with their harakat, no space
    short = shorten(vowelled, 10)
    assert measure(short) <= 10 and short.endswith("…")
    assert vowelled.startswith(short[:-1]) and not vowelled[len(short) - 1].isspace()
    assert not unicodedata.combining(vowelled[len(short) - 1])  # the next one is a letter


@given(st.text(min_size=0, max_size=200), st.integers(min_value=2, max_value=80))
def test_shorten_always_fits(text: str, limit: int) -> None:
    short = shorten(text, limit)
    assert measure(short) <= max(limit, 2)


@given(st.text(alphabet=st.sampled_from("ab ج\n😀"), min_size=0, max_size=600))
def test_split_text_keeps_every_piece_within_the_limit(text: str) -> None:
    pieces = split_text(text, 50)
    assert all(measure(p) <= 50 for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[WhatsAppHarness]:
    async with WhatsAppHarness.open(tmp_path) as harness:
        yield harness


async def test_every_arabic_widget_of_registration_is_accepted_by_meta(h: WhatsAppHarness) -> None:
    await h.wa_register("212612345678", "ar")
    assert h.graph.refused == []
    lists = [m for m in h.graph.to("212612345678") if m.interactive_type == "list"]
    assert lists and all(len(m.rows) <= 10 for m in lists)
    assert all(measure(r["title"]) <= 24 for m in lists for r in m.rows)
