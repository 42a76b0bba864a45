"""After a session: the present rate it, the absent say why, staff see the average; the present
get an attestation PDF (Arabic and French) whose QR link is verified by /verify; a delivered VAEP
certificate is verified by the same page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import openpyxl
import pypdfium2 as pdfium
import pytest

from bot.clock import FakeClock
from handlers import aftercare
from handlers.verification import sign
from storage import certifications as cert_repo
from storage import enrolments as enrolment_repo
from storage import staff as staff_repo
from tests.harness import STAFF, Harness
from tests.sessions_support import make_session

pytestmark = pytest.mark.asyncio

START = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)
KEY = "test-signing-key-not-secret"
SETTINGS = {"chamber": {"signing_key": KEY, "verify_url": "https://hirfa.example.ma",
                        "name": "Chambre d'Artisanat Fès-Meknès"}}


async def _session_with(h: Harness, present: list[int], absent: list[int]) -> int:
    session_id = await make_session(h, starts_at=h.clock.now() + timedelta(days=1), capacity=5,
                                    title={"fr": "Techniques du zellige", "ar": "تقنيات الزليج"})
    async with h.app.db.transaction() as conn:
        for artisan_id, here in [(a, True) for a in present] + [(a, False) for a in absent]:
            enrolment = await enrolment_repo.enrol(conn, session_id, artisan_id, h.clock.now())
            assert enrolment is not None
            await enrolment_repo.mark(conn, enrolment.id, here, h.clock.now())
    h.clock.advance(timedelta(days=1, hours=3))
    return session_id


async def test_the_present_rate_the_absent_say_why_and_staff_see_the_average(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(START), **SETTINGS) as h:
        async with h.app.db.transaction() as conn:
            await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")
        await h.register(701, "fr", name="Amina Benali")   # artisan 1
        await h.register(702, "fr", name="Karim Tazi")     # artisan 2
        session_id = await _session_with(h, present=[1], absent=[2])
        await aftercare.ask_feedback(h.app.services)
        await aftercare.ask_feedback(h.app.services)  # asked once only
        await h.deliver_all()
        asks = [m for m in h.api.messages_to(701) if "Comment était la formation" in (m.plain_text or "")]
        assert len(asks) == 1 and "Techniques du zellige" in (asks[0].plain_text or "")
        assert [label for label, _ in asks[0].buttons][:5] == ["😞 1", "🙁 2", "😐 3", "🙂 4", "😄 5"]
        await h.press(701, "🙂 4")
        await h.send(701, "Très utile, merci")
        assert "Merci pour votre réponse" in h.last_text(701)
        assert any("Que s'est-il passé" in t for t in h.texts(702))
        await h.press(702, f"fb:a:{session_id}:transport")
        # Someone else cannot rate a session they were not in.
        await h.press_data(702, f"fb:r:{session_id}:1")
        await h.send(STAFF, "/feedback")
        await h.press(STAFF, f"fbs:{session_id}")
        summary = h.last_text(STAFF)
        assert "Réponses : 1" in summary and "moyenne : 4/5" in summary
        assert "Très utile, merci" in summary and "🚌 Transport : 1" in summary


async def test_the_session_staff_card_and_its_exports_show_the_feedback(tmp_path: Path) -> None:
    """The staff card of an ended session carries the average and the absences, with a tap to
    the full summary; the enrolment list (.csv and .xlsx) has each person's rating, reason and
    comment, and the .xlsx a "feedback" sheet with the figures."""
    async with Harness.open(tmp_path, clock=FakeClock(START), **SETTINGS) as h:
        async with h.app.db.transaction() as conn:
            await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")
        await h.register(721, "fr", name="Amina Benali")
        await h.register(722, "ar", name="كريم التازي")
        await h.register(723, "fr", name="Said Fassi")
        session_id = await _session_with(h, present=[1, 3], absent=[2])
        h.languages[STAFF] = "fr"
        await h.press_data(STAFF, f"sa:open:{session_id}")
        assert "Avis" not in h.last_text(STAFF)  # nobody answered yet: no line, no button
        assert f"fbs:{session_id}" not in [d for _, d in h.last(STAFF).buttons]

        await aftercare.ask_feedback(h.app.services)
        await h.deliver_all()
        await h.press(721, "😄 5")
        await h.send(721, "=HYPERLINK(\"x\") Très bien")
        await h.press(723, "🙂 4")
        await h.press(723, "fb:skip")
        await h.press(722, f"fb:a:{session_id}:sick")

        await h.press_data(STAFF, f"sa:open:{session_id}")
        card = h.last_text(STAFF)
        assert "⭐ Avis : 4,5/5 · réponses : 2 · absences : 🤒 Malade : 1" in card
        await h.press(STAFF, f"fbs:{session_id}")
        summary = h.last_text(STAFF)
        assert "moyenne : 4,5/5" in summary and "😄 1" in summary and "🙂 1" in summary
        assert "Très bien" in summary
        await h.press(STAFF, f"sa:open:{session_id}")  # back to the session
        assert "Places prises" in h.last_text(STAFF)

        await h.press_data(STAFF, f"sa:csv:{session_id}")
        csv_doc = h.last(STAFF).document
        assert csv_doc is not None
        table = list(csv.DictReader(io.StringIO(csv_doc.decode("utf-8-sig"))))
        by_name = {row["name"]: row for row in table}
        assert by_name["Amina Benali"]["rating"] == "5"
        assert by_name["Amina Benali"]["feedback_comment"].startswith("'=HYPERLINK")  # formula-safe
        assert by_name["Said Fassi"]["rating"] == "4" and by_name["Said Fassi"]["feedback_comment"] == ""
        assert by_name["كريم التازي"]["absence_reason"] == "sick"
        assert by_name["كريم التازي"]["rating"] == ""

        await h.press_data(STAFF, f"sa:xlsx:{session_id}")
        xlsx_doc = h.last(STAFF).document
        assert xlsx_doc is not None
        book = openpyxl.load_workbook(io.BytesIO(xlsx_doc))
        assert book.sheetnames == ["enrolments", "feedback"]
        figures = {str(r[0]): r[1] for r in book["feedback"].iter_rows(min_row=2, values_only=True)}
        assert figures["responses"] == 2 and figures["average"] == 4.5
        assert figures["rating_5"] == 1 and figures["rating_4"] == 1 and figures["absent_sick"] == 1
        header = [c.value for c in book["enrolments"][1]]
        assert "rating" in header and "absence_reason" in header


async def test_the_attestation_pdf_reads_in_both_languages_and_its_qr_link_verifies(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(START), **SETTINGS) as h:
        await h.register(711, "fr", name="Amina Benali")
        await h.register(712, "fr", name="Karim Tazi")
        session_id = await _session_with(h, present=[1], absent=[2])
        await h.send(711, "/attestations")
        await h.press(711, "📜 Techniques du zellige")
        sent = h.last(711)
        assert sent.method == "sendDocument" and sent.document is not None
        reference = "HA2026-000001"
        assert reference in (sent.plain_text or "")
        document = pdfium.PdfDocument(sent.document)
        page = document[0]
        text = page.get_textpage().get_text_range()
        assert "Attestation de participation" in text and "Amina Benali" in text
        assert f"https://hirfa.example.ma/verify/{sign(reference, KEY)}" in text
        page.render(scale=1.3).to_pil().save(tmp_path / "attestation.png")
        page.close()
        document.close()

        # Someone marked absent gets no attestation.
        await h.press_data(712, f"att:get:{session_id}")
        assert "marquées présentes" in h.last_text(712)

        assert h.app.http is not None
        transport = httpx.ASGITransport(app=h.app.http.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://hirfa") as client:
            good = await client.get(f"/verify/{sign(reference, KEY)}")
            forged = await client.get(f"/verify/{reference}.AAAAAAAAAAAAAAAA")
            other = await client.get(f"/verify/{sign('HA2026-000002', KEY)}")
            async with h.app.db.transaction() as conn:
                await cert_repo.create(conn, h.clock.now(), number="VAEP-2026-0042", cnie="AB123456",
                                       full_name="Youssef Alaoui", craft="Zellige",
                                       stage="delivered", stage_date=date(2026, 4, 2))
            vaep = await client.get(f"/verify/{sign('VAEP-2026-0042', KEY)}")
        assert good.status_code == 200 and "Attestation authentique" in good.text
        assert "Amina Benali" in good.text and "Techniques du zellige" in good.text
        assert "+212" not in good.text  # no personal data beyond name and session
        assert forged.status_code == 404 and other.status_code == 404
        assert vaep.status_code == 200 and "Certificat VAEP authentique" in vaep.text
