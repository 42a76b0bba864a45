"""Typed words understood everywhere, end to end on the fake Bot API (see bot/understanding.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.understanding import Lexicon
from storage.schema import artisans
from tests.harness import Harness, shown
from tests.sessions_support import artisan_id, make_session, statuses

AMINA, KARIM, SALMA = 111, 112, 113


async def test_typed_yes_at_enrol_confirmation_enrols_instead_of_dropping_the_question(h: Harness) -> None:
    """Issue 12 item 11: "oui" / "نعم" at the enrol confirmation went to the main menu."""
    session = await make_session(h, capacity=5)
    for user, lang, yes in ((AMINA, "fr", "oui"), (KARIM, "ar", "نعم")):
        await h.register(user, lang)
        await h.press(user, "m:trainings")
        await h.press(user, f"s:open:{session}")
        await h.press(user, f"s:enrol:{session}")
        await h.send(user, yes)
        assert (await statuses(h, session))[await artisan_id(h, user)] == "enrolled"


async def test_a_miss_at_a_confirmation_keeps_the_question_short_and_numbered(h: Harness) -> None:
    session = await make_session(h, capacity=5)
    await h.register(AMINA, "fr")
    await h.send(AMINA, "/trainings")
    await h.press(AMINA, f"s:open:{session}")
    await h.press(AMINA, f"s:enrol:{session}")
    await h.send(AMINA, "euh je sais pas trop")
    reply = h.last(AMINA)
    assert shown(reply).startswith("Je n'ai pas compris. Répondez par un numéro")
    assert "1. ✅ Oui, m'inscrire" in shown(reply) and "2. Non" in shown(reply)
    assert [data for _, data in reply.buttons] == [f"s:enrolok:{session}", f"s:open:{session}"]
    assert "Menu principal" not in shown(reply)  # not thrown back to the menu
    await h.send(AMINA, "1")
    assert (await statuses(h, session))[await artisan_id(h, AMINA)] == "enrolled"


async def test_two_misses_in_a_row_offer_the_chamber_or_another_language(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.send(AMINA, "xyz")
    assert "Parler à la chambre" not in h.labels(AMINA)
    await h.send(AMINA, "blabla")
    labels = h.labels(AMINA)
    assert h.last_text(AMINA).startswith("Je ne comprends toujours pas")
    assert labels[-2:] == ["📞 Parler à la chambre", "🌐 Changer de langue"]
    # "talk to the chamber" (typed by its number): the artisan is asked to write their question
    await h.send(AMINA, str(len(labels) - 1))
    assert h.last_text(AMINA).startswith("Écrivez votre question")
    await h.send(AMINA, "menu")
    assert "Menu principal" in h.last_text(AMINA)
    # a good answer resets the count: one miss is only the short re-ask
    await h.send(AMINA, "zzz")
    assert "📞 Parler à la chambre" not in h.labels(AMINA)
    await h.send(AMINA, "qqq")
    await h.press(AMINA, "help:lang")
    assert "m:trainings" not in [d for _, d in h.last(AMINA).buttons]
    await h.send(AMINA, "english")
    async with h.app.db.read() as conn:
        locale = (await conn.execute(select(artisans.c.locale))).scalar_one()
    assert locale == "en"


async def test_a_new_artisan_registers_and_enrols_typing_as_to_a_friend(h: Harness) -> None:
    """Darija in Latin letters, only words and numbers, no button pressed."""
    now = h.clock.now()
    await make_session(h, starts_at=now + timedelta(days=2), craft="pottery", region="FM",
                       title={"ar": "الفخار العصري", "fr": "Poterie moderne", "en": "Modern pottery"})
    carpets = await make_session(h, starts_at=now + timedelta(days=3), craft="carpets", region="FM",
                                 title={"ar": "صباغة الزرابي", "fr": "Teinture des tapis"})
    h.languages[SALMA] = "fr"
    await h.send(SALMA, "salam")
    await h.send(SALMA, "darija 3afak")
    assert "consent:yes" in [d for _, d in h.last(SALMA).buttons]
    await h.send(SALMA, "iyeh")
    await h.send(SALMA, "Salma Idrissi")
    await h.send(SALMA, "0612345678")
    await h.send(SALMA, "ana mn fes")
    await h.send(SALMA, "zrabi")
    await h.send(SALMA, "ma3ndich")
    assert "reg:confirm" in [d for _, d in h.last(SALMA).buttons]
    await h.send(SALMA, "wakha")
    async with h.app.db.read() as conn:
        row = (await conn.execute(select(artisans))).mappings().one()
    assert (row["full_name"], row["region"], row["craft"], row["locale"], row["cnie"]) == (
        "Salma Idrissi", "FM", "carpets", "ary", None)
    await h.send(SALMA, "wach kayn chi formation?")
    assert "s:open:" in " ".join(d or "" for _, d in h.last(SALMA).buttons)
    await h.send(SALMA, "zrabi")  # the topic of a training
    assert f"s:enrol:{carpets}" in [d for _, d in h.last(SALMA).buttons]
    await h.send(SALMA, "bghit nsjl")
    assert f"s:enrolok:{carpets}" in [d for _, d in h.last(SALMA).buttons]
    await h.send(SALMA, "iyeh")
    assert (await statuses(h, carpets))[await artisan_id(h, SALMA)] == "enrolled"


async def test_words_that_work_everywhere_in_darija_and_tamazight(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.press(AMINA, "m:profile")
    await h.press(AMINA, "prof:edit:name")
    await h.send(AMINA, "rj3")  # back, from a step that waits for a name
    assert "prof:edit:name" in [d for _, d in h.last(AMINA).buttons]
    await h.press(AMINA, "prof:edit:name")
    await h.send(AMINA, "ⵙⵔⵙ")  # cancel
    assert "Annulé" in h.texts(AMINA)[-2]
    await h.send(AMINA, "chahada")  # a main-menu entry by a loose name
    await h.send(AMINA, "wgef")  # STOP in Darija
    async with h.app.db.read() as conn:
        opted_out = (await conn.execute(select(artisans.c.opted_out))).scalar_one()
    assert opted_out


async def test_a_name_that_starts_like_a_word_is_still_a_name(h: Harness) -> None:
    """At a free-text step only a whole answer is a command: "Retour" is back, a name is not."""
    h.languages[AMINA] = "fr"
    await h.send(AMINA, "/start")
    await h.press(AMINA, "lang:fr")
    await h.press(AMINA, "consent:yes")
    await h.send(AMINA, "Annulé Retour Benali")
    assert "Annulé Retour Benali" not in h.last_text(AMINA)  # moved on to the phone question
    assert "request_contact" in [d for _, d in h.last(AMINA).buttons]


def test_word_lists_missing_stop_the_start_instead_of_a_bot_that_understands_less(
    tmp_path: Path,
) -> None:
    """An install without ``locales/understanding/*.tsv`` once started and silently stopped
    understanding "wakha" or "oui" (tests/test_installed.py checks the install itself)."""
    with pytest.raises(FileNotFoundError, match="no word lists"):
        Lexicon.load(tmp_path)
