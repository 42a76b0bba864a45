"""The artisan's first conversation, through the real PTB application and the fake Bot API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import conversations as conversation_repo
from storage.schema import artisans, conversations, identities
from tests import factories
from tests.factories import picker
from tests.harness import Harness, sent_html

USER = 101

EXPECT = {
    "fr": ("Bienvenue, Amina Benali", "Menu principal", "Quel est votre <b>nom complet</b>"),
    "ar": ("مرحبًا Amina Benali", "القائمة الرئيسية", "ما هو <b>اسمك الكامل</b>"),
    "en": ("Welcome, Amina Benali", "Main menu", "What is your <b>full name</b>"),
}


async def artisan_rows(h: Harness) -> list[dict[str, object]]:
    async with h.app.db.read() as conn:
        return [dict(r) for r in (await conn.execute(select(artisans))).mappings()]


@pytest.mark.parametrize("lang", ["fr", "ar", "en"])
async def test_full_registration_in_each_language(h: Harness, lang: str) -> None:
    h.languages[USER] = lang
    await h.send(USER, "/start")
    assert h.labels(USER) == picker(lang)  # the Telegram app's language first
    await h.press(USER, f"lang:{lang}")
    await h.press(USER, "consent:yes")
    assert EXPECT[lang][2] in sent_html(h.last(USER))
    await h.send(USER, "  Amina   Benali ")
    contact_prompt = h.last(USER)
    assert contact_prompt.buttons[0][1] == "request_contact"
    await h.share_contact(USER, "212612345678")
    await h.press(USER, "region:MS")
    await h.press(USER, "craft:other")
    await h.send(USER, "Dinandier d'art")
    await h.send(USER, "bk 123456")
    summary = h.last_text(USER)
    assert "Amina Benali" in summary and "+212612345678" in summary and "BK123456" in summary
    await h.press(USER, "reg:confirm")
    texts = h.texts(USER)
    assert EXPECT[lang][0] in texts[-2]
    assert EXPECT[lang][1] in texts[-1]
    [row] = await artisan_rows(h)
    assert row["full_name"] == "Amina Benali"
    assert row["phone"] == "+212612345678" and row["phone_verified"] is True
    assert row["region"] == "MS" and row["craft"] == "other" and row["craft_other"] == "Dinandier d'art"
    assert row["cnie"] == "BK123456" and row["locale"] == lang
    assert row["consent_at"] is not None


async def test_typed_phone_numbered_answers_and_skipping_cnie(h: Harness) -> None:
    h.languages[USER] = "fr"
    await h.send(USER, "salam")  # an unknown user writing anything starts registration
    await h.send(USER, "1")  # "1" answers the numbered language choice: Français (the hint)
    await h.send(USER, "1")  # consent
    await h.send(USER, "أمينة بنعلي")
    await h.send(USER, "06 12 34 56 78")
    await h.send(USER, "7")  # Marrakech-Safi
    await h.send(USER, "Zellige")  # a typed label answers too
    await h.press(USER, "cnie:skip")
    await h.press(USER, "reg:confirm")
    [row] = await artisan_rows(h)
    assert row["phone"] == "+212612345678" and row["phone_verified"] is False
    assert row["region"] == "MS" and row["craft"] == "zellige" and row["cnie"] is None


async def test_back_and_edit_from_summary(h: Harness) -> None:
    h.languages[USER] = "en"
    await h.send(USER, "/start")
    await h.press(USER, "lang:en")
    await h.press(USER, "consent:yes")
    await h.send(USER, "Amina Benali")
    await h.press(USER, "nav:back")
    assert "full name" in h.last_text(USER)
    await h.send(USER, "Karim Alaoui")
    await h.send(USER, "0612345678")
    await h.press(USER, "region:CS")
    await h.send(USER, "back")  # the word works too
    assert "region" in h.last_text(USER)
    await h.press(USER, "region:FM")
    await h.press(USER, "craft:pottery")
    await h.press(USER, "cnie:skip")
    await h.press(USER, "reg:edit:region")
    await h.press(USER, "region:SM")
    assert "Souss-Massa" in h.last_text(USER)  # straight back to the summary
    await h.press(USER, "reg:confirm")
    [row] = await artisan_rows(h)
    assert row["full_name"] == "Karim Alaoui" and row["region"] == "SM"


async def test_cancel_at_any_step_keeps_nothing(h: Harness) -> None:
    h.languages[USER] = "fr"
    await h.send(USER, "/start")
    await h.press(USER, "lang:fr")
    await h.press(USER, "consent:yes")
    await h.send(USER, "Amina Benali")
    await h.send(USER, "/cancel")
    assert "Inscription annulée" in h.last_text(USER)
    assert await artisan_rows(h) == []
    async with h.app.db.read() as conn:
        state = (await conn.execute(select(conversations.c.data))).scalars().all()
    assert all("Amina" not in str(data) for data in state)


async def test_declining_consent_stores_nothing(h: Harness) -> None:
    await h.send(USER, "/start")
    await h.press(USER, "lang:fr")
    await h.press(USER, "consent:no")
    assert "rien n'a été enregistré" in h.last_text(USER)
    assert await artisan_rows(h) == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("x" * 5000, "trop long"),
        ("", "que le texte et les boutons"),
        ("12345", "ne ressemble pas à un nom"),
        ("😀🎉", "ne ressemble pas à un nom"),
    ],
)
async def test_bad_names_get_a_clear_answer(h: Harness, answer: str, expected: str) -> None:
    await h.send(USER, "/start")
    await h.press(USER, "lang:fr")
    await h.press(USER, "consent:yes")
    if answer:
        await h.send(USER, answer)
    else:
        await h.feed(factories.photo_update(USER))
    texts = h.texts(USER)
    assert any(expected in t for t in texts[-2:]), texts[-2:]
    assert "nom complet" in texts[-1]  # asked again


async def test_html_or_formula_looking_names_are_refused(h: Harness) -> None:
    # Issue 12 item 4: a name refuses what no person's name contains (tags, =, @, +, |...);
    # before, "<b>Ali</b> &amp; Co" and '=HYPERLINK(...)' were stored and reached exports.
    await h.send(USER, "/start")
    await h.press(USER, "lang:en")
    await h.press(USER, "consent:yes")
    for typed in ("<b>Ali</b> &amp; Co", '=HYPERLINK("http://x","Voir")', "@Ali", "+Ali Ben"):
        await h.send(USER, typed)
        assert "does not look like a name" in h.texts(USER)[-2], typed
    await h.send(USER, "Aït-Ben Haddou O’Neil")
    assert "does not look like a name" not in h.texts(USER)[-2]


async def test_invalid_phone_then_valid(h: Harness) -> None:
    await h.send(USER, "/start")
    await h.press(USER, "lang:ar")
    await h.press(USER, "consent:yes")
    await h.send(USER, "Amina Benali")
    await h.send(USER, "123")
    assert "رقم الهاتف غير صحيح" in h.texts(USER)[-2]
    await h.send(USER, "+212 612-345-678")
    assert "+212612345678" in h.texts(USER)[-2]


async def test_someone_elses_contact_is_refused(h: Harness) -> None:
    await h.send(USER, "/start")
    await h.press(USER, "lang:fr")
    await h.press(USER, "consent:yes")
    await h.send(USER, "Amina Benali")
    await h.share_contact(USER, "+212612345678", owner=555)
    assert "celui de quelqu'un d'autre" in h.texts(USER)[-2]
    await h.share_contact(USER, "+212612345678", owner=None)
    assert "celui de quelqu'un d'autre" in h.texts(USER)[-2]
    async with h.app.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(artisans))).scalar() == 0


async def test_forged_and_stale_buttons(h: Harness) -> None:
    await h.register(USER, "fr")
    await h.press_data(USER, "reg:confirm")  # stale: registration is over
    assert "n'est plus disponible" in h.texts(USER)[-2]
    await h.press_data(USER, "x" * 64)
    assert "n'est plus disponible" in h.texts(USER)[-2]
    await h.press_data(USER, "m:nonexistent")
    assert "n'est plus disponible" in h.texts(USER)[-2]
    assert len(await artisan_rows(h)) == 1


async def test_same_update_delivered_twice_is_handled_once(h: Harness) -> None:
    await h.send(USER, "/start")
    update = factories.callback_update(USER, "lang:fr")
    first = await h.feed(update)
    again = await h.feed(update)
    assert first and again == []


async def test_restart_mid_registration_resumes_at_the_same_step(h: Harness) -> None:
    await h.send(USER, "/start")
    await h.press(USER, "lang:ar")
    await h.press(USER, "consent:yes")
    await h.send(USER, "Amina Benali")
    await h.restart()
    await h.send(USER, "0612345678")
    assert "+212612345678" in h.texts(USER)[-2]
    assert "جهة" in h.last_text(USER)
    await h.press(USER, "region:RSK")
    await h.press(USER, "craft:carpets")
    await h.press(USER, "cnie:skip")
    await h.press(USER, "reg:confirm")
    [row] = await artisan_rows(h)
    assert row["full_name"] == "Amina Benali" and row["locale"] == "ar"


async def test_start_in_the_middle_of_registration_continues(h: Harness) -> None:
    await h.send(USER, "/start")
    await h.press(USER, "lang:en")
    await h.press(USER, "consent:yes")
    await h.send(USER, "/start")
    assert "continue" in h.texts(USER)[-2]
    assert "full name" in h.last_text(USER)


async def test_known_cnie_gets_the_same_answer_as_an_unknown_one(h: Harness) -> None:
    # Issue 12 item 2: "this CNIE is already registered" told anyone whether a CNIE was known.
    await h.register(USER, "en", cnie="BK123456")
    answers = []
    for other, cnie in ((202, "BK123456"), (203, "BK654321")):
        h.languages[other] = "en"
        await h.send(other, "/start")
        await h.press(other, "lang:en")
        await h.press(other, "consent:yes")
        await h.send(other, "Karim Alaoui")
        await h.send(other, "0698765432")
        await h.press(other, "region:CS")
        await h.press(other, "craft:pottery")
        await h.send(other, cnie)
        answers.append(h.texts(other)[-1].replace(cnie, "CNIE"))
        await h.press(other, "reg:confirm")
        answers.append(h.texts(other)[-2])
    assert answers[0] == answers[2] and answers[1] == answers[3]
    rows = {r["full_name"]: r for r in await artisan_rows(h)}
    assert len(await artisan_rows(h)) == 3
    cnies = sorted(str(r["cnie"]) for r in await artisan_rows(h))
    assert cnies == ["BK123456", "BK123456", "BK654321"]  # stored as typed: a claim
    assert rows


async def test_deep_link_payload_is_kept_through_registration(h: Harness) -> None:
    seen: list[str] = []

    async def open_session(ctx: object) -> None:
        seen.append(getattr(ctx, "args", ""))

    h.app.router.deeplinks["s"] = open_session
    h.languages[USER] = "fr"
    await h.send(USER, "/start s42")
    await h.press(USER, "lang:fr")
    await h.press(USER, "consent:yes")
    await h.send(USER, "Amina Benali")
    await h.share_contact(USER, "+212612345678")
    await h.press(USER, "region:MS")
    await h.press(USER, "craft:zellige")
    await h.press(USER, "cnie:skip")
    await h.press(USER, "reg:confirm")
    assert seen == ["s42"]


async def test_second_telegram_account_with_verified_phone_links_to_same_artisan(h: Harness) -> None:
    await h.register(USER, "fr", phone="+212612345678")
    other = 303
    await h.send(other, "/start")
    await h.press(other, "lang:fr")
    await h.press(other, "consent:yes")
    await h.send(other, "Amina B")
    await h.send(other, "0612345678")  # typed: not proof of ownership, and nothing is revealed
    assert "Numéro enregistré" in h.texts(other)[-2]
    await h.press(other, "region:MS")
    await h.press(other, "craft:zellige")
    await h.press(other, "cnie:skip")
    await h.press(other, "reg:edit:phone")
    await h.share_contact(other, "+212612345678")
    await h.press(other, "link:yes")
    assert len(await artisan_rows(h)) == 1
    async with h.app.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(identities))).scalar() == 2


async def test_a_conversation_stored_before_steps_were_enums_resumes(h: Harness) -> None:
    """The ``conversations`` table keeps the step as the text it always was ("reg.phone"): a
    conversation left mid-registration by an earlier version resumes there after an upgrade,
    answers and "back" included."""
    data = {"lang": "en", "consent": True, "reg": {"full_name": "Amina Benali"}}
    async with h.app.db.transaction() as conn:
        await conversation_repo.save(conn, "telegram", str(USER), "reg.phone", data, h.clock.now())
    await h.send(USER, "06 12 34 56 78")
    assert "In which <b>region</b> do you work?" in sent_html(h.last(USER))
    async with h.app.db.read() as conn:
        stored = (await conn.execute(select(conversations.c.state, conversations.c.data).where(
            conversations.c.user_id == str(USER)))).one()
    assert stored.state == "reg.region" and type(stored.state) is str
    assert stored.data["reg"]["phone"] == "+212612345678"
    await h.send(USER, "back")
    assert "What is your <b>phone number</b>?" in sent_html(h.last(USER))
