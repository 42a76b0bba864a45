"""Ask the chamber on Telegram: the artisan asks (text, voice), staff answer in the staff group's
forum topic (or in the bot's inbox without a group), the artisan gets the answer once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.scheduler import Scheduler
from handlers import questions
from storage import questions as repo
from storage import staff as staff_repo
from tests import factories
from tests.harness import STAFF, Harness

pytestmark = pytest.mark.asyncio

ARTISAN = 501
GROUP = -1001234567890
# Tuesday 10:00 in Casablanca (UTC+1).
TUESDAY = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)
CHAMBER = {"phone": "+212 535 00 00 00", "address": "Avenue des Almohades, Fès",
           "map_url": "https://maps.example.org/chambre", "answer_hours": 8}


async def _staff(h: Harness) -> None:
    async with h.app.db.transaction() as conn:
        await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")


def _group(**extra: object) -> dict[str, object]:
    return {"telegram": {"staff_group_id": GROUP}, "chamber": CHAMBER, "default_locale": "fr", **extra}


async def test_voice_question_reaches_the_topic_and_the_staff_answer_comes_back(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), **_group()) as h:
        h.api.make_forum(GROUP)
        await _staff(h)
        await h.register(ARTISAN, "fr", name="Amina Benali", region="region:FM")
        await h.press(ARTISAN, "m:ask")
        h.api.add_file(b"OggS-artisan-voice", file_id="VOICE-A1", mime_type="audio/ogg")
        await h.feed(factories.voice_update(ARTISAN, file_id="VOICE-A1"))
        # Told it arrived and by when: 8 opening hours after Tuesday 10:00 = Wednesday 10:00.
        received = next(t for t in h.texts(ARTISAN) if "reçu votre question" in t)
        assert "mercredi" in received and "10:00" in received
        await h.send(ARTISAN, "C'est pour le dossier VAEP")

        await questions.relay(h.app.services)
        await h.deliver_all()
        topics = h.api.topics[GROUP]
        assert len(topics) == 1
        (thread, topic), = topics.items()
        assert topic["name"].startswith("Amina Benali")
        assert "Fès" in topic["name"] and "Français" in topic["name"]
        posted = h.api.in_topic(GROUP, thread)
        assert "Derniers messages" in (posted[0].plain_text or "")  # the card first
        assert posted[1].method == "sendVoice" and posted[1].document == b"OggS-artisan-voice"
        assert "dossier VAEP" in (posted[2].plain_text or "")
        # Running the relay again sends nothing more.
        await questions.relay(h.app.services)
        await h.deliver_all()
        assert len(h.api.in_topic(GROUP, thread)) == 3

        before = len(h.api.messages_to(ARTISAN))
        update = factories.topic_update(STAFF, GROUP, thread, text="Apportez votre CNIE mardi.")
        await h.feed(update)
        await h.feed(update)  # Telegram may deliver an update twice: answered once
        h.api.add_file(b"OggS-staff-voice", file_id="VOICE-S1", mime_type="audio/ogg")
        await h.feed(factories.topic_update(STAFF, GROUP, thread, voice_file_id="VOICE-S1"))
        await h.deliver_all()
        got = h.api.messages_to(ARTISAN)[before:]
        assert [m.method for m in got] == ["sendMessage", "sendVoice"]
        assert "Réponse de la chambre" in (got[0].plain_text or "")
        assert "Apportez votre CNIE mardi." in (got[0].plain_text or "")
        assert got[1].document == b"OggS-staff-voice"
        async with h.app.db.read() as conn:
            question = await repo.latest_of(conn, 1)
            figures = await repo.figures(conn)
        assert question is not None and question.status == "answered"
        assert figures.asked == 1 and figures.answered == 1


async def test_a_reply_to_a_summons_typed_as_free_text_reaches_the_chamber(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), **_group()) as h:
        h.api.make_forum(GROUP)
        await h.register(ARTISAN, "fr")
        await h.send(ARTISAN, "Je ne peux pas venir le 15")
        assert "Envoyer ce message à la chambre" in h.last_text(ARTISAN)
        await h.press(ARTISAN, "q:send")
        assert any("reçu votre question" in t for t in h.texts(ARTISAN))
        await questions.relay(h.app.services)
        await h.deliver_all()
        (thread,) = h.api.topics[GROUP]
        assert any("Je ne peux pas venir le 15" in (m.plain_text or "")
                   for m in h.api.in_topic(GROUP, thread))


async def test_someone_in_the_group_who_is_not_staff_cannot_answer(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), **_group()) as h:
        h.api.make_forum(GROUP)
        await h.register(ARTISAN, "fr")
        await h.press(ARTISAN, "m:ask")
        await h.send(ARTISAN, "Bonjour, une question")
        await questions.relay(h.app.services)
        await h.deliver_all()
        (thread,) = h.api.topics[GROUP]
        before = len(h.api.messages_to(ARTISAN))
        await h.feed(factories.topic_update(7777, GROUP, thread, text="je réponds quand même"))
        await h.deliver_all()
        assert len(h.api.messages_to(ARTISAN)) == before
        assert "n'est pas membre du personnel" in (h.api.in_topic(GROUP, thread)[-1].plain_text or "")


async def test_without_a_group_staff_answer_from_the_bot_inbox(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), chamber=CHAMBER, default_locale="fr") as h:
        await _staff(h)
        await h.register(ARTISAN, "fr")
        await h.press(ARTISAN, "m:ask")
        await h.send(ARTISAN, "Quels documents pour la VAEP ?")
        await h.deliver_all()
        assert any("Nouvelle question" in t and "VAEP" in t for t in h.texts(STAFF))
        await h.press(STAFF, "Ouvrir")
        assert "Quels documents pour la VAEP" in h.last_text(STAFF)
        await h.press(STAFF, "qs:answer:1")
        await h.send(STAFF, "Votre CNIE et une attestation de travail.")
        await h.deliver_all()
        assert "Votre CNIE et une attestation de travail." in h.last_text(ARTISAN)
        h.clock.advance(30 * 60)
        await h.send(STAFF, "/stats")
        assert "Questions : 1 · répondues : 100 %" in h.last_text(STAFF)
        await h.press_data(STAFF, "qs:reopen:1")
        assert "rouverte" in " ".join(h.texts(STAFF)[-2:])


async def test_an_artisan_cannot_use_the_staff_inbox_buttons(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), chamber=CHAMBER, default_locale="fr") as h:
        await h.register(ARTISAN, "fr")
        await h.press(ARTISAN, "m:ask")
        await h.send(ARTISAN, "Ma question")
        await h.press_data(ARTISAN, "qs:open:1")
        assert "Ma question" not in h.last_text(ARTISAN)
        assert "personnel" in h.last_text(ARTISAN) or "réservé" in h.last_text(ARTISAN)


async def test_help_gives_the_chambers_phone_address_and_hours(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), chamber=CHAMBER, default_locale="fr") as h:
        await h.register(ARTISAN, "ar")
        await h.send(ARTISAN, "/help")
        text = " ".join(h.texts(ARTISAN)[-3:])
        assert "+212 535 00 00 00" in text and "Avenue des Almohades" in text
        assert "من الإثنين إلى الجمعة" in text and "08:30–16:30" in text
        assert "https://maps.example.org/chambre" in text


async def test_an_overdue_question_is_flagged_once_in_its_topic(tmp_path: Path) -> None:
    clock = FakeClock(TUESDAY)
    async with Harness.open(tmp_path, clock=clock, **_group()) as h:
        h.api.make_forum(GROUP)
        await h.register(ARTISAN, "fr")
        await h.press(ARTISAN, "m:ask")
        await h.send(ARTISAN, "Allô ?")
        await questions.relay(h.app.services)
        await h.deliver_all()
        (thread,) = h.api.topics[GROUP]
        clock.advance(6 * 3600)  # 16:00: still within the 8 opening hours
        await questions.flag_overdue(h.app.services)
        await h.deliver_all()
        assert not any("attend depuis" in (m.plain_text or "") for m in h.api.in_topic(GROUP, thread))
        clock.advance(20 * 3600)  # Wednesday 12:00: past Wednesday 10:00
        await questions.flag_overdue(h.app.services)
        await questions.flag_overdue(h.app.services)
        await h.deliver_all()
        late = [m for m in h.api.in_topic(GROUP, thread) if "attend depuis" in (m.plain_text or "")]
        assert len(late) == 1


async def test_first_message_of_a_new_artisan_reaches_the_staff_group_without_waiting_for_the_relay_job(
    tmp_path: Path,
) -> None:
    """Was: the first message of an artisan without a topic waited for the relay job's next
    period (5 s), the topic needing a Bot API call outside the transaction. Now the update wakes
    the job as soon as it commits: the topic is opened and the message posted with no tick."""
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), **_group()) as h:
        h.api.make_forum(GROUP)
        scheduler = Scheduler(h.app.services)  # not started: no periodic run can happen
        assert await scheduler.campaign()  # the one process holds the clock, as at start-up
        await h.register(ARTISAN, "fr", name="Amina Benali")
        await h.send(ARTISAN, "/ask")
        await h.send(ARTISAN, "Bonjour, où déposer mon dossier ?")
        await scheduler.settle()
        await h.deliver_all()
        (thread,) = h.api.topics[GROUP]
        posted = [m.plain_text or "" for m in h.api.in_topic(GROUP, thread)]
        assert "Amina Benali" in posted[0] and "où déposer mon dossier" in posted[1]
        # The next message goes in the same transaction (topic known): nothing to wake.
        await h.send(ARTISAN, "C'est urgent")
        assert not scheduler._woken
        await h.deliver_all()
        assert "C'est urgent" in (h.api.in_topic(GROUP, thread)[-1].plain_text or "")
        assert len(h.api.topics[GROUP]) == 1
