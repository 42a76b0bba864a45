"""Every catalog key exists in every language, with the same placeholders and valid markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.i18n import Catalogs, Msg, Translator, placeholders
from bot.timezones import load_zone
from bot.translations import problems, status_of

CATALOGS = Catalogs()
LANGS = CATALOGS.languages
REFERENCE = CATALOGS.keys("en")
ALLOWED_TAGS = re.compile(r"</?(b|i|u|s|code|pre)>")


def test_shipped_languages() -> None:
    assert set(LANGS) >= {"ar", "ary", "zgh", "fr", "en"}


@pytest.mark.parametrize("lang", LANGS)
def test_same_keys_in_every_language(lang: str) -> None:
    keys = CATALOGS.keys(lang)
    assert sorted(set(REFERENCE) - set(keys)) == [], f"missing in {lang}"
    assert sorted(set(keys) - set(REFERENCE)) == [], f"only in {lang}"


@pytest.mark.parametrize("lang", LANGS)
def test_no_empty_translation(lang: str) -> None:
    empty = [k for k, texts in CATALOGS.keys(lang).items() if not all(t.strip() for t in texts)]
    assert empty == []


@pytest.mark.parametrize("lang", LANGS)
def test_same_placeholders(lang: str) -> None:
    wrong = {}
    for key, texts in CATALOGS.keys(lang).items():
        expected = set().union(*(placeholders(t) for t in REFERENCE[key]))
        for text in texts:
            if placeholders(text) - expected or (expected - placeholders(text) - {"count"}):
                wrong[key] = (placeholders(text), expected)
    assert wrong == {}


@pytest.mark.parametrize("lang", LANGS)
def test_tags_are_closed_in_order(lang: str) -> None:
    """<b><i>…</b></i> counts right but is broken HTML: Telegram refuses the whole message."""
    broken = {key: found for key, texts in CATALOGS.keys(lang).items() for text in texts
              if (found := [p for p in problems(text, REFERENCE[key], plural=len(texts) > 1)
                            if "closes" in p or "never closed" in p])}
    assert broken == {}


@pytest.mark.parametrize(("lang", "forms"), [("ar", 6), ("ary", 6), ("zgh", 2), ("fr", 3), ("en", 2)])
def test_plural_forms(lang: str, forms: int) -> None:
    """Darija counts like Arabic (one, two, 3-10, 11+ each have their form); Tamazight has a
    singular and a plural. Every plural text has every form, and each form says its number."""
    assert CATALOGS.catalogs[lang].num_plurals == forms
    for message in CATALOGS.catalogs[lang]:
        if message.id and message.pluralizable:
            assert isinstance(message.string, tuple | list), (lang, message.id)
            assert len(message.string) == forms, (lang, message.id)


@pytest.mark.parametrize("lang", ["ary", "zgh"])
def test_darija_and_tamazight_say_the_count(lang: str) -> None:
    t = Translator(CATALOGS, "ar")
    zone = load_zone("Africa/Casablanca")
    for n in (3, 11, 25, 104):
        assert str(n) in t.render(Msg("sess.hours", count=n), lang, zone)
    assert t.render(Msg("sess.hours", count=1), "zgh", zone) == "1 ⵜⵙⵔⴰⴳⵜ"
    assert t.render(Msg("sess.hours", count=2), "ary", zone) == "جوج ساعات"


def test_darija_needs_no_gender_brackets() -> None:
    """Forms that read for everyone, never "(ين)" / "(ة)" brackets."""
    bracketed = [k for k, texts in CATALOGS.keys("ary").items()
                 for text in texts if re.search(r"\((ين|ة|ي|ات)\)", text)]
    assert bracketed == []


def test_tamazight_is_written_in_tifinagh() -> None:
    tifinagh = re.compile("[\u2D30-\u2D7F]")
    arabic = re.compile("[\u0600-\u06FF]")
    texts = [t for texts in CATALOGS.keys("zgh").values() for t in texts]
    assert not any(arabic.search(t) for t in texts)
    worded = [t for t in texts if re.search(r"[^\W\d_]{3}", placeholder_free(t))]
    assert sum(bool(tifinagh.search(t)) for t in worded) / len(worded) > 0.9


def placeholder_free(text: str) -> str:
    return re.sub(r"\{[^}]*\}|<[^>]+>|[A-Z_]{3,}|https?://\S+|\S+\.(csv|xlsx|po)", "", text)


@pytest.mark.parametrize("lang", ["ary", "zgh"])
def test_texts_written_by_the_team_ship_as_draft(lang: str) -> None:
    statuses = {status_of(m) for m in CATALOGS.catalogs[lang] if m.id}
    assert statuses == {"draft"}


@pytest.mark.parametrize("lang", LANGS)
def test_markup_is_telegram_html(lang: str) -> None:
    for key, texts in CATALOGS.keys(lang).items():
        for text in texts:
            stripped = ALLOWED_TAGS.sub("", text)
            assert "<" not in stripped and ">" not in stripped, (lang, key)
            for tag in ("b", "i", "code"):
                assert text.count(f"<{tag}>") == text.count(f"</{tag}>"), (lang, key)


def test_arabic_has_six_plural_forms() -> None:
    assert CATALOGS.catalogs["ar"].num_plurals == 6


def test_parameters_are_escaped() -> None:
    t = Translator(CATALOGS, "ar")
    zone = load_zone("Africa/Casablanca")
    html = t.render(Msg("reg.done", name="<b>Ali</b> & co"), "en", zone)
    assert "&lt;b&gt;Ali&lt;/b&gt; &amp; co" in html
    assert "<b>Ali</b>" not in html


def test_dates_use_moroccan_month_names_in_arabic() -> None:
    t = Translator(CATALOGS, "ar")
    zone = load_zone("Africa/Casablanca")
    moment = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert "دجنبر" in t.format_datetime(moment, "ar", zone)
    assert "décembre" in t.format_datetime(moment, "fr", zone)
    assert "December" in t.format_datetime(moment, "en", zone)


def test_dates_and_numbers_are_readable_in_darija_and_tamazight() -> None:
    """Darija: the Moroccan Arabic month names. Tamazight: Tifinagh day and month names from
    CLDR's zgh, Latin digits, and the time as everywhere else."""
    t = Translator(CATALOGS, "ar")
    zone = load_zone("Africa/Casablanca")
    moment = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert t.format_datetime(moment, "ary", zone) == "الخميس، 3 دجنبر 2026 مع 09:00"
    assert t.format_datetime(moment, "zgh", zone) == "ⴰⴽⵡⴰⵙ 3 ⴷⵓⵊⴰⵏⴱⵉⵔ 2026 ⴳ 09:00"
    seats = t.render(Msg("sess.seats_left", count=1500), "zgh", zone)
    assert re.sub(r"\s", "", seats).startswith("ⵇⵇⵉⵎⵏ1500ⵏ")  # grouped with a space, Latin digits


def test_morocco_time_follows_the_2026_change() -> None:
    """tzdata 2026c: UTC+1 until 2026-09-20, then permanent UTC+0 (never a fixed offset)."""
    zone = load_zone("Africa/Casablanca")
    summer = datetime(2026, 6, 1, 12, 0, tzinfo=UTC).astimezone(zone)
    winter = datetime(2026, 11, 1, 12, 0, tzinfo=UTC).astimezone(zone)
    assert summer.hour == 13
    assert winter.hour == 12
