"""Voice help end to end: staff record voice prompts from the chat; artisans who want them hear
them on Telegram and WhatsApp; artisans' own voice notes are kept for the chamber."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.chamber_schema import question_messages
from storage.voice_schema import voice_help, voice_prompts
from tests import factories
from tests.harness import ADMIN, Harness
from tests.whatsapp_harness import WhatsAppHarness

AMINA, KARIM = 121, 122
WA_AMINA = "212612340001"
MENU = 0  # index of "menu.title" in handlers.voice.MESSAGES
NAME = 2  # "reg.ask_name"


async def prompts(h: Harness) -> list[dict[str, object]]:
    async with h.app.db.read() as conn:
        return [dict(r) for r in (await conn.execute(select(voice_prompts))).mappings()]


async def record(h: Harness, index: int, lang: str, content: bytes, file_id: str) -> None:
    """Staff (the admin) record a voice note through the chat, as they would."""
    h.api.add_file(content, file_id=file_id, mime_type="audio/ogg")
    await h.send(ADMIN, "/voice")
    await h.press(ADMIN, f"vp:m:{index}")
    await h.press(ADMIN, f"vp:l:{index}:{lang}")
    await h.press(ADMIN, f"vp:rec:{index}:{lang}")
    await h.feed(factories.voice_update(ADMIN, file_id=file_id, file_size=len(content)))


def voices_to(h: Harness, user: int) -> list[str]:
    return [str(m.params.get("voice")) for m in h.api.messages_to(user) if m.method == "sendVoice"]


async def test_staff_record_replace_listen_and_delete_a_voice_prompt(h: Harness) -> None:
    await record(h, MENU, "fr", b"OggS-first-take", "VOICE-1")
    assert h.texts(ADMIN)[-2] == "✅ Message vocal enregistré."
    assert "Menu principal · Français" in h.last_text(ADMIN)
    [row] = await prompts(h)
    assert (row["message_key"], row["lang"], row["content"], row["telegram_file_id"]) == (
        "menu.title", "fr", b"OggS-first-take", "VOICE-1")
    # the list shows it is recorded
    await h.send(ADMIN, "/voice")
    assert "🔊 Menu principal (fr)" in h.labels(ADMIN)
    # replace
    await record(h, MENU, "fr", b"OggS-second-take", "VOICE-2")
    assert h.texts(ADMIN)[-2] == "✅ Message vocal remplacé."
    [row] = await prompts(h)
    assert (row["content"], row["telegram_file_id"]) == (b"OggS-second-take", "VOICE-2")
    # listen: the voice note comes before the card
    await h.press(ADMIN, f"vp:play:{MENU}:fr")
    assert voices_to(h, ADMIN)[-1] == "VOICE-2"
    # something else than a voice note is refused, clearly
    await h.press(ADMIN, f"vp:rec:{MENU}:fr")
    await h.send(ADMIN, "bonjour")
    assert "Envoyez un message vocal" in h.texts(ADMIN)[-2]
    await h.send(ADMIN, "annuler")
    # delete, with a confirmation
    await h.press(ADMIN, f"vp:l:{MENU}:fr")
    await h.press(ADMIN, f"vp:del:{MENU}:fr")
    await h.press(ADMIN, f"vp:delok:{MENU}:fr")
    assert h.texts(ADMIN)[-2] == "🗑 Message vocal supprimé."
    assert await prompts(h) == []


async def test_artisans_cannot_reach_the_voice_prompts(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.send(AMINA, "/voice")
    await h.press_data(AMINA, f"vp:rec:{MENU}:fr")
    assert "réservé au personnel" in h.last_text(AMINA)
    await h.feed(factories.voice_update(AMINA))
    assert await prompts(h) == []


async def test_a_too_long_voice_note_gets_a_clear_answer(h: Harness) -> None:
    await h.send(ADMIN, "/voice")
    await h.press(ADMIN, f"vp:m:{MENU}")
    await h.press(ADMIN, f"vp:l:{MENU}:fr")
    await h.press(ADMIN, f"vp:rec:{MENU}:fr")
    await h.feed(factories.voice_update(ADMIN, file_size=6 * 1024 * 1024))
    assert "trop long" in h.texts(ADMIN)[-2]
    assert await prompts(h) == []


async def test_voice_help_chosen_at_registration_plays_the_voice_before_each_step(h: Harness) -> None:
    await record(h, NAME, "fr", b"OggS-name", "VOICE-NAME")
    await record(h, MENU, "fr", b"OggS-menu", "VOICE-MENU")
    for user, consent in ((AMINA, "consent:voice"), (KARIM, "consent:yes")):
        h.languages[user] = "fr"
        await h.send(user, "/start")
        await h.press(user, "lang:fr")
        await h.press(user, consent)
        await h.send(user, "Amina Benali")
        await h.share_contact(user, f"+2126{user:08d}")
        await h.press(user, "region:MS")
        await h.press(user, "craft:zellige")
        await h.press(user, "cnie:skip")
        await h.press(user, "reg:confirm")
    # the voice note goes just before the question, by Telegram's file id (no new upload)
    amina = h.api.messages_to(AMINA)
    name_question = next(i for i, m in enumerate(amina) if "nom complet" in (m.text or ""))
    assert amina[name_question - 1].method == "sendVoice"
    assert voices_to(h, AMINA) == ["VOICE-NAME", "VOICE-MENU"]
    assert voices_to(h, KARIM) == []
    async with h.app.db.read() as conn:
        assert len((await conn.execute(select(voice_help))).all()) == 1
    # turned off from the profile: no more voice
    await h.press(AMINA, "m:profile")
    await h.press(AMINA, "vh:toggle")
    assert "Aide vocale désactivée" in h.texts(AMINA)[-2]
    await h.send(AMINA, "menu")
    assert voices_to(h, AMINA) == ["VOICE-NAME", "VOICE-MENU"]
    # and on again
    await h.press(AMINA, "m:profile")
    await h.press(AMINA, "vh:toggle")
    await h.send(AMINA, "menu")
    assert voices_to(h, AMINA)[-1] == "VOICE-MENU"


async def test_an_artisans_voice_note_becomes_a_question_to_the_chamber(h: Harness) -> None:
    await h.register(AMINA, "fr")
    h.api.add_file(b"OggS-question", file_id="Q-1", mime_type="audio/ogg")
    await h.press(AMINA, "m:profile")
    await h.press(AMINA, "prof:edit:name")
    await h.feed(factories.voice_update(AMINA, file_id="Q-1"))
    texts = h.texts(AMINA)
    assert "La chambre a reçu votre question" in texts[-2]
    assert "nom complet" in texts[-1]  # the question on screen, again
    async with h.app.db.read() as conn:
        [row] = (await conn.execute(select(question_messages))).mappings().all()
    assert (row["kind"], row["file_channel"], row["file_id"]) == ("voice", "telegram", "Q-1")
    # "delete my data" takes it away
    await h.send(AMINA, "/delete")
    await h.press(AMINA, h.last(AMINA).buttons[0][1] or "")
    async with h.app.db.read() as conn:
        assert (await conn.execute(select(question_messages))).all() == []


async def test_voice_help_on_whatsapp_uploads_once_then_sends_by_media_id(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await record(h, NAME, "ar", b"OggS-ism", "VOICE-ISM")
        await record(h, MENU, "ar", b"OggS-qaima", "VOICE-QAIMA")
        await h.wa_send(WA_AMINA, "salam")
        await h.wa_tap(WA_AMINA, "lang:ar")
        await h.wa_tap(WA_AMINA, "consent:voice")
        sent = h.graph.to(WA_AMINA)
        assert sent[-2].type == "audio" and "الاسم" in sent[-1].text
        media_id = sent[-2].body["audio"]["id"]
        assert h.graph.uploads[media_id][2].find(b"OggS-ism") >= 0
        await h.wa_send(WA_AMINA, "Amina Benali")
        for tap in ("region:FM", "craft:carpets", "cnie:skip", "reg:confirm"):
            await h.wa_tap(WA_AMINA, tap)
        audio = [m for m in h.graph.to(WA_AMINA) if m.type == "audio"]
        assert len(audio) == 2  # the name question, then the menu
        await h.wa_send(WA_AMINA, "menu")
        audio = [m for m in h.graph.to(WA_AMINA) if m.type == "audio"]
        assert len(audio) == 3 and audio[-1].body["audio"]["id"] == audio[-2].body["audio"]["id"]
        assert len(h.graph.uploads) == 2  # each note uploaded once to Meta
        rows = await prompts(h)
        assert all(r["whatsapp_media_id"] for r in rows)
        # a WhatsApp artisan's voice note becomes a question to the chamber (by its media id)
        await h.post(h.graph.voice(WA_AMINA))
        async with h.app.db.read() as conn:
            [row] = (await conn.execute(select(question_messages))).mappings().all()
        assert (row["file_channel"], row["file_id"]) == ("whatsapp", "1003456789")


async def test_staff_record_from_whatsapp_and_artisans_hear_it_on_telegram_and_whatsapp(
    tmp_path: Path,
) -> None:
    """Issue 14: a prompt recorded on WhatsApp (downloaded through Meta's media URL) reaches an
    artisan with voice help on Telegram (uploaded once, then by file id) and on WhatsApp
    (uploaded to Meta once: the id of the staff's own note cannot be sent back)."""
    from tests.whatsapp_harness import WA_ADMIN

    async with WhatsAppHarness.open(tmp_path) as h:
        await h.wa_send(WA_ADMIN, "/voice")
        await h.wa_tap(WA_ADMIN, f"vp:m:{NAME}")
        await h.wa_tap(WA_ADMIN, f"vp:l:{NAME}:fr")
        await h.wa_tap(WA_ADMIN, f"vp:rec:{NAME}:fr")
        await h.post(h.graph.voice(WA_ADMIN, b"OggS-nom-complet", media_id="2000000000001"))
        assert "✅" in h.wa_texts(WA_ADMIN)[-2] and "Français" in h.wa_texts(WA_ADMIN)[-1]  # saved
        [row] = await prompts(h)
        assert (row["message_key"], row["content"]) == ("reg.ask_name", b"OggS-nom-complet")
        assert row["recorded_by"] == f"whatsapp:{WA_ADMIN}"
        # on WhatsApp: "listen" uploads it to Meta and plays it back to the staff member
        await h.wa_tap(WA_ADMIN, f"vp:play:{NAME}:fr")
        played = [m for m in h.graph.to(WA_ADMIN) if m.type == "audio"]
        assert len(played) == 1 and played[0].body["audio"]["id"] != "2000000000001"

        # an artisan with voice help on Telegram hears it before the name question
        h.languages[AMINA] = "fr"
        await h.send(AMINA, "/start")
        await h.press(AMINA, "lang:fr")
        await h.press(AMINA, "consent:voice")
        amina = h.api.messages_to(AMINA)
        assert amina[-2].method == "sendVoice" and "nom complet" in (amina[-1].text or "")
        [row] = await prompts(h)
        file_id = str(row["telegram_file_id"])  # uploaded from the bytes, its id remembered
        assert h.api.files[file_id].content == b"OggS-nom-complet"
        await h.send(AMINA, "Amina Benali")
        await h.press(AMINA, "nav:back")  # the name question again: sent by file id this time
        assert voices_to(h, AMINA)[-1] == file_id

        # and one on WhatsApp
        await h.wa_send(WA_AMINA, "salam")
        await h.wa_tap(WA_AMINA, "lang:fr")
        await h.wa_tap(WA_AMINA, "consent:voice")
        sent = h.graph.to(WA_AMINA)
        assert sent[-2].type == "audio" and "nom complet" in sent[-1].text
        media_id = sent[-2].body["audio"]["id"]
        assert h.graph.uploads[media_id][2].find(b"OggS-nom-complet") >= 0
        assert media_id == played[0].body["audio"]["id"]  # uploaded once, reused
        [row] = await prompts(h)
        assert row["telegram_file_id"] == file_id and row["whatsapp_media_id"] == media_id
