"""Issue 15's "done when", walked through as new users would, once on Telegram and once on
WhatsApp: a voice question answered from the staff group's topic (the artisan hears the answer);
a typed reply to a summons reaching the chamber; a Zellige session in Fès published (and edited)
by staff in the chat reaching the Zellige artisans of Fès-Meknès once; after the session the
present rate it and staff see the average; the attestation PDF opens, reads in Arabic and French
(rendered to a picture) and its QR code decodes to the verify URL, which says it is genuine."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest
import zxingcpp

from bot.clock import FakeClock
from handlers import aftercare, alerts, questions
from handlers.verification import sign
from storage import staff as staff_repo
from storage.report import collect as collect_report
from tests import factories
from tests.certification_support import do_import, phone_of, row, write_csv
from tests.harness import ADMIN, STAFF, Harness
from tests.whatsapp_harness import WhatsAppHarness

pytestmark = pytest.mark.asyncio

GROUP = -1001234567890
TUESDAY = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)  # 10:00 in Casablanca
KEY = "walkthrough-signing-key"
SETTINGS = {
    "telegram": {"staff_group_id": GROUP},
    "chamber": {"name": "Chambre d'Artisanat Fès-Meknès", "phone": "+212 535 00 00 00",
                "address": "Avenue des Almohades, Fès", "signing_key": KEY,
                "verify_url": "https://hirfa.example.ma"},
    "default_locale": "fr",
}


def in_topic(h: Harness, thread: int) -> list[str]:
    return [m.plain_text or "" for m in h.api.in_topic(GROUP, thread)]


async def staff_publishes_zellige_in_fes(h: Harness) -> int:
    """An admin creates the session in the chat, then (after it was announced) edits it."""
    h.languages[ADMIN] = "fr"
    await h.send(ADMIN, "/sessions")
    await h.press(ADMIN, "sa:new")
    await h.send(ADMIN, "Zellige de Fès")
    await h.press(ADMIN, "sa:skip")
    await h.press(ADMIN, "craft:zellige")
    await h.press(ADMIN, "region:FM")
    await h.send(ADMIN, "Dar Al Maâlem, Fès")
    await h.press(ADMIN, "sa:skip")
    await h.send(ADMIN, "19/05/2026 10:00")
    await h.send(ADMIN, "2h")
    await h.send(ADMIN, "10")
    await h.press(ADMIN, "sa:tr:ar")
    await h.send(ADMIN, "زليج فاس")
    await h.press(ADMIN, "sa:skip")
    await h.press(ADMIN, "sa:publish")
    link = re.search(r"start=s(\d+)", h.last_text(ADMIN))
    assert link is not None
    return int(link.group(1))


async def staff_edits_the_venue(h: Harness, session_id: int) -> None:
    await h.press_data(ADMIN, f"sa:edit:{session_id}")
    await h.press(ADMIN, "sa:f:venue")
    await h.send(ADMIN, "Dar Al Maâlem, salle 2, Fès")
    await h.press(ADMIN, "sa:publish")


def alerts_to(texts: list[str]) -> list[str]:
    return [t for t in texts if "nouvelle formation pour vous" in t or "تكوين جديد لك" in t]


async def check_attestation(h: Harness, pdf: bytes, picture: Path) -> str:
    """Open the PDF, read both languages, look at it as a picture, decode its QR code, and
    verify the link on Hirfa's HTTP server; return the page text."""
    document = pdfium.PdfDocument(pdf)
    page = document[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=2).to_pil()
    image.save(picture)
    page.close()
    document.close()
    assert "Attestation de participation" in text and "Zellige de Fès" in text
    assert "زليج فاس" in text  # the Arabic block (shaped, right-to-left) carries the title
    assert "le 19 mai 2026, de 10:00 à 12:00" in text  # was "de 10:00–12:00"
    found = zxingcpp.read_barcodes(image)
    urls = [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]
    reference = re.search(r"HA2026-\d{6}", text)
    assert reference is not None
    expected = f"https://hirfa.example.ma/verify/{sign(reference.group(0), KEY)}"
    assert urls == [expected]
    assert h.app.http is not None
    transport = httpx.ASGITransport(app=h.app.http.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hirfa") as client:
        page_html = (await client.get(urls[0].removeprefix("https://hirfa.example.ma"))).text
    assert "Attestation authentique" in page_html and "Zellige de Fès" in page_html
    return str(text)


async def test_walkthrough_on_telegram(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), **SETTINGS) as h:
        h.api.make_forum(GROUP)
        async with h.app.db.transaction() as conn:
            await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")
        amina, fatima, nadia, said = 901, 902, 903, 904
        await h.register(amina, "fr", name="Amina Benali", region="region:FM", craft="craft:zellige")
        await h.register(fatima, "ar", name="فاطمة الزهراء", region="region:FM", craft="craft:zellige")
        await h.register(nadia, "fr", name="Nadia Potier", region="region:FM", craft="craft:pottery")
        await h.register(said, "fr", name="Said Marrakchi", region="region:MS", craft="craft:zellige")

        # 1. A voice note at the menu is a question; staff answer by voice in the topic.
        h.api.add_file(b"OggS-amina-question", file_id="VOICE-A", mime_type="audio/ogg")
        await h.feed(factories.voice_update(amina, file_id="VOICE-A"))
        assert any("reçu votre question" in t for t in h.texts(amina))
        await questions.relay(h.app.services)
        await h.deliver_all()
        (thread,) = h.api.topics[GROUP]
        posted = h.api.in_topic(GROUP, thread)
        assert "Amina Benali" in (posted[0].plain_text or "")
        assert posted[1].method == "sendVoice" and posted[1].document == b"OggS-amina-question"
        h.api.add_file(b"OggS-staff-answer", file_id="VOICE-S", mime_type="audio/ogg")
        await h.feed(factories.topic_update(STAFF, GROUP, thread, voice_file_id="VOICE-S"))
        await h.deliver_all()
        heard = [m for m in h.api.messages_to(amina) if m.method == "sendVoice"]
        assert [m.document for m in heard] == [b"OggS-staff-answer"]
        async with h.app.db.read() as conn:  # the activity report counts it, answered
            period = await collect_report(conn, date(2026, 5, 1), date(2026, 5, 31), h.app.services.zone)
        asked = dict(period.section("report.sec_questions").figures)
        assert asked["report.fig_questions"] == 1 and asked["report.fig_answered"] == 1

        # 2. A summons; the typed reply reaches the chamber's topic.
        await do_import(h, write_csv(tmp_path / "register.csv", [
            row("VAEP-2026-0007", "BK000007", phone_of(amina), name="Amina Benali",
                stage="summoned", summons_date="20/05/2026", summons_time="09:30",
                summons_place="Institut de formation, Fès")]))
        h.clock.advance(timedelta(seconds=5))
        await h.deliver_all()
        assert "Prévenez vite la chambre" in h.last_text(amina) and "+212 535 00 00 00" in h.last_text(amina)
        await h.send(amina, "Je ne peux pas venir le 20, je suis malade")
        await h.press(amina, "q:send")
        await h.deliver_all()
        assert any("Je ne peux pas venir le 20" in t for t in in_topic(h, thread))

        # 3. Staff publish a Zellige session in Fès; edited after the alert: still one alert each.
        session_id = await staff_publishes_zellige_in_fes(h)
        await alerts.announce(h.app.services)
        await h.deliver_all()
        await staff_edits_the_venue(h, session_id)
        await alerts.announce(h.app.services)
        await h.deliver_all()
        assert len(alerts_to(h.texts(amina))) == 1 and "Zellige de Fès" in alerts_to(h.texts(amina))[0]
        assert len(alerts_to(h.texts(fatima))) == 1 and "زليج فاس" in alerts_to(h.texts(fatima))[0]
        assert alerts_to(h.texts(nadia)) == [] and alerts_to(h.texts(said)) == []

        # 4. Both enrol from the alert; Amina comes, Fatima does not; Amina rates, staff see it.
        for user in (amina, fatima):
            await h.press(user, f"s:enrol:{session_id}")
            await h.press(user, f"s:enrolok:{session_id}")
        h.clock.advance(timedelta(days=7))  # Tuesday 19 May, 10:00: the session starts
        await h.press_data(ADMIN, f"sa:att:{session_id}:0")
        await h.press(ADMIN, "✅ 1")
        await h.press(ADMIN, "❌ 2")
        h.clock.advance(timedelta(hours=3))
        await aftercare.ask_feedback(h.app.services)
        await h.deliver_all()
        await h.press(amina, "😄 5")
        await h.send(amina, "Très utile, merci")
        await h.press(fatima, f"fb:a:{session_id}:transport")
        await h.press_data(ADMIN, f"sa:open:{session_id}")
        assert "⭐ Avis : 5/5 · réponses : 1 · absences : 🚌 Transport : 1" in h.last_text(ADMIN)

        # 5. The attestation, from the button of the feedback message.
        await h.press(amina, "📜 Mon attestation")
        sent = h.last(amina)
        assert sent.method == "sendDocument" and sent.document is not None
        text = await check_attestation(h, sent.document, tmp_path / "attestation-telegram.png")
        assert "Amina Benali" in text
        await h.press_data(fatima, f"att:get:{session_id}")
        assert "الشهادة خاصة بمن سُجل حاضرا" in h.last_text(fatima)  # absent: no attestation


def uploaded_pdf(h: WhatsAppHarness, user: str) -> bytes:
    """The PDF of the last document sent to ``user`` on WhatsApp (uploaded to /media first)."""
    [document] = [m for m in h.graph.to(user) if m.type == "document"][-1:]
    raw = h.graph.uploads[document.body["document"]["id"]][2]
    start, end = raw.index(b"%PDF"), raw.rindex(b"%%EOF") + len(b"%%EOF")
    return raw[start:end]


async def test_walkthrough_on_whatsapp(tmp_path: Path) -> None:
    user = "212611110901"
    async with WhatsAppHarness.open(tmp_path, clock=FakeClock(TUESDAY), **SETTINGS) as h:
        h.api.make_forum(GROUP)
        async with h.app.db.transaction() as conn:
            await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")
        await h.wa_register(user, "ar", name="يوسف العلوي", region="region:FM", craft="craft:zellige")
        await h.wa_register("212611110902", "fr", name="Omar Potier", region="region:FM",
                            craft="craft:pottery")

        # 1. A voice note at the menu becomes a question; the staff's voice answer is heard.
        await h.post(h.graph.voice(user, content=b"OggS-youssef-question", media_id="1000000901"))
        assert any("توصلت الغرفة بسؤالك" in t for t in h.wa_texts(user))
        await questions.relay(h.app.services)
        await h.deliver_all()
        (thread,) = h.api.topics[GROUP]
        posted = h.api.in_topic(GROUP, thread)
        assert "يوسف العلوي" in (posted[0].plain_text or "")
        assert posted[1].method == "sendVoice" and posted[1].document == b"OggS-youssef-question"
        h.api.add_file(b"OggS-staff-answer", file_id="VOICE-S", mime_type="audio/ogg")
        await h.feed(factories.topic_update(STAFF, GROUP, thread, voice_file_id="VOICE-S"))
        await h.deliver_all()
        audio = [m for m in h.graph.to(user) if m.type == "audio"]
        assert len(audio) == 1
        assert b"OggS-staff-answer" in h.graph.uploads[audio[0].body["audio"]["id"]][2]

        # 2. A summons on WhatsApp; the typed reply (in Darija) reaches the chamber's topic.
        await do_import(h, write_csv(tmp_path / "register.csv", [
            row("VAEP-2026-0009", "BK000009", "+" + user, name="Youssef Alaoui", stage="summoned",
                summons_date="20/05/2026", summons_time="09:30",
                summons_place="Institut de formation, Fès")]))
        h.clock.advance(timedelta(seconds=5))
        await h.deliver_all()
        summons = next(t for t in reversed(h.wa_texts(user)) if "VAEP-2026-0009" in t)
        assert "أخبر الغرفة" in summons and "+212 535 00 00 00" in summons
        await h.wa_send(user, "ma nqderch nji nhar 20, ana mrid")
        await h.wa_tap(user, "q:send")
        await h.deliver_all()
        assert any("ma nqderch nji nhar 20" in t for t in in_topic(h, thread))

        # 3. Staff publish (then edit) a Zellige session in Fès: one alert, on WhatsApp.
        session_id = await staff_publishes_zellige_in_fes(h)
        await alerts.announce(h.app.services)
        await h.deliver_all()
        await staff_edits_the_venue(h, session_id)
        await alerts.announce(h.app.services)
        await h.deliver_all()
        told = alerts_to(h.wa_texts(user))
        assert len(told) == 1 and "زليج فاس" in told[0]
        assert alerts_to(h.wa_texts("212611110902")) == []

        # 4. Enrol from the alert, attend, rate 4 with a face; staff see the average.
        await h.wa_tap(user, f"s:enrol:{session_id}")
        await h.wa_tap(user, f"s:enrolok:{session_id}")
        # On the day, on the way, they look at their trainings (this also opens WhatsApp's
        # 24-hour window: see the note on messages with buttons outside it).
        h.clock.advance(timedelta(days=7) - timedelta(hours=2))
        await h.wa_tap(user, "s:mine")
        assert "زليج فاس" in h.graph.last_to(user).text
        h.clock.advance(timedelta(hours=2))
        await h.press_data(ADMIN, f"sa:att:{session_id}:0")
        await h.press(ADMIN, "✅ 1")
        h.clock.advance(timedelta(hours=3))
        await aftercare.ask_feedback(h.app.services)
        await h.deliver_all()
        asked = h.graph.last_to(user)
        assert "🙂 4" in [title for _, title in asked.buttons]
        await h.wa_tap(user, "🙂 4")
        await h.wa_tap(user, "fb:skip")
        await h.press_data(ADMIN, f"sa:open:{session_id}")
        assert "⭐ Avis : 4/5 · réponses : 1" in h.last_text(ADMIN)

        # 5. The attestation comes as a PDF document on WhatsApp.
        await h.wa_tap(user, f"att:get:{session_id}")
        text = await check_attestation(h, uploaded_pdf(h, user), tmp_path / "attestation-whatsapp.png")
        assert "يوسف العلوي" in text
