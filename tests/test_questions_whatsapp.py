"""Ask the chamber from WhatsApp: a voice question reaches the Telegram staff group's topic, the
staff voice answer comes back as WhatsApp audio; outside the 24-hour window as a template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from handlers import questions
from storage import staff as staff_repo
from tests import factories
from tests.harness import STAFF
from tests.whatsapp_harness import WhatsAppHarness

pytestmark = pytest.mark.asyncio

USER = "212611223344"
GROUP = -1009876543210
TUESDAY = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)


async def test_whatsapp_voice_question_and_answers_inside_and_outside_the_window(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path, clock=FakeClock(TUESDAY), default_locale="fr",
                                    telegram={"staff_group_id": GROUP}) as h:
        h.api.make_forum(GROUP)
        h.graph.approve("hirfa_notice")
        async with h.app.db.transaction() as conn:
            await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")
        await h.wa_register(USER, "fr", name="Youssef Alaoui", region="region:FM")
        await h.wa_tap(USER, "m:ask")
        await h.post(h.graph.voice(USER, content=b"OggS-whatsapp-voice", media_id="1000000042"))
        assert any("reçu votre question" in t for t in h.wa_texts(USER))

        await questions.relay(h.app.services)
        await h.deliver_all()
        (thread,) = h.api.topics[GROUP]
        voice = [m for m in h.api.in_topic(GROUP, thread) if m.method == "sendVoice"]
        assert [m.document for m in voice] == [b"OggS-whatsapp-voice"]

        h.api.add_file(b"OggS-staff-answer", file_id="VOICE-S2", mime_type="audio/ogg")
        await h.feed(factories.topic_update(STAFF, GROUP, thread, text="Oui, venez jeudi."))
        await h.feed(factories.topic_update(STAFF, GROUP, thread, voice_file_id="VOICE-S2"))
        await h.deliver_all()
        sent = h.graph.to(USER)[-3:]
        assert "Oui, venez jeudi." in sent[0].text
        # The voice answer: the audio itself (WhatsApp gives audio no caption), then its label.
        assert [m.type for m in sent[1:]] == ["audio", "text"]
        assert "Réponse de la chambre" in sent[2].text
        media_id = sent[1].body["audio"]["id"]
        assert b"OggS-staff-answer" in h.graph.uploads[media_id][2]

        # Two days later the window is shut: the answer goes as the approved notice template.
        h.clock.advance(timedelta(days=2))
        await h.feed(factories.topic_update(STAFF, GROUP, thread, text="Rappel : jeudi 9h."))
        await h.deliver_all()
        last = h.graph.last_to(USER)
        assert last.template_name == "hirfa_notice"
        assert "Rappel : jeudi 9h." in " ".join(last.template_params)
