"""Every catalog key exists in every language, with the same placeholders and valid markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.i18n import Catalogs, Msg, Translator, placeholders
from bot.timezones import load_zone

CATALOGS = Catalogs()
LANGS = CATALOGS.languages
REFERENCE = CATALOGS.keys("en")
ALLOWED_TAGS = re.compile(r"</?(b|i|u|s|code|pre)>")


def test_shipped_languages() -> None:
    assert set(LANGS) >= {"ar", "fr", "en"}


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


def test_morocco_time_follows_the_2026_change() -> None:
    """tzdata 2026c: UTC+1 until 2026-09-20, then permanent UTC+0 (never a fixed offset)."""
    zone = load_zone("Africa/Casablanca")
    summer = datetime(2026, 6, 1, 12, 0, tzinfo=UTC).astimezone(zone)
    winter = datetime(2026, 11, 1, 12, 0, tzinfo=UTC).astimezone(zone)
    assert summer.hour == 13
    assert winter.hour == 12
