"""Main menu, profile editing, language change, STOP / resume, delete my data, /whoami."""

from __future__ import annotations

from sqlalchemy import select

from storage.schema import artisans, conversations, identities
from tests.factories import picker
from tests.harness import ADMIN, Harness

USER = 501


async def artisan(h: Harness) -> dict[str, object]:
    async with h.app.db.read() as conn:
        return dict((await conn.execute(select(artisans))).mappings().one())


async def test_menu_shows_only_features_that_exist(h: Harness) -> None:
    await h.register(USER, "en")
    labels = h.labels(USER)
    assert "👤 My profile" in labels and "🗑 Delete my data" in labels
    assert "🔕 Stop notifications" in labels and "🔔 Resume notifications" not in labels
    for word in ("menu", "MENU", "القائمة", "/menu"):
        await h.send(USER, word)
        assert "Main menu" in h.last_text(USER)


async def test_profile_shows_and_edits_every_field(h: Harness) -> None:
    await h.register(USER, "fr", cnie="AB1234")
    await h.press(USER, "m:profile")
    card = h.last_text(USER)
    assert "Amina Benali" in card and "AB1234" in card and "Zellige" in card
    await h.press(USER, "prof:edit:name")
    await h.send(USER, "Amina El Idrissi")
    assert "Enregistré" in h.texts(USER)[-2]
    await h.press(USER, "prof:edit:region")
    await h.press(USER, "region:DT")
    await h.press(USER, "prof:edit:craft")
    await h.press(USER, "craft:other")
    await h.send(USER, "Fabrication de luths")
    await h.press(USER, "prof:edit:phone")
    await h.send(USER, "0700000001")
    await h.press(USER, "prof:edit:cnie")
    await h.send(USER, "zz99")
    row = await artisan(h)
    assert row["full_name"] == "Amina El Idrissi" and row["region"] == "DT"
    assert row["craft"] == "other" and row["craft_other"] == "Fabrication de luths"
    assert row["phone"] == "+212700000001" and row["cnie"] == "ZZ99"
    assert "Drâa-Tafilalet" in h.last_text(USER)


async def test_back_from_a_profile_question_returns_to_the_profile(h: Harness) -> None:
    await h.register(USER, "en")
    await h.press(USER, "m:profile")
    await h.press(USER, "prof:edit:name")
    await h.press(USER, "nav:back")
    assert "My profile" in h.last_text(USER)
    assert (await artisan(h))["full_name"] == "Amina Benali"


async def test_change_language_switches_every_message(h: Harness) -> None:
    await h.register(USER, "fr")
    await h.press(USER, "m:language")
    await h.press(USER, "lang:ar")
    assert "ملفي الشخصي" in h.last_text(USER)
    await h.send(USER, "/menu")
    assert "القائمة الرئيسية" in h.last_text(USER)
    assert (await artisan(h))["locale"] == "ar"


async def test_stop_and_resume_in_every_language(h: Harness) -> None:
    await h.register(USER, "ar")
    for stop, resume in (("توقف", "استئناف"), ("STOP", "START"), ("Arrêt", "reprendre")):
        await h.send(USER, stop)
        assert (await artisan(h))["opted_out"] is True
        assert "🔔" in " ".join(h.labels(USER))  # the menu now offers to resume
        await h.send(USER, resume)
        assert (await artisan(h))["opted_out"] is False


async def test_stop_works_in_the_middle_of_a_flow(h: Harness) -> None:
    await h.register(USER, "fr")
    await h.press(USER, "m:profile")
    await h.press(USER, "prof:edit:name")
    await h.send(USER, "stop")
    assert (await artisan(h))["opted_out"] is True
    assert "plus de notifications" in h.texts(USER)[-2]


async def test_delete_my_data_erases_personal_fields_after_confirmation(h: Harness) -> None:
    await h.register(USER, "en", cnie="BK1")
    await h.press(USER, "m:delete")
    await h.press(USER, "del:no")
    assert (await artisan(h))["full_name"] == "Amina Benali"
    await h.send(USER, "delete my data")
    await h.press(USER, "del:yes")
    assert "has been deleted" in h.last_text(USER)
    row = await artisan(h)
    for name in ("full_name", "phone", "cnie", "region", "craft", "craft_other", "consent_at"):
        assert row[name] is None, name
    assert row["erased_at"] is not None
    async with h.app.db.read() as conn:
        assert (await conn.execute(select(identities))).all() == []
        # Only the chosen language is kept, so that what follows is in it (issue 12 item 12).
        kept = (await conn.execute(select(conversations.c.state, conversations.c.data))).all()
        assert [(state, data) for state, data in kept] in ([], [(None, {"lang": "en"})])
    await h.send(USER, "/start")  # a new start is a new registration
    assert h.labels(USER) == picker(h.lang(USER))


async def test_whoami_tells_each_role(h: Harness) -> None:
    await h.send(ADMIN, "/whoami")
    assert "administrator" in h.last_text(ADMIN) or "administrateur" in h.last_text(ADMIN)
    await h.send(USER, "/whoami")
    assert "pas encore inscrit" in h.last_text(USER)
    await h.register(USER, "en")
    await h.send(USER, "/whoami")
    assert "registered artisan" in h.last_text(USER)


async def test_unknown_command_and_voice_note_get_helpful_answers(h: Harness) -> None:
    from tests import factories

    await h.register(USER, "ar")
    await h.send(USER, "/frobnicate")
    assert "لا أعرف هذا الأمر" in h.texts(USER)[-2]
    await h.feed(factories.voice_update(USER))  # a question to the chamber (issue 14), said so
    assert "توصلت الغرفة بسؤالك" in h.texts(USER)[-2]


async def test_blocking_the_bot_marks_the_identity_unreachable(h: Harness) -> None:
    from tests import factories

    await h.register(USER, "fr")
    await h.feed(factories.my_chat_member_update(USER, status="kicked"))
    async with h.app.db.read() as conn:
        assert (await conn.execute(select(identities.c.blocked))).scalar_one() is True
    await h.send(USER, "menu")  # writing again unblocks
    async with h.app.db.read() as conn:
        assert (await conn.execute(select(identities.c.blocked))).scalar_one() is False


async def test_staff_without_a_profile_get_their_menu_not_a_registration(h: Harness) -> None:
    from tests.harness import STAFF

    async with h.app.db.transaction() as conn:
        from storage import staff as staff_repo

        await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")
    h.languages[STAFF] = "en"
    await h.send(STAFF, "menu")
    labels = h.labels(STAFF)
    assert "📝 Register as an artisan" in labels
    assert "👤 My profile" not in labels
    assert any("training" in label.lower() for label in labels)
    await h.send(STAFF, "cancel")
    assert "Registration cancelled" not in h.last_text(STAFF)
    await h.press(STAFF, "nav:register")
    assert h.labels(STAFF) == picker(h.lang(STAFF))


async def test_artisans_never_see_or_open_staff_entries(h: Harness) -> None:
    await h.register(USER, "fr")
    staff_ids = [item.id for item in h.app.router.menu if item.role]
    assert staff_ids
    assert not any(label.startswith("🛠") for label in h.labels(USER))
    for item_id in staff_ids:
        await h.press_data(USER, f"m:{item_id}")
        assert "n'est plus disponible" in h.texts(USER)[-2]


async def test_typing_a_menu_label_without_its_emoji_opens_it(h: Harness) -> None:
    await h.register(USER, "fr")
    await h.send(USER, "mon profil")
    assert "Mon profil" in h.last_text(USER)


async def test_staff_find_their_tools_in_the_menu(h: Harness) -> None:
    h.languages[ADMIN] = "en"
    await h.send(ADMIN, "menu")
    labels = h.labels(ADMIN)
    for label in ("📣 Broadcast a message", "🗓 Broadcasts", "📊 Statistics", "👥 Staff members"):
        assert label in labels
    await h.press(ADMIN, "m:broadcast")
    assert any(data and data.startswith("bc:l:") for _, data in h.last(ADMIN).buttons)
